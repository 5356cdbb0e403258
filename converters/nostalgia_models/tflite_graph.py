"""Read a TFLite flatbuffer into a small, framework-free description of its graph.

MediaPipe ships its weights as fp16 constants that a DEQUANTIZE op widens to fp32 at run
time. We fold those ops away here, so the graph the PyTorch rebuild sees holds only the
layers that compute something, with fp32 numpy weights exactly as TFLite would use them.
Only the handful of operators the face models use are understood; anything else fails
loudly rather than being silently skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import tflite
from tflite.BuiltinOperator import BuiltinOperator

__all__ = ["Graph", "Layer", "TFLiteGraphError", "read_graph"]

_OP_NAMES = {value: name for name, value in vars(BuiltinOperator).items() if not name.startswith("_")}
_NUMPY_TYPES: dict[int, type[np.generic]] = {0: np.float32, 1: np.float16, 2: np.int32, 4: np.int64}
_ACTIVATIONS = {0: "NONE", 1: "RELU", 3: "RELU6"}
_SUPPORTED = {
    "CONV_2D",
    "DEPTHWISE_CONV_2D",
    "RELU",
    "PRELU",
    "ADD",
    "PAD",
    "MAX_POOL_2D",
    "RESHAPE",
    "CONCATENATION",
}


class TFLiteGraphError(ValueError):
    """The flatbuffer uses something this reader does not translate."""


@dataclass
class Layer:
    """One computing operator: which values it reads, what it produces and its constants."""

    kind: str
    inputs: list[int]  # indices of activation tensors (not constants)
    output: int
    output_shape: tuple[int, ...]  # NHWC as stored in the file (batch 1)
    input_shapes: list[tuple[int, ...]]
    constants: list[npt.NDArray[Any]] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Graph:
    """A single-subgraph model: its activation inputs, layers in execution order, outputs."""

    inputs: list[int]
    input_shapes: list[tuple[int, ...]]
    layers: list[Layer]
    outputs: list[int]
    output_names: list[str]


def read_graph(data: bytes) -> Graph:
    """Parse ``data`` (a .tflite file) and fold its DEQUANTIZE constants."""
    model = tflite.Model.GetRootAsModel(data, 0)
    if model.SubgraphsLength() != 1:
        raise TFLiteGraphError(f"expected one subgraph, found {model.SubgraphsLength()}")
    graph = model.Subgraphs(0)

    def shape(index: int) -> tuple[int, ...]:
        tensor = graph.Tensors(index)
        return tuple(int(d) for d in tensor.ShapeAsNumpy()) if tensor.ShapeLength() else ()

    constants: dict[int, npt.NDArray[Any]] = {}
    for index in range(graph.TensorsLength()):
        tensor = graph.Tensors(index)
        buffer = model.Buffers(tensor.Buffer())
        if buffer is None or buffer.DataLength() == 0:
            continue
        dtype = _NUMPY_TYPES.get(tensor.Type())
        if dtype is None:
            raise TFLiteGraphError(f"tensor {tensor.Name()!r} has unsupported type {tensor.Type()}")
        raw = buffer.DataAsNumpy().tobytes()
        constants[index] = np.frombuffer(raw, dtype=dtype).reshape(shape(index)).copy()

    layers: list[Layer] = []
    for op_index in range(graph.OperatorsLength()):
        op = graph.Operators(op_index)
        code = model.OperatorCodes(op.OpcodeIndex())
        name = _OP_NAMES.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()), "CUSTOM")
        ins = [int(i) for i in op.InputsAsNumpy() if i >= 0]
        out = int(op.OutputsAsNumpy()[0])
        if name == "DEQUANTIZE":
            if ins[0] not in constants:
                raise TFLiteGraphError(f"operator {op_index}: DEQUANTIZE of a non-constant tensor")
            constants[out] = constants[ins[0]].astype(np.float32)
            continue
        if name not in _SUPPORTED:
            raise TFLiteGraphError(f"operator {op_index}: {name} is not supported")
        layers.append(
            Layer(
                kind=name,
                inputs=[i for i in ins if i not in constants],
                output=out,
                output_shape=shape(out),
                input_shapes=[shape(i) for i in ins if i not in constants],
                constants=[constants[i] for i in ins if i in constants],
                options=_options(name, op),
            )
        )
    return Graph(
        inputs=[int(i) for i in graph.InputsAsNumpy()],
        input_shapes=[shape(int(i)) for i in graph.InputsAsNumpy()],
        layers=layers,
        outputs=[int(i) for i in graph.OutputsAsNumpy()],
        output_names=[graph.Tensors(int(i)).Name().decode() for i in graph.OutputsAsNumpy()],
    )


def _options(kind: str, op: Any) -> dict[str, Any]:
    """The operator options that change the arithmetic, as plain Python values."""
    table = op.BuiltinOptions()
    if table is None:
        return {"activation": "NONE"} if kind in ("ADD", "CONCATENATION") else {}
    if kind in ("CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D"):
        opts: Any = {
            "CONV_2D": tflite.Conv2DOptions,
            "DEPTHWISE_CONV_2D": tflite.DepthwiseConv2DOptions,
            "MAX_POOL_2D": tflite.Pool2DOptions,
        }[kind]()
        opts.Init(table.Bytes, table.Pos)
        found: dict[str, Any] = {
            "same": opts.Padding() == 0,
            "stride": (opts.StrideH(), opts.StrideW()),
            "activation": _activation(opts.FusedActivationFunction()),
        }
        if kind == "MAX_POOL_2D":
            found["kernel"] = (opts.FilterHeight(), opts.FilterWidth())
        elif (opts.DilationHFactor(), opts.DilationWFactor()) != (1, 1):
            raise TFLiteGraphError(f"{kind}: dilated convolutions are not supported")
        return found
    if kind in ("ADD", "CONCATENATION"):
        opts = tflite.AddOptions() if kind == "ADD" else tflite.ConcatenationOptions()
        opts.Init(table.Bytes, table.Pos)
        found = {"activation": _activation(opts.FusedActivationFunction())}
        if kind == "CONCATENATION":
            found["axis"] = opts.Axis()
        return found
    return {}


def _activation(code: int) -> str:
    if code not in _ACTIVATIONS:
        raise TFLiteGraphError(f"fused activation {code} is not supported")
    return _ACTIVATIONS[code]
