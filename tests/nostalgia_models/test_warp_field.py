"""The motion model's warp field: the spline keeps affine motion exact and passes through its points,
the inversion undoes the forward field, and the upsampling is bilinear with half-pixel centres."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from nostalgia_models import warp_field

_GEN = torch.Generator().manual_seed(3)


def _points(count: int, spread: float = 200.0) -> torch.Tensor:
    return torch.rand(count, 2, generator=_GEN) * spread


def test_an_affine_motion_is_carried_exactly_to_every_node_whatever_the_smoothing() -> None:
    sources = _points(40)
    nodes = _points(300, spread=260.0) - 30.0
    shift = torch.tensor([[3.0, -2.0], [0.0, 0.0], [-1.5, 4.0]])
    linear = torch.tensor(
        [[[0.02, -0.03], [0.01, 0.04]], [[0.0, 0.0], [0.0, 0.0]], [[-0.05, 0.0], [0.02, 0.01]]]
    )
    centre = sources.mean(0)
    deltas = torch.stack([(sources - centre) @ m.t() + s for m, s in zip(linear, shift, strict=True)])
    expected = torch.stack([(nodes - centre) @ m.t() + s for m, s in zip(linear, shift, strict=True)])
    for reg in (1e-2, 1.0):
        field = warp_field.spline_field(sources, deltas, nodes, 150.0, reg)
        assert field.shape == (3, 300, 2)
        assert torch.allclose(field, expected, atol=1e-4), float((field - expected).abs().max())


def test_with_little_smoothing_the_spline_passes_through_its_points() -> None:
    sources = _points(30)
    deltas = torch.randn(2, 30, 2, generator=_GEN) * 3.0
    field = warp_field.spline_field(sources, deltas, sources, 150.0, 1e-7)
    assert torch.allclose(field, deltas, atol=1e-2), float((field - deltas).abs().max())
    # The motion model's own smoothing trades that exactness for a gentler field.
    smoothed = warp_field.spline_field(sources, deltas, sources, 150.0, 1e-2)
    assert float((smoothed - deltas).abs().max()) > 0.05


def _grid(gh: int, gw: int) -> torch.Tensor:
    ys, xs = torch.meshgrid(
        torch.arange(gh, dtype=torch.float32), torch.arange(gw, dtype=torch.float32), indexing="ij"
    )
    return torch.stack([xs, ys])  # [2, gh, gw], node units


def test_the_inverted_field_leads_back_to_the_photo_point_the_forward_field_moved() -> None:
    gh, gw = 24, 32
    nodes = _grid(gh, gw)
    # A smooth forward displacement of up to 1.5 nodes, as a turning head gives.
    forward = torch.stack(
        [1.5 * torch.sin(nodes[1] / 7.0) * torch.cos(nodes[0] / 9.0), -1.2 * torch.sin(nodes[0] / 8.0 + 0.3)]
    ).unsqueeze(0)
    back = warp_field.invert(forward, 8)
    # Where each output node came from, and where the forward field carries that point.
    came_from = nodes.unsqueeze(0) + back
    unit = torch.tensor([2.0 / gw, 2.0 / gh]).view(1, 2, 1, 1)
    at = (came_from + 0.5) * unit - 1.0
    carried = came_from + F.grid_sample(
        forward, at.permute(0, 2, 3, 1), mode="bilinear", padding_mode="border", align_corners=False
    )
    inner = (slice(None), slice(None), slice(3, -3), slice(3, -3))
    error = (carried - nodes.unsqueeze(0))[inner].abs().max()
    assert float(error) < 1e-3, float(error)
    assert float(back[inner].abs().max()) > 1.0  # the field really moved things


def test_the_upsampled_grid_is_bilinear_with_half_pixel_centres_plus_each_pixel_s_own_place() -> None:
    n, gh, gw, height, width = 2, 5, 7, 37, 52
    field = torch.randn(n, 2, gh, gw, generator=_GEN)
    px = torch.linspace(-1.0, 1.0, width)
    py = torch.linspace(-0.5, 0.7, height)
    grid = warp_field.upsample(field, height, width, px, py)
    expected = F.interpolate(field, size=(height, width), mode="bilinear", align_corners=False)
    expected = expected.permute(0, 2, 3, 1) + torch.stack(
        [px.view(1, -1).expand(height, -1), py.view(-1, 1).expand(-1, width)], -1
    )
    assert grid.shape == (n, height, width, 2)
    assert torch.allclose(grid, expected, atol=1e-5), float((grid - expected).abs().max())
