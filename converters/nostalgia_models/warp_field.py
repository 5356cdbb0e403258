"""The motion model's smooth warp: a thin-plate spline solved on a coarse grid of nodes, inverted
there and upsampled to the full-resolution sampling grid.

The spline carries the photo's control points to where a frame moves them, so it is a forward map;
a frame is rendered by sampling, which needs the backward one. Both live on a grid of at most
48×48 nodes over the head's region, so solving and inverting stay cheap at any frame size, and
only the final upsampling touches every pixel.
"""

import torch
import torch.nn.functional as F

__all__ = ["invert", "spline_field", "upsample"]


def _kernel(d2: torch.Tensor) -> torch.Tensor:
    """The thin-plate kernel r^2 log r^2, from squared distances (zero at zero)."""
    out: torch.Tensor = d2 * torch.log(d2.clamp(min=1e-12))
    return out


def spline_field(
    sources: torch.Tensor, deltas: torch.Tensor, nodes: torch.Tensor, scale: float, reg: float
) -> torch.Tensor:
    """Forward displacement at ``nodes`` [G, 2] of the spline through ``sources`` [M, 2] moved by
    ``deltas`` [N, M, 2]; returns [N, G, 2] pixels.

    The spline is centred on the photo's control points, the same for every frame, so one
    thin-plate system serves the whole clip: one solve with two right-hand sides per frame,
    then one matrix product for every frame's field on the nodes. No per-frame solve.
    """
    m, n = sources.shape[0], deltas.shape[0]
    origin = sources.mean(0)
    sp = ((sources - origin) / scale).to(torch.float64)
    gp = ((nodes - origin) / scale).to(torch.float64)
    d2 = (sp.unsqueeze(1) - sp.unsqueeze(0)).pow(2).sum(-1)
    k = _kernel(d2) + reg * torch.eye(m, dtype=torch.float64, device=sp.device)
    p = torch.cat([torch.ones(m, 1, dtype=torch.float64, device=sp.device), sp], 1)
    a = torch.zeros(m + 3, m + 3, dtype=torch.float64, device=sp.device)
    a[:m, :m] = k
    a[:m, m:] = p
    a[m:, :m] = p.t()
    rhs = torch.zeros(m + 3, n * 2, dtype=torch.float64, device=sp.device)
    rhs[:m] = (deltas / scale).permute(1, 0, 2).reshape(m, n * 2).to(torch.float64)
    weights = torch.linalg.solve(a, rhs).to(torch.float32)  # [M + 3, N * 2]
    g = gp.to(torch.float32)
    sf = sp.to(torch.float32)
    g2 = ((g * g).sum(1).unsqueeze(1) + (sf * sf).sum(1).unsqueeze(0) - 2.0 * (g @ sf.t())).clamp(min=0.0)
    b = torch.cat([_kernel(g2), torch.ones_like(g[:, :1]), g], 1)  # [G, M + 3]
    field: torch.Tensor = (b @ weights).view(-1, n, 2).permute(1, 0, 2) * scale
    return field


def upsample(
    field: torch.Tensor, height: int, width: int, px: torch.Tensor, py: torch.Tensor
) -> torch.Tensor:
    """Sampling grid [N, height, width, 2]: the coarse displacement [N, 2, gh, gw] upsampled
    bilinearly (align_corners=False) and added to the pixels' own positions ``px`` [width],
    ``py`` [height].

    Two plain matrix products and nothing else touch the full-resolution grid: one along y on
    the coarse columns, then one along x whose weights interleave the two channels and carry
    two extra rows that add the base positions. That writes the grid once, already in the
    layout the sampler reads, instead of upsampling, interleaving and adding in three passes.
    """
    n, gh, gw = field.shape[0], field.shape[2], field.shape[3]
    dev = field.device
    ry = _interp_matrix(height, gh, dev)  # [height, gh]
    rx = _interp_matrix(width, gw, dev)  # [width, gw]
    cols = field.permute(2, 0, 3, 1).reshape(gh, n * gw * 2)
    rows = torch.mm(ry, cols).view(height, n, gw * 2).permute(1, 0, 2)
    extra = torch.stack([torch.ones_like(py), py], 1).unsqueeze(0).expand(n, -1, -1)
    rows = torch.cat([rows, extra], 2).reshape(n * height, gw * 2 + 2)
    weights = torch.zeros(gw * 2 + 2, width, 2, dtype=torch.float32, device=dev)
    weights[0 : gw * 2 : 2, :, 0] = rx.t()
    weights[1 : gw * 2 : 2, :, 1] = rx.t()
    weights[gw * 2, :, 0] = px
    weights[gw * 2 + 1, :, 1] = 1.0
    return torch.mm(rows, weights.view(gw * 2 + 2, width * 2)).view(n, height, width, 2)


def _interp_matrix(size: int, coarse: int, device: torch.device) -> torch.Tensor:
    """Bilinear weights [size, coarse] from coarse samples to fine ones, half-pixel centred."""
    pos = ((torch.arange(size, dtype=torch.float32, device=device) + 0.5) * (coarse / size) - 0.5).clamp(
        0.0, float(coarse - 1)
    )
    lo = pos.floor().clamp(max=float(max(coarse - 2, 0)))
    frac = pos - lo
    hi = (lo + 1).clamp(max=float(coarse - 1))
    weights = torch.zeros(size, coarse, dtype=torch.float32, device=device)
    idx = torch.arange(size, device=device)
    weights[idx, lo.long()] += 1.0 - frac
    weights[idx, hi.long()] += frac
    return weights


def invert(forward: torch.Tensor, iterations: int) -> torch.Tensor:
    """Backward displacement on the node grid from the forward one, [N, 2, gh, gw] in node units.

    Fixed-point iteration q <- p - D(q): the output node p came from the photo point q that the
    forward field D carries onto p. D is smooth and gentle here (the eyelid fold is handled
    separately), so a few iterations converge to well under a pixel.
    """
    gh, gw = forward.shape[2], forward.shape[3]
    dev = forward.device
    # Node (i, j) in grid_sample's normalised coordinates of the node grid itself.
    xs = (torch.arange(gw, dtype=torch.float32, device=dev) + 0.5) * (2.0 / gw) - 1.0
    ys = (torch.arange(gh, dtype=torch.float32, device=dev) + 0.5) * (2.0 / gh) - 1.0
    base = torch.stack([xs.view(1, -1).expand(gh, -1), ys.view(-1, 1).expand(-1, gw)], -1).unsqueeze(0)
    unit = torch.tensor([2.0 / gw, 2.0 / gh], dtype=torch.float32, device=dev)
    back = -forward
    for _ in range(iterations):
        q = base + back.permute(0, 2, 3, 1) * unit
        back = -F.grid_sample(forward, q, mode="bilinear", padding_mode="border", align_corners=False)
    return back
