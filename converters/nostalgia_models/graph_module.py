"""Rebuild a parsed TFLite graph as a scriptable PyTorch module.

Activations run NCHW (PyTorch's native layout) while the file describes NHWC, so every
layout-sensitive operator (padding, reshape, concatenation axis) is translated here once.
TFLite's "SAME" padding is asymmetric for even inputs with stride 2 (the extra pixel goes
bottom/right), which ``torch.nn.Conv2d(padding=...)`` cannot express, so the exact pads are
applied explicitly before each convolution and pooling.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .tflite_graph import Graph, Layer, TFLiteGraphError

__all__ = ["GraphNet", "build_graph_net"]


def _same_pads(size: int, kernel: int, stride: int) -> tuple[int, int]:
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _activate(x: torch.Tensor, activation: str) -> torch.Tensor:
    if activation == "RELU":
        return F.relu(x)
    if activation == "RELU6":
        return F.relu6(x)
    return x


def _activate_(x: torch.Tensor, activation: str) -> torch.Tensor:
    """In place, for tensors the caller has just created and nobody else holds."""
    if activation == "RELU":
        return F.relu_(x)
    if activation == "RELU6":
        return x.clamp_(0.0, 6.0)
    return x


class _Conv(nn.Module):
    def __init__(self, layer: Layer, source: int, depthwise: bool) -> None:
        super().__init__()
        weight, bias = layer.constants
        if depthwise:  # [1, kh, kw, C] -> [C, 1, kh, kw]
            tensor = np.transpose(weight, (3, 0, 1, 2))
            self.groups = int(weight.shape[3])
        else:  # [O, kh, kw, I] -> [O, I, kh, kw]
            tensor = np.transpose(weight, (0, 3, 1, 2))
            self.groups = 1
        self.weight = nn.Parameter(torch.from_numpy(np.ascontiguousarray(tensor)), requires_grad=False)
        self.bias = nn.Parameter(torch.from_numpy(bias.copy()), requires_grad=False)
        self.stride = list(layer.options["stride"])
        _, h, w, _ = layer.input_shapes[0]
        kh, kw = int(weight.shape[1]), int(weight.shape[2])
        top, bottom = _same_pads(h, kh, self.stride[0]) if layer.options["same"] else (0, 0)
        left, right = _same_pads(w, kw, self.stride[1]) if layer.options["same"] else (0, 0)
        # Symmetric padding is left to the convolution itself (no copy of the input).
        self.symmetric = left == right and top == bottom
        self.padding = [top, left] if self.symmetric else [0, 0]
        self.pads = [0, 0, 0, 0] if self.symmetric else [left, right, top, bottom]
        self.source = source
        self.activation: str = layer.options["activation"]

    def forward(self, values: list[torch.Tensor]) -> torch.Tensor:
        x = values[self.source]
        if not self.symmetric:
            x = F.pad(x, self.pads)
        y = F.conv2d(x, self.weight, self.bias, self.stride, self.padding, 1, self.groups)
        return _activate_(y, self.activation)


class _MaxPool(nn.Module):
    def __init__(self, layer: Layer, source: int) -> None:
        super().__init__()
        _, h, w, _ = layer.input_shapes[0]
        kh, kw = layer.options["kernel"]
        sh, sw = layer.options["stride"]
        top, bottom = _same_pads(h, kh, sh) if layer.options["same"] else (0, 0)
        left, right = _same_pads(w, kw, sw) if layer.options["same"] else (0, 0)
        self.pads = [left, right, top, bottom]
        self.kernel = [kh, kw]
        self.stride = [sh, sw]
        self.source = source
        self.activation: str = layer.options["activation"]

    def forward(self, values: list[torch.Tensor]) -> torch.Tensor:
        x = values[self.source]
        if self.pads != [0, 0, 0, 0]:
            x = F.pad(x, self.pads, value=-math.inf)
        return _activate_(F.max_pool2d(x, self.kernel, self.stride), self.activation)


class _Relu(nn.Module):
    def __init__(self, source: int) -> None:
        super().__init__()
        self.source = source

    def forward(self, values: list[torch.Tensor]) -> torch.Tensor:
        return F.relu(values[self.source])


class _PRelu(nn.Module):
    def __init__(self, layer: Layer, source: int) -> None:
        super().__init__()
        alpha = layer.constants[0].reshape(1, -1, 1, 1)
        self.alpha = nn.Parameter(torch.from_numpy(np.ascontiguousarray(alpha)), requires_grad=False)
        self.source = source

    def forward(self, values: list[torch.Tensor]) -> torch.Tensor:
        x = values[self.source]
        return torch.clamp(x, min=0.0) + self.alpha * torch.clamp(x, max=0.0)


class _Add(nn.Module):
    def __init__(self, layer: Layer, first: int, second: int) -> None:
        super().__init__()
        self.first = first
        self.second = second
        self.activation: str = layer.options["activation"]

    def forward(self, values: list[torch.Tensor]) -> torch.Tensor:
        return _activate_(values[self.first] + values[self.second], self.activation)


class _PaddedAdd(nn.Module):
    """``pad_channels(x) + y`` without materialising the padded ``x``: add ``x`` into ``y``'s first channels.

    Only used when ``y`` is a fresh convolution output read by nothing else, so updating it in
    place is safe.
    """

    def __init__(self, layer: Layer, narrow: int, wide: int) -> None:
        super().__init__()
        self.narrow = narrow
        self.wide = wide
        self.activation: str = layer.options["activation"]

    def forward(self, values: list[torch.Tensor]) -> torch.Tensor:
        x = values[self.narrow]
        y = values[self.wide]
        y[:, : x.shape[1]].add_(x)
        return _activate_(y, self.activation)


class _Pad(nn.Module):
    def __init__(self, layer: Layer, source: int) -> None:
        super().__init__()
        (pn, pn2), (ph, ph2), (pw, pw2), (pc, pc2) = layer.constants[0].tolist()
        if pn or pn2:
            raise TFLiteGraphError("PAD over the batch dimension is not supported")
        self.pads = [pw, pw2, ph, ph2, pc, pc2]  # F.pad order for NCHW: W, H, C
        self.source = source

    def forward(self, values: list[torch.Tensor]) -> torch.Tensor:
        return F.pad(values[self.source], self.pads)


class _Reshape(nn.Module):
    """Reshape in NHWC element order, whatever layout the input is held in."""

    def __init__(self, layer: Layer, source: int, from_image: bool) -> None:
        super().__init__()
        self.shape = [int(d) for d in layer.output_shape[1:]]
        self.from_image = from_image
        self.source = source

    def forward(self, values: list[torch.Tensor]) -> torch.Tensor:
        x = values[self.source]
        if self.from_image:
            x = x.permute(0, 2, 3, 1)
        return x.reshape([x.shape[0]] + self.shape)  # noqa: RUF005  (TorchScript has no list unpacking)


class _Concat(nn.Module):
    def __init__(self, layer: Layer, sources: list[int], image: bool) -> None:
        super().__init__()
        axis = int(layer.options["axis"]) % len(layer.output_shape)
        self.axis = [0, 2, 3, 1][axis] if image else axis
        self.sources = sources
        self.activation: str = layer.options["activation"]

    def forward(self, values: list[torch.Tensor]) -> torch.Tensor:
        return _activate(torch.cat([values[i] for i in self.sources], self.axis), self.activation)


class GraphNet(nn.Module):
    """``forward(x NHWC float) -> outputs`` (4-D outputs returned NHWC, as TFLite gives them)."""

    def __init__(self, layers: list[nn.Module], outputs: list[int], output_is_image: list[bool]) -> None:
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.outputs = outputs
        self.output_is_image = output_is_image

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        values: list[torch.Tensor] = [x.permute(0, 3, 1, 2)]
        for layer in self.layers:
            values.append(layer(values))
        result: list[torch.Tensor] = []
        for index, image in zip(self.outputs, self.output_is_image, strict=True):
            y = values[index]
            result.append(y.permute(0, 2, 3, 1) if image else y)
        return result


def _fuse_relus(graph: Graph) -> list[Layer]:
    """Fold each RELU into the convolution or addition feeding it when nothing else reads that result.

    Saves a full pass over the activation per block, which is a large share of the run time of
    these small networks on a CPU.
    """
    readers: dict[int, int] = {}
    for layer in graph.layers:
        for i in layer.inputs:
            readers[i] = readers.get(i, 0) + 1
    for i in graph.outputs:
        readers[i] = readers.get(i, 0) + 1
    producers = {layer.output: layer for layer in graph.layers}
    renamed: dict[int, int] = {}
    layers: list[Layer] = []
    for layer in graph.layers:
        layer.inputs = [renamed.get(i, i) for i in layer.inputs]
        source = producers.get(layer.inputs[0])
        if (
            layer.kind == "RELU"
            and source is not None
            and source.kind in ("CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "PADDED_ADD")
            and source.options.get("activation") == "NONE"
            and readers.get(layer.inputs[0]) == 1
        ):
            source.options["activation"] = "RELU"
            renamed[layer.output] = source.output
            continue
        layers.append(layer)
    graph.outputs = [renamed.get(i, i) for i in graph.outputs]
    return layers


def _fuse_channel_pads(graph: Graph) -> list[Layer]:
    """Turn ``ADD(PAD_channels(x), conv)`` into one in-place padded add when both are read once."""
    readers: dict[int, int] = {}
    for layer in graph.layers:
        for i in layer.inputs:
            readers[i] = readers.get(i, 0) + 1
    for i in graph.outputs:
        readers[i] = readers.get(i, 0) + 1
    producers = {layer.output: layer for layer in graph.layers}
    dropped: set[int] = set()
    for layer in graph.layers:
        if layer.kind != "ADD" or len(layer.inputs) != 2:
            continue
        first, second = (producers.get(i) for i in layer.inputs)
        for pad, conv in ((first, second), (second, first)):
            if (
                pad is not None
                and conv is not None
                and pad.kind == "PAD"
                and conv.kind in ("CONV_2D", "DEPTHWISE_CONV_2D")
                and conv.options.get("activation") == "NONE"
                and readers.get(pad.output) == 1
                and readers.get(conv.output) == 1
                and len(pad.input_shapes[0]) == 4
                and pad.constants[0][:3].tolist() == [[0, 0], [0, 0], [0, 0]]
                and int(pad.constants[0][3][0]) == 0
            ):
                layer.kind = "PADDED_ADD"
                layer.inputs = [pad.inputs[0], conv.output]
                dropped.add(id(pad))
                break
    return [layer for layer in graph.layers if id(layer) not in dropped]


def build_graph_net(graph: Graph) -> GraphNet:
    """Translate every layer of ``graph`` (single input) into a module of a :class:`GraphNet`."""
    if len(graph.inputs) != 1:
        raise TFLiteGraphError(f"expected one input, found {len(graph.inputs)}")
    graph.layers = _fuse_channel_pads(graph)
    graph.layers = _fuse_relus(graph)
    position = {graph.inputs[0]: 0}
    rank = {graph.inputs[0]: len(graph.input_shapes[0])}
    modules: list[nn.Module] = []
    for layer in graph.layers:
        src = [position[i] for i in layer.inputs]
        image = rank[layer.inputs[0]] == 4
        module: nn.Module
        if layer.kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            module = _Conv(layer, src[0], layer.kind == "DEPTHWISE_CONV_2D")
        elif layer.kind == "MAX_POOL_2D":
            module = _MaxPool(layer, src[0])
        elif layer.kind == "RELU":
            module = _Relu(src[0])
        elif layer.kind == "PRELU":
            module = _PRelu(layer, src[0])
        elif layer.kind == "ADD":
            if len(src) != 2:
                raise TFLiteGraphError("ADD with a constant operand is not supported")
            module = _Add(layer, src[0], src[1])
        elif layer.kind == "PADDED_ADD":
            module = _PaddedAdd(layer, src[0], src[1])
        elif layer.kind == "PAD":
            module = _Pad(layer, src[0])
        elif layer.kind == "RESHAPE":
            module = _Reshape(layer, src[0], image)
        else:
            module = _Concat(layer, src, image)
        modules.append(module)
        position[layer.output] = len(position)
        rank[layer.output] = len(layer.output_shape)
    outputs = [position[i] for i in graph.outputs]
    return GraphNet(modules, outputs, [rank[i] == 4 for i in graph.outputs]).eval()
