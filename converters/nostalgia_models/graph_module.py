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
        self.pads = [left, right, top, bottom]
        self.source = source
        self.activation: str = layer.options["activation"]

    def forward(self, values: list[torch.Tensor]) -> torch.Tensor:
        x = F.pad(values[self.source], self.pads)
        y = F.conv2d(x, self.weight, self.bias, self.stride, 0, 1, self.groups)
        return _activate(y, self.activation)


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
        x = F.pad(values[self.source], self.pads, value=-math.inf)
        return _activate(F.max_pool2d(x, self.kernel, self.stride), self.activation)


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
        return _activate(values[self.first] + values[self.second], self.activation)


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


def build_graph_net(graph: Graph) -> GraphNet:
    """Translate every layer of ``graph`` (single input) into a module of a :class:`GraphNet`."""
    if len(graph.inputs) != 1:
        raise TFLiteGraphError(f"expected one input, found {len(graph.inputs)}")
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
