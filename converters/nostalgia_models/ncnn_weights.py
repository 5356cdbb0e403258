"""Read ncnn ``.param`` / ``.bin`` pairs into numpy arrays, keyed by layer name.

We only need the weights, not ncnn's runtime: the architectures are rebuilt in PyTorch and
the graph in ``.param`` is used to check that our rebuild matches it layer for layer.

``.bin`` is a flat concatenation, in layer order, of each weight-bearing layer's blobs.
For ``Convolution`` the kernel is preceded by a 4-byte storage tag (fp16, fp32 or a
quantised form) and stored ``[out][in][kh][kw]``; the bias follows as raw fp32 with no
tag. ``PReLU`` slopes are raw fp32. Reading must consume the file exactly, which is the
strongest check that our reading of the layer list is right.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

__all__ = ["NcnnFormatError", "NcnnLayer", "NcnnModel", "parse_param", "read_model"]

_PARAM_MAGIC = 7767517
_TAG_FP16 = 0x01306B47
_TAG_FP32 = 0x00000000
_TAG_INT8 = 0x000D4B38
_ARRAY_KEY_BASE = -23300

# Layers whose weights our models use; anything else carrying weights is rejected loudly
# rather than skipped, because skipping would misalign every later layer's bytes.
_WEIGHTLESS = frozenset(
    {"Input", "Split", "Concat", "Eltwise", "BinaryOp", "Interp", "PixelShuffle", "ReLU", "Sigmoid"}
)

Array = npt.NDArray[np.float32]


class NcnnFormatError(ValueError):
    """The files are not the ncnn layout we understand (or do not agree with each other)."""


@dataclass(frozen=True)
class NcnnLayer:
    """One line of a ``.param`` file."""

    type: str
    name: str
    bottoms: tuple[str, ...]
    tops: tuple[str, ...]
    # key -> raw value text; array parameters (key <= -23300) are stored under their plain key
    params: dict[int, str] = field(default_factory=dict)
    arrays: dict[int, tuple[str, ...]] = field(default_factory=dict)

    def int_param(self, key: int, default: int) -> int:
        return int(self.params[key]) if key in self.params else default

    def float_array(self, key: int) -> tuple[float, ...]:
        return tuple(float(v) for v in self.arrays.get(key, ()))


@dataclass
class NcnnModel:
    """The parsed graph plus, per weight-bearing layer, its named arrays."""

    layers: list[NcnnLayer]
    weights: dict[str, dict[str, Array]]

    def of_type(self, layer_type: str) -> list[NcnnLayer]:
        return [layer for layer in self.layers if layer.type == layer_type]


def parse_param(text: str) -> list[NcnnLayer]:
    """Parse the plain-text ``.param`` format (magic, counts, then one layer per line)."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or lines[0].strip() != str(_PARAM_MAGIC):
        raise NcnnFormatError(f"not an ncnn .param file: first line {lines[:1]!r}, expected {_PARAM_MAGIC}")
    layer_count, _blob_count = (int(v) for v in lines[1].split())
    layers = [_parse_layer(line, number) for number, line in enumerate(lines[2:], start=3)]
    if len(layers) != layer_count:
        raise NcnnFormatError(f".param declares {layer_count} layers but lists {len(layers)}")
    return layers


def _parse_layer(line: str, number: int) -> NcnnLayer:
    tokens = line.split()
    try:
        layer_type, name, n_bottom, n_top = tokens[0], tokens[1], int(tokens[2]), int(tokens[3])
    except (IndexError, ValueError) as exc:
        raise NcnnFormatError(f".param line {number}: cannot read layer header from {line!r}") from exc
    rest = tokens[4:]
    bottoms, tops = tuple(rest[:n_bottom]), tuple(rest[n_bottom : n_bottom + n_top])
    params: dict[int, str] = {}
    arrays: dict[int, tuple[str, ...]] = {}
    for item in rest[n_bottom + n_top :]:
        key_text, sep, value = item.partition("=")
        if not sep:
            raise NcnnFormatError(f".param line {number}: parameter {item!r} is not key=value")
        key = int(key_text)
        if key <= _ARRAY_KEY_BASE:
            count, *values = value.split(",")
            if int(count) != len(values):
                raise NcnnFormatError(f".param line {number}: array {item!r} has a wrong length")
            arrays[_ARRAY_KEY_BASE - key] = tuple(values)
        else:
            params[key] = value
    return NcnnLayer(layer_type, name, bottoms, tops, params, arrays)


class _Reader:
    """Sequential reader over the ``.bin`` bytes that knows ncnn's 4-byte alignment."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, size: int, what: str) -> bytes:
        end = self.pos + size
        if end > len(self.data):
            raise NcnnFormatError(f"{what}: needs bytes {self.pos}..{end} but .bin has {len(self.data)}")
        chunk = self.data[self.pos : end]
        self.pos = end + (-size % 4)
        return chunk

    def raw_fp32(self, count: int, what: str) -> Array:
        return np.frombuffer(self.take(4 * count, what), dtype="<f4").astype(np.float32)

    def tagged(self, count: int, what: str) -> Array:
        (tag,) = struct.unpack("<I", self.take(4, f"{what} tag"))
        if tag == _TAG_FP16:
            return np.frombuffer(self.take(2 * count, what), dtype="<f2").astype(np.float32)
        if tag == _TAG_FP32:
            return self.raw_fp32(count, what)
        kind = "int8" if tag == _TAG_INT8 else f"unknown (0x{tag:08X})"
        raise NcnnFormatError(f"{what}: {kind} weight storage is not supported")


def read_model(param_text: str, bin_data: bytes) -> NcnnModel:
    """Parse ``.param`` and read every weight out of ``.bin``, checking the byte count exactly."""
    layers = parse_param(param_text)
    reader = _Reader(bin_data)
    weights: dict[str, dict[str, Array]] = {}
    for layer in layers:
        where = f"{layer.type} {layer.name}"
        if layer.type == "Convolution":
            weights[layer.name] = _read_convolution(layer, reader, where)
        elif layer.type == "PReLU":
            weights[layer.name] = {"slope": reader.raw_fp32(layer.int_param(0, 1), f"{where} slope")}
        elif layer.type not in _WEIGHTLESS:
            raise NcnnFormatError(f"{where}: layer type is not supported by this reader")
    if reader.pos != len(bin_data):
        raise NcnnFormatError(
            f".bin has {len(bin_data)} bytes but the layers in .param account for {reader.pos}"
        )
    return NcnnModel(layers, weights)


def _read_convolution(layer: NcnnLayer, reader: _Reader, where: str) -> dict[str, Array]:
    out_ch = layer.int_param(0, 0)
    kw = layer.int_param(1, 0)
    kh = layer.int_param(11, kw)
    size = layer.int_param(6, 0)
    if out_ch <= 0 or kw <= 0 or size % (out_ch * kh * kw):
        raise NcnnFormatError(f"{where}: weight size {size} does not fit {out_ch}x?x{kh}x{kw}")
    in_ch = size // (out_ch * kh * kw)
    arrays = {"weight": reader.tagged(size, f"{where} weight").reshape(out_ch, in_ch, kh, kw)}
    if layer.int_param(5, 0):
        arrays["bias"] = reader.raw_fp32(out_ch, f"{where} bias")
    return arrays
