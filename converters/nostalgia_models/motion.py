"""The ``motion`` model: brings a portrait to life from its face mesh and per-frame controls.

A procedural, landmark-driven warp with no learned weights:

1. Target landmarks per frame: the photo's 3-D face mesh is turned about a pivot behind the face
   (yaw, pitch, roll, lean) and projected, with expression offsets on landmark groups (mouth
   corners and cheeks for a closed-mouth smile, brows for a raise).
2. A thin-plate spline per frame maps every output point back to the photo, from ~150 mesh control
   points plus anchors: a halo around the head that follows it part way (hair) and a ring and the
   image border that stay put (background, shoulders). It is solved per frame, evaluated on a
   coarse grid over the head's region only and upsampled; outside that region the frame is the
   photo itself, so the background cannot move.
3. Eyelids are a separate analytic warp in photo space on the full-resolution grid, because a
   blink folds the image (the eye's height goes to zero) and no smooth spline on a coarse grid can
   do that: each lid line moves towards a closing line, the skin above is stretched down over the
   eye and the eye itself is squeezed to nothing, so a closed eye shows skin and lashes, never a
   torn or smeared eye. The unfolded lid takes the colour of the skin around the eye, between the
   cheek under it and the top of the lid (the stretched band above the lashes is often crease
   shadow, and a dark patch there still looks like an open eye), shaded towards its edge; the
   lashes fold down, and a soft lash line in their colour is drawn where the lids meet. Where the
   mesh sets the upper lid line inside the opening, the line is first raised above the white the
   photo shows there, and white still left at the closing lid's edge is painted over, so a closed
   eye shows none. Gaze shifts the eye's content between the lids.
4. One ``grid_sample`` over all frames at full resolution, from the photo at twice its resolution
   (see ``_double``): bicubic where the head fills at most half the frame, bilinear where it fills
   more and bicubic would cost too much.

Nothing is invented: a smile only moves the closed lips, so teeth never appear that the photo
does not show.
"""

import math
from pathlib import Path

import torch
import torch.nn.functional as F

from . import mesh_regions as mr

__all__ = ["LandmarkWarp", "build"]

# Pivot of head rotation, behind the mean face surface and a little below the face centre (the
# neck), in face widths / face heights.
_PIVOT_DEPTH = 0.55
_PIVOT_DROP = 0.15
_DEPTH_SCALE = 0.6
# A nod folds nothing over (features are spread vertically), so it keeps more of the depth.
_PITCH_DEPTH_SCALE = 0.95
# Head halo (hair, ears) and the fixed ring, as scales of the face oval about its centre.
_HALO_SCALE = 1.3
_RING_SCALE = 2.1
# Coarse grid spacing for the spline, in pixels, and the most nodes along one side.
_GRID_STEP = 8
_GRID_MAX = 48
# Share of the lid-to-brow distance the closing lid's skin may come from (all of it, up to the
# brow's lower edge where that is nearest the lid), and at most this many eye heights.
_LID_REACH_BROW = 1.0
_LID_REACH_MAX = 1.2
# Where the closed lids meet, from the upper lid line (0) to the lower one (1).
_LID_MEET = 0.95
# The closed lid's colour, from the skin under the eye (0) to the skin at the top of the lid band (1).
_LID_TONE = 0.6
# How much darker than the skin under the eye the closed lid is at its edge, where it curves away
# from the light (none at the top of the lid).
_LID_SHADE = 0.45
# The lash fringe of a closed eye: its width, and how deep into the opening it takes its colour
# from, both in eye heights.
_LASH_FRINGE = 0.25
_LASH_SOURCE = 0.2
# How much of the stretched band's texture contrast the closed lid keeps (relative to its new
# lightness), and how far its hue moves from the band's own towards the skin's.
_LID_TEXTURE = 0.4
_LID_HUE = 0.5
# The lid lines are fitted as parabolas through the eye corners, so the modelled opening thins to
# nothing there; a real eye's inner corner is blunter, and its white showed beside a closed lid.
# Fitting between points this share of the half width beyond the corners lets the lid cover it.
_LID_CORNER = 0.12
# The relit lid fades in over this share of the band, from its top.
_LID_FADE = 0.3
# The drawn lash line of a closed eye: its strength (0 none, 1 the lashes' colour) and width, in eye
# heights.
_LASH_LINE = 0.8
_LASH_WIDTH = 0.12
# How much lighter than the cheek the eye's white is, in levels, and how far above the mesh's upper lid
# line it is looked for, in eye heights (see LandmarkWarp._lift_lid).
_LID_WHITE = 15.0
_LID_LIFT = 0.6
# What white is left at a closing lid's edge (in the lash fringe, or in the lid skin it was stretched
# from up to _FRINGE_REACH eye heights above the lid line) is painted over: samples lighter than the
# lid should be there by more than _FRINGE_PALE levels take the lid's colour (the lashes' colour in
# the fringe), in full from _FRINGE_WHITE up, at the strength _FRINGE_RELIGHT.
_FRINGE_PALE = 10.0
_FRINGE_WHITE = 40.0
_FRINGE_RELIGHT = 1.0
_FRINGE_REACH = 0.35
# Thin-plate smoothing (in face-width units): keeps the per-frame solve well conditioned.
_TPS_REG = 1e-2


# An eye in the photo (see LandmarkWarp._eye_geometry): centre, unit axes along and across it, half
# width of the lid model (a little beyond the corners, _LID_CORNER), upper and lower lid fits, opening
# height, reach of the closing lid above it, and the colour of the cheek under it.
EyeGeometry = tuple[
    torch.Tensor,
    torch.Tensor,
    torch.Tensor,
    torch.Tensor,
    torch.Tensor,
    torch.Tensor,
    torch.Tensor,
    torch.Tensor,
    torch.Tensor,
]


def _t(values: tuple[int, ...]) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.long)


class LandmarkWarp(torch.nn.Module):
    """``forward(image u8 [H,W,3], landmarks f32 [468,3], controls f32 [N,10]) -> frames u8 [N,H,W,3]``.

    Controls (columns): yaw, pitch, roll (degrees), eye openness left, right, smile, brow,
    gaze x, gaze y, lean. Landmarks are MediaPipe face-mesh points with x, y in pixels of the
    image (pixel i covers [i, i+1)) and z depth in the same scale, smaller nearer the camera.
    """

    control: torch.Tensor
    oval: torch.Tensor
    lips: torch.Tensor
    cheeks: torch.Tensor
    brows: torch.Tensor
    forehead: torch.Tensor
    eye_r_corners: torch.Tensor
    eye_r_upper: torch.Tensor
    eye_r_lower: torch.Tensor
    eye_r_brow: torch.Tensor
    eye_l_corners: torch.Tensor
    eye_l_upper: torch.Tensor
    eye_l_lower: torch.Tensor
    eye_l_brow: torch.Tensor
    luma: torch.Tensor

    def __init__(self) -> None:
        super().__init__()
        self.pivot_depth = _PIVOT_DEPTH
        self.pivot_drop = _PIVOT_DROP
        self.depth_scale = _DEPTH_SCALE
        self.pitch_depth_scale = _PITCH_DEPTH_SCALE
        self.halo_scale = _HALO_SCALE
        self.ring_scale = _RING_SCALE
        self.grid_step = _GRID_STEP
        self.grid_max = _GRID_MAX
        self.tps_reg = _TPS_REG
        self.lid_reach_brow = _LID_REACH_BROW
        self.lid_reach_max = _LID_REACH_MAX
        self.lid_meet = _LID_MEET
        self.lid_shade = _LID_SHADE
        self.lash = _LASH_FRINGE
        self.lash_src = _LASH_SOURCE
        self.lid_tone = _LID_TONE
        self.lid_texture = _LID_TEXTURE
        self.lash_line = _LASH_LINE
        self.lash_width = _LASH_WIDTH
        self.lid_fade = _LID_FADE
        self.lid_hue = _LID_HUE
        self.lid_corner = _LID_CORNER
        self.fringe_relight = _FRINGE_RELIGHT
        self.lid_white = _LID_WHITE
        self.lid_lift = _LID_LIFT
        self.fringe_pale = _FRINGE_PALE
        self.fringe_white = _FRINGE_WHITE
        self.fringe_reach = _FRINGE_REACH
        self.register_buffer("control", _t(mr.CONTROL))
        self.register_buffer("oval", _t(mr.FACE_OVAL))
        self.register_buffer("lips", _t(mr.LIPS))
        self.register_buffer("cheeks", _t(mr.CHEEKS))
        self.register_buffer("brows", _t(mr.BROWS))
        self.register_buffer("forehead", _t(mr.FOREHEAD))
        self.register_buffer("eye_r_corners", _t(mr.EYE_RIGHT.corners))
        self.register_buffer("eye_r_upper", _t(mr.EYE_RIGHT.upper))
        self.register_buffer("eye_r_lower", _t(mr.EYE_RIGHT.lower))
        self.register_buffer("eye_r_brow", _t(mr.EYE_RIGHT.brow))
        self.register_buffer("eye_l_corners", _t(mr.EYE_LEFT.corners))
        self.register_buffer("eye_l_upper", _t(mr.EYE_LEFT.upper))
        self.register_buffer("eye_l_lower", _t(mr.EYE_LEFT.lower))
        self.register_buffer("eye_l_brow", _t(mr.EYE_LEFT.brow))
        # Rec. 601 weights: a colour's lightness is ``colour @ luma``.
        self.register_buffer("luma", torch.tensor([0.299, 0.587, 0.114]))
        self.mouth_r = mr.MOUTH_RIGHT
        self.mouth_l = mr.MOUTH_LEFT

    # ---------------------------------------------------------------- geometry of the photo's face
    def _frame(self, lm: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, float, float]:
        """Face centre (x, y), eye-line angle, face width and height in pixels."""
        oval = lm[self.oval]
        centre = oval[:, :2].mean(0)
        eye_r = lm[self.eye_r_corners][:, :2].mean(0)
        eye_l = lm[self.eye_l_corners][:, :2].mean(0)
        d = eye_l - eye_r
        angle = torch.atan2(d[1], d[0])
        c, s = torch.cos(angle), torch.sin(angle)
        rel = oval[:, :2] - centre
        upright_x = rel[:, 0] * c + rel[:, 1] * s
        upright_y = -rel[:, 0] * s + rel[:, 1] * c
        width = float((upright_x.max() - upright_x.min()).clamp(min=4.0))
        height = float((upright_y.max() - upright_y.min()).clamp(min=4.0))
        return centre, angle, width, height

    # ---------------------------------------------------------------- target landmarks per frame
    def _targets(
        self,
        lm: torch.Tensor,
        controls: torch.Tensor,
        centre: torch.Tensor,
        angle: torch.Tensor,
        fw: float,
        fh: float,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Moved positions [N, 468, 2] of every landmark, and their rigid-only positions, in image pixels.

        Work happens in an upright head frame (eye line level) so that yaw turns about the head's
        own vertical axis even when the head is tilted in the photo.
        """
        n = controls.shape[0]
        c, s = torch.cos(angle), torch.sin(angle)
        rel = lm[:, :2] - centre
        x = rel[:, 0] * c + rel[:, 1] * s
        y = -rel[:, 0] * s + rel[:, 1] * c
        # Depth is flattened: a 2-D warp cannot hide the far cheek as it turns away, so inner points
        # must not overtake the face's outline (that would fold the image over itself).
        z = (lm[:, 2] - lm[:, 2].mean()) * self.depth_scale
        pts = torch.stack([x, y, z], dim=1)  # [468, 3], head frame, origin at face centre
        pivot = torch.tensor(
            [0.0, self.pivot_drop * fh, self.pivot_depth * fw], dtype=lm.dtype, device=lm.device
        )

        # Expression offsets, head frame, pixels: [N, 468, 3].
        offs = torch.zeros(n, lm.shape[0], 3, dtype=lm.dtype, device=lm.device)
        smile = controls[:, 5:6]
        brow = controls[:, 6:7]
        mr_pt, ml_pt = pts[self.mouth_r], pts[self.mouth_l]
        mouth_c = (mr_pt + ml_pt) / 2
        half_w = ((ml_pt[0] - mr_pt[0]) / 2).abs().clamp(min=1.0)
        lips = pts[self.lips]
        side = ((lips[:, 0] - mouth_c[0]) / half_w).clamp(-1.0, 1.0)  # -1 right corner .. 1 left corner
        reach = side.abs() ** 1.5
        lip_dx = torch.sign(side) * reach * 0.07 * fw
        lip_dy = -reach * 0.045 * fw
        offs[:, self.lips, 0] += smile * lip_dx
        offs[:, self.lips, 1] += smile * lip_dy
        cheeks = pts[self.cheeks]
        cheek_side = torch.sign(cheeks[:, 0] - mouth_c[0])
        offs[:, self.cheeks, 0] += smile * (cheek_side * 0.015 * fw)
        offs[:, self.cheeks, 1] += smile * (-0.025 * fw)
        offs[:, self.brows, 1] += brow * (-0.05 * fw)
        offs[:, self.forehead, 1] += brow * (-0.025 * fw)

        rad = controls[:, :3] * (math.pi / 180.0)
        cy_, sy_ = torch.cos(rad[:, 0]), torch.sin(rad[:, 0])
        cp_, sp_ = torch.cos(rad[:, 1]), torch.sin(rad[:, 1])
        cr_, sr_ = torch.cos(rad[:, 2]), torch.sin(rad[:, 2])
        zero, one = torch.zeros_like(cy_), torch.ones_like(cy_)
        # yaw: positive moves the nose (nearer, z < 0) towards +x; pitch: positive moves it down (+y);
        # roll: positive is clockwise on screen (y points down).
        r_yaw = torch.stack([cy_, zero, -sy_, zero, one, zero, sy_, zero, cy_], 1).view(n, 3, 3)
        r_pitch = torch.stack([one, zero, zero, zero, cp_, -sp_, zero, sp_, cp_], 1).view(n, 3, 3)
        r_roll = torch.stack([cr_, -sr_, zero, sr_, cr_, zero, zero, zero, one], 1).view(n, 3, 3)
        # Depth is flattened for the turn; the nod sees it restored to its own scale.
        restore = torch.ones(3, dtype=lm.dtype, device=lm.device)
        restore[2] = self.pitch_depth_scale / self.depth_scale
        rot = torch.bmm(r_roll, torch.bmm(r_pitch, torch.diag(restore).unsqueeze(0) @ r_yaw))
        scale = (1.0 + controls[:, 9]).view(n, 1, 1)

        rigid = torch.bmm(pts.unsqueeze(0).expand(n, -1, -1) - pivot, rot.transpose(1, 2)) * scale + pivot
        moved = torch.bmm(pts.unsqueeze(0) + offs - pivot, rot.transpose(1, 2)) * scale + pivot

        return self._to_image(moved, centre, c, s), self._to_image(rigid, centre, c, s), pts

    @staticmethod
    def _to_image(p: torch.Tensor, centre: torch.Tensor, c: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        """Head frame -> image pixels (undo the de-rolling, drop depth: orthographic projection)."""
        px = p[..., 0] * c - p[..., 1] * s + centre[0]
        py = p[..., 0] * s + p[..., 1] * c + centre[1]
        return torch.stack([px, py], -1)

    # ---------------------------------------------------------------- thin-plate spline
    @staticmethod
    def _kernel(d2: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = d2 * torch.log(d2.clamp(min=1e-12))
        return out

    def _tps_field(
        self, sources: torch.Tensor, deltas: torch.Tensor, nodes: torch.Tensor, scale: float
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
        k = self._kernel(d2) + self.tps_reg * torch.eye(m, dtype=torch.float64, device=sp.device)
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
        b = torch.cat([self._kernel(g2), torch.ones_like(g[:, :1]), g], 1)  # [G, M + 3]
        field: torch.Tensor = (b @ weights).view(-1, n, 2).permute(1, 0, 2) * scale
        return field

    @staticmethod
    def _upsample(
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
        ry = LandmarkWarp._interp_matrix(height, gh, dev)  # [height, gh]
        rx = LandmarkWarp._interp_matrix(width, gw, dev)  # [width, gw]
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

    @staticmethod
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

    @staticmethod
    def _invert(forward: torch.Tensor, iterations: int) -> torch.Tensor:
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

    # ---------------------------------------------------------------- eyelids and gaze
    @staticmethod
    def _lid(
        points: torch.Tensor, mid: torch.Tensor, eu: torch.Tensor, ev: torch.Tensor, half: torch.Tensor
    ) -> torch.Tensor:
        """Least-squares fit of v = (1 - u^2)(a + b u): a lid line through both eye corners."""
        q = points - mid
        u = (q @ eu) / half
        v = q @ ev
        basis = torch.stack([1 - u * u, u * (1 - u * u)], 1)
        normal = basis.t() @ basis + 1e-6 * torch.eye(2, dtype=basis.dtype, device=basis.device)
        fit: torch.Tensor = torch.linalg.solve(normal, basis.t() @ v)
        return fit

    @staticmethod
    def _lid_at(fit: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """Where a lid fit (see _lid) puts the lid at ``u`` half widths along the eye: v, in pixels
        across it. Beyond the corners the lid is the line through them."""
        return (1 - u * u).clamp(min=0.0) * (fit[0] + fit[1] * u)

    def _lift_lid(
        self,
        image: torch.Tensor,
        mid: torch.Tensor,
        eu: torch.Tensor,
        ev: torch.Tensor,
        half: torch.Tensor,
        up: torch.Tensor,
        height: torch.Tensor,
        cheek: torch.Tensor,
    ) -> torch.Tensor:
        """The upper lid fit raised where the photo shows the eye's white above it.

        On a turned or painted face the mesh can set the upper lid line well inside the opening
        (half an eye height on the Girl with a Pearl Earring). The closing lid is the skin above that
        line, stretched down, so it would carry the white down with it. Along lines across the eye,
        the samples just above the fitted line that are lighter than the cheek under the eye by
        more than ``lid_white`` levels are the white; the line is refitted above them, by at most
        ``lid_lift`` eye heights. Lashes and lid skin are darker than that, so where the mesh is right
        the fit stays as it is.
        """
        dev = image.device
        u = torch.linspace(-0.85, 0.85, 11, device=dev)
        us = u * half
        up_v = self._lid_at(up, u)
        luma = self.luma
        steps = 12
        step = self.lid_lift * height / steps
        offsets = torch.arange(steps, dtype=torch.float32, device=dev) * step
        above = self._colours(image, mid, eu, ev, us, up_v.unsqueeze(1) - offsets) @ luma  # [11, steps]
        white = (above > cheek @ luma + self.lid_white).to(torch.float32)
        # Only a run of white that starts at the line: white further up is a highlight on the lid.
        lift = torch.cumprod(white, dim=1).sum(1) * step
        if bool((lift == 0).all()):
            return up
        points = mid + us.unsqueeze(1) * eu + (up_v - lift).unsqueeze(1) * ev
        return self._lid(points, mid, eu, ev, half)

    def _eye_geometry(
        self,
        image: torch.Tensor,
        lm: torch.Tensor,
        corners: torch.Tensor,
        upper: torch.Tensor,
        lower: torch.Tensor,
        brow: torch.Tensor,
    ) -> EyeGeometry:
        """Eye frame in the photo: centre, unit axes along/across the eye, half width, lid fits, opening,
        and how far above the upper lid the closing lid may take its skin from."""
        c0, c1 = lm[corners[0], :2], lm[corners[1], :2]
        if bool(c0[0] > c1[0]):
            c0, c1 = c1, c0
        mid = (c0 + c1) / 2
        axis = c1 - c0
        half = (axis.norm() / 2).clamp(min=1.0)
        eu = axis / (2 * half)
        half = half * (1.0 + self.lid_corner)
        ev = torch.stack([-eu[1], eu[0]])  # points down the image for an upright face
        up = self._lid(lm[upper, :2], mid, eu, ev, half)
        lo = self._lid(lm[lower, :2], mid, eu, ev, half)
        # The fitted line sits on the lid margin; a little above it keeps the whole margin on the lid.
        height = (lo[0] - up[0]).clamp(min=1.0)
        up = torch.stack([up[0] - 0.08 * height, up[1]])
        # The cheek under the eye, a little more than an eye height below the lower lid, across the
        # middle of the eye: the lift and the lid colours compare the lid with it.
        across = torch.linspace(-0.6, 0.6, 9, device=lm.device)
        depths = torch.tensor([1.2, 1.5, 1.8], device=lm.device)
        below = self._lid_at(lo, across).unsqueeze(1) + height * depths
        cheek = self._colours(image, mid, eu, ev, across * half, below).reshape(-1, 3).median(0)[0]
        up = self._lift_lid(image, mid, eu, ev, half, up, height, cheek)
        # The closing lid is the skin between the lashes and the brow, stretched down, all of it up
        # to where the brow comes nearest: a shorter band leaves the lid's crease shadow in place
        # above the unfolded lid, and a pale lid ringed by that shadow reads as an open eye's white,
        # to a viewer and to a detector. It stops at the brow's lower edge as the mesh places it
        # (bushy brows overhang that edge, and some hair comes down with the lid), or sooner where
        # the brow is far above the eye.
        qb = lm[brow, :2] - mid
        ub = (qb @ eu) / half
        lid_at_brow = self._lid_at(up, ub)
        gaps = torch.where(ub.abs() < 1.0, lid_at_brow - qb @ ev, torch.full_like(ub, 1e6))
        reach = torch.minimum(
            (self.lid_reach_brow * gaps.min()).clamp(min=0.5 * height), self.lid_reach_max * height
        )
        return mid, eu, ev, half, up, lo, height, reach, cheek

    def _eye_warp(
        self,
        image: torch.Tensor,
        grid: torch.Tensor,
        geometry: EyeGeometry,
        openness: torch.Tensor,
        smile: torch.Tensor,
        gaze: torch.Tensor,
        colours: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor],
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Move one eye's lids and gaze: photo points ``grid`` [N, h, w, 2] (pixels) -> photo points,
        and for the frames whose lids are closing (their indices [C]) the gain and offset [C, 3, h, w]
        that colour each sample (the unfolded lid is relit and the lash line drawn, see _lid_colours).
        Open eyes show the photo as it is, so most frames of a clip need no colour pass at all.

        Along each line across the eye (fixed u) the map works in v. Closing, the upper lid comes
        down over the eye as on a real blink: the lid skin above the lashes is stretched down to the
        moving lid edge, and below that edge the eye is simply covered (it keeps its place, so the
        iris does not squash); the lower lid rises a little. Widening, the opening is stretched.
        Identity at the band's ends and beyond the corners; the only discontinuity is the lid edge.
        """
        mid, eu, ev, half, up, lo, height, reach, _ = geometry
        n = grid.shape[0]
        rel = grid - mid
        u = (rel @ eu) / half
        v = rel @ ev
        prof = (1 - u * u).clamp(min=0.0)
        up_v = self._lid_at(up, u)
        lo_v = self._lid_at(lo, u)
        # Only the lid skin between the lashes and the brow is stretched over the eye; the brow and
        # everything above it stay put.
        top = up_v - reach
        bottom = lo_v + 0.9 * height
        o = openness.view(n, 1, 1)
        sm = smile.view(n, 1, 1)
        # The lids meet low, near the lower lid: the upper lid does most of the work.
        close = up_v + self.lid_meet * (lo_v - up_v)
        up_t = close + o * (up_v - close)
        lo_t = torch.maximum(close + o * (lo_v - close) - 0.12 * sm * (lo_v - up_v), up_t)
        gap = (lo_t - up_t).clamp(min=1e-3)
        # Closing, the lashes fold down into a dark fringe at the lid edge: a strip that grows with the
        # closure shows the top of the eye opening (margin, lashes, the iris's shadowed top), so a
        # closed eye keeps the dark line where the lids meet.
        lash_w = (1.0 - o).clamp(0.0, 1.0) * self.lash * height
        # Lid skin above the fringe: distance from it maps through a parabola, so the lashes keep
        # about their thickness while the smooth skin further up takes the stretch.
        band_out = (up_t - lash_w - top).clamp(min=1e-3)
        band_src = up_v - top
        slope = (1.6 * band_src / band_out).clamp(max=1.0)
        curve = (band_src - slope * band_out) / (band_out * band_out)
        d = up_t - v
        dl = (d - lash_w).clamp(min=0.0)
        above = up_v - (slope + curve * dl) * dl
        fringe = up_v + self.lash_src * height * (1.0 - d / lash_w.clamp(min=1e-3))
        above = torch.where(d < lash_w, fringe, above)
        # Closing: the visible part of the eye is its lower part, riding on the lower lid.
        covered = v + (lo_v - lo_t)
        # Widening: the opening stretches to the new lids.
        stretched = up_v + (v - up_t) * (lo_v - up_v) / gap
        inside = torch.where(o < 1.0, covered, stretched)
        below = lo_v + (v - lo_t) * (bottom - lo_v) / (bottom - lo_t).clamp(min=1e-3)
        v_src = torch.where(v < up_t, above, torch.where(v <= lo_t, inside, below))
        v_src = torch.where((v < top) | (v > bottom), v, v_src)
        # Gaze: slide the eye's content between the lids, most in the middle of the opening.
        frac = ((v - up_t) / gap).clamp(0.0, 1.0)
        bump = (4 * frac * (1 - frac)).clamp(0.0, 1.0) * prof
        gx = gaze[:, 0].view(n, 1, 1)
        gy = gaze[:, 1].view(n, 1, 1)
        u_src = u - 0.22 * gx * bump
        v_src = v_src - 0.25 * gy * bump * (lo_v - up_v)
        point = mid + (u_src * half).unsqueeze(-1) * eu + v_src.unsqueeze(-1) * ev
        closing = torch.nonzero(openness < 1.0).squeeze(1)
        if closing.numel() == 0:
            none = torch.zeros(0, dtype=grid.dtype, device=grid.device)
            return point, none, none, closing
        o, lash_w, d, v, v_src = o[closing], lash_w[closing], d[closing], v[closing], v_src[closing]
        up_t, up_v, top, prof = up_t[closing], up_v[closing], top[closing], prof[closing]
        # Where the unfolded lid shows, and how closed it is: that skin is relit (see _lid_colours). Not
        # the lashes at its edge, fading out towards the band's top, none at the corners.
        rise = ((d - lash_w - 0.1 * height) / (0.15 * height)).clamp(0.0, 1.0)
        fall = ((v - top) / (self.lid_fade * (up_v - top)).clamp(min=1e-3)).clamp(0.0, 1.0)
        fall = fall * fall * (3.0 - 2.0 * fall)
        lit = (1.0 - o).clamp(0.0, 1.0) * rise * fall * prof.sqrt() * (v < up_t).to(v.dtype)
        # The photo row each point was stretched from, as a place in the band's colour table.
        targets, band, lash, skin = colours
        k = targets.shape[0]
        pos = ((up_v - v_src) / reach * (k - 1)).clamp(0.0, float(k - 1))
        i0 = pos.floor().long().clamp(max=k - 2)
        frac = (pos - i0.to(pos.dtype)).unsqueeze(-1)
        target = targets[i0] * (1 - frac) + targets[i0 + 1] * frac  # [N, h, w, 3]
        row = band[i0] * (1 - frac) + band[i0 + 1] * frac
        # Relit skin keeps the chroma of its texture (a gain, not an added colour, so lighter streaks
        # do not turn grey) and only part of its contrast (stretched lashes and crease lines fade).
        # The gain is bounded, so the grain of a deep crease shadow is not blown up into noise; what it
        # leaves short of the target colour is added.
        scaled = self.lid_texture * (target / row.clamp(min=1.0)).clamp(max=2.0)
        lit = lit.unsqueeze(-1)
        gain = 1.0 + lit * (scaled - 1.0)
        offset = lit * (target - scaled * row)
        # A closed lid shows no white. Some is left at its edge where the lid line sits a little
        # inside the opening or the eye looks aside: the fringe takes its colour from the top of the
        # opening, and the lid's lowest skin from just above the line. Samples there that are much
        # lighter than the lid should be are painted over, with the lashes' colour in the fringe and
        # the lid's lightness in the skin's hue above it (the lid's lowest rows in the colour table
        # took part of their hue from that white).
        luma = self.luma
        lid_luma = target @ luma
        excess = self._pixels(image, point[closing]) @ luma - lid_luma
        pale = ((excess - self.fringe_pale) / (self.fringe_white - self.fringe_pale)).clamp(0.0, 1.0)
        near = ((up_v - v_src) < self.fringe_reach * height).to(v.dtype) * (v < up_t).to(v.dtype)
        pale = (self.fringe_relight * (1.0 - o).clamp(0.0, 1.0) * prof.sqrt() * near * pale).unsqueeze(-1)
        gain = gain * (1.0 - pale)
        fill = torch.where((d < lash_w).unsqueeze(-1), lash.expand_as(target), lid_luma.unsqueeze(-1) * skin)
        offset = offset * (1.0 - pale) + pale * fill
        # The lash line where the lids meet, drawn: smooth across the lid edge (the map's one
        # discontinuity, which it hides), fullest in the middle of the eye, none at the corners.
        across = (v - up_t - 0.25 * self.lash_width * height) / (self.lash_width * height).clamp(min=0.6)
        line = (1.0 - o).clamp(0.0, 1.0) * self.lash_line * prof.sqrt() * torch.exp(-across * across)
        line = line.unsqueeze(-1)
        gain = gain * (1.0 - line)
        offset = offset * (1.0 - line) + line * lash
        return point, gain.permute(0, 3, 1, 2), offset.permute(0, 3, 1, 2), closing

    def _apply_eye(
        self,
        grid: torch.Tensor,
        image: torch.Tensor,
        lm: torch.Tensor,
        moved: torch.Tensor,
        corners: torch.Tensor,
        upper: torch.Tensor,
        lower: torch.Tensor,
        brow: torch.Tensor,
        openness: torch.Tensor,
        smile: torch.Tensor,
        gaze: torch.Tensor,
        origin: torch.Tensor,
        to_norm: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, list[int]]:
        """Run the eye warp on the part of the region's grid (normalised coordinates) that can see the eye.

        Returns the grid, the colour gain and offset of that part for the frames they apply to (and
        those frames' indices), and the part's box (x0, y0, x1, y1).
        """
        none = torch.zeros(0, dtype=grid.dtype, device=grid.device)
        no_frames = torch.zeros(0, dtype=torch.long, device=grid.device)
        if bool((openness == 1.0).all()) and bool((smile == 0.0).all()) and bool((gaze == 0.0).all()):
            return grid, none, none, no_frames, [0, 0, 0, 0]
        geometry = self._eye_geometry(image, lm, corners, upper, lower, brow)
        mid, eu, ev, half, up, lo, height, _, _ = geometry
        # The band the warp touches, in the photo: corner to corner, brow side to below the lower lid.
        reach_v = torch.stack([up[0] - 1.35 * height, lo[0] + 1.0 * height]).abs().max()
        ext = (eu * half * 1.05).abs() + (ev * reach_v).abs()
        # Where that band appears in each frame: the eye's landmarks moved by the head's motion.
        eye_idx = torch.cat([corners, upper, lower])
        shift = (moved[:, eye_idx] - lm[eye_idx, :2]).mean(1)  # [N, 2]
        lo_xy = mid - ext + shift.min(0)[0] - 0.15 * ext - 2.0 - origin
        hi_xy = mid + ext + shift.max(0)[0] + 0.15 * ext + 2.0 - origin
        h, w = grid.shape[1], grid.shape[2]
        bx0 = max(0, math.floor(float(lo_xy[0])))
        by0 = max(0, math.floor(float(lo_xy[1])))
        bx1 = min(w, math.ceil(float(hi_xy[0])))
        by1 = min(h, math.ceil(float(hi_xy[1])))
        if bx1 <= bx0 or by1 <= by0:
            return grid, none, none, no_frames, [0, 0, 0, 0]
        part = (grid[:, by0:by1, bx0:bx1] + 1.0) / to_norm + 0.5
        colours = self._lid_colours(image, geometry)
        part, gain, offset, closing = self._eye_warp(image, part, geometry, openness, smile, gaze, colours)
        grid[:, by0:by1, bx0:bx1] = (part - 0.5) * to_norm - 1.0
        return grid, gain, offset, closing, [bx0, by0, bx1, by1]

    def _lid_colours(
        self, image: torch.Tensor, geometry: EyeGeometry, rows: int = 8
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Colours of the closing lid: what each row of the band it is stretched from should become
        [rows, 3], that band's own mean colour per row [rows, 3] (the lid line first, the band's top
        last), the colour of the lash line [3] and the skin's hue (its colour at unit luma) [3].

        Closing, the lid unfolds out of the crease and turns towards the light. Stretching the band
        above the lashes brings its crease shadow down over the eye instead, and a dark patch where
        the eye was still reads as an open eye. So each row of that band takes the lightness of the
        skin around the eye, keeping part of its own texture; rows already as light are left. That
        skin lies between the cheek under the eye and the top of the band (the skin the lid continues):
        the cheek alone is often a highlight, and a lid that bright glows. Under a heavy brow the
        band's top is in shadow, and the lid then takes the cheek's colour. Towards its edge the lid
        is shaded, as a rounded lid is, so it does not look flat. The lash line is the darkest of the
        photo's own upper lid margin, so it has the lashes' colour.
        """
        mid, eu, ev, half, up, _, height, reach, under = geometry
        dev = image.device
        u = torch.linspace(-0.6, 0.6, 9, device=dev)
        us = u * half
        up_v = self._lid_at(up, u)
        band_v = up_v.unsqueeze(1) - reach * torch.linspace(0.0, 1.0, rows, device=dev)
        band = self._colours(image, mid, eu, ev, us, band_v).mean(0)  # [rows, 3]
        luma = self.luma
        top = band[-3:].mean(0)
        # Under a heavy brow the top of the band is in shadow: the lid then takes the cheek's colour.
        tone = self.lid_tone * ((40.0 - (under @ luma - top @ luma)) / 40.0).clamp(0.0, 1.0)
        skin = under * (1.0 - tone) + top * tone
        band_luma = band @ luma
        darker = ((skin @ luma - band_luma) / 40.0).clamp(0.0, 1.0)
        r = torch.linspace(0.0, 1.0, rows, device=dev)
        shade = 1.0 - self.lid_shade * (1.0 - r) ** 2
        lightness = band_luma + (skin @ luma * shade - band_luma) * darker
        # The lightness is the skin's; the hue lies halfway between the row's own and the skin's. The
        # skin under the eye is often a paler highlight, and a lid of its hue looks grey next to the
        # rest, while a crease shadow's deep hue, brightened, glows.
        hue = band / band_luma.clamp(min=1.0).unsqueeze(1)
        skin_hue = skin / (skin @ luma).clamp(min=1.0)
        hue = hue * (1.0 - self.lid_hue) + skin_hue * self.lid_hue
        targets = hue * lightness.unsqueeze(1)
        margin_v = up_v.unsqueeze(1) + height * torch.tensor([0.0, 0.08, 0.16, 0.24], device=dev)
        margin = self._colours(image, mid, eu, ev, us, margin_v)  # [9, 4, 3]
        darkest = (margin @ luma).argmin(1)
        lash = margin[torch.arange(us.shape[0], device=dev), darkest].median(0)[0]
        return targets, band, lash, skin_hue

    @staticmethod
    def _colours(
        image: torch.Tensor,
        mid: torch.Tensor,
        eu: torch.Tensor,
        ev: torch.Tensor,
        us: torch.Tensor,
        vs: torch.Tensor,
    ) -> torch.Tensor:
        """The photo's colours at eye-frame points (u [U] and v [U, K], pixels) -> [U, K, 3]."""
        return LandmarkWarp._pixels(image, mid + us.view(-1, 1, 1) * eu + vs.unsqueeze(-1) * ev)

    @staticmethod
    def _pixels(image: torch.Tensor, xy: torch.Tensor) -> torch.Tensor:
        """The photo's colours at points ``xy`` [..., 2] (pixels), each its nearest pixel's -> [..., 3]."""
        ix = xy[..., 0].round().long().clamp(0, image.shape[1] - 1)
        iy = xy[..., 1].round().long().clamp(0, image.shape[0] - 1)
        return image[iy, ix].to(torch.float32)

    # ---------------------------------------------------------------- rendering
    @staticmethod
    def _double(src: torch.Tensor) -> torch.Tensor:
        """[H, W, C] -> [2H-1, 2W-1, C]: the pixels, with Lanczos-3 midpoints between them.

        Bilinear sampling between pixels blurs: half a pixel off, the finest detail is averaged
        away, and a face that drifts by fractions of a pixel would lose a third of its sharpness.
        Sampling bilinearly from this doubled image costs about the same but interpolates at twice
        the resolution, and because the original pixels are kept exactly, a point that did not
        move samples its pixel unchanged. Bicubic sampling from it is better still where it is
        affordable: a quarter pixel off, bilinear from the doubled image keeps 0.72-0.76 of the
        scorer's sharpness, bicubic from the photo about 0.86 and bicubic from the doubled image
        0.94-0.97. Pixel-interleaved in and out, so the sampler reads it channels-last without
        another copy.

        The midpoints take six neighbours rather than a cubic's four. Half a pixel off, a cubic
        keeps 78% of the power of detail at half the pixel rate (a painting's cracks, film grain)
        and Lanczos-3 all of it; the scorer's sharpness measure sits at that scale, and a drifting
        face measured 0.78-0.84 of its photo's sharpness with cubic midpoints, 0.87-0.92 with these.
        Computed once per call, for all its frames.
        """
        # Lanczos-3 weights of the samples 0.5, 1.5 and 2.5 pixels away, normalised to sum to one.
        near, nxt, far = 0.6114130434782609, -0.1358695652173913, 0.024456521739130436
        w = src.shape[1]
        if w > 1:
            p = torch.cat([src[:, :1], src[:, :1], src, src[:, -1:], src[:, -1:]], 1)
            mid = (
                near * (p[:, 2:-3] + p[:, 3:-2])
                + nxt * (p[:, 1:-4] + p[:, 4:-1])
                + far * (p[:, :-5] + p[:, 5:])
            )
            inter = torch.stack([src[:, :-1], mid], 2).reshape(src.shape[0], -1, src.shape[2])
            src = torch.cat([inter, src[:, -1:]], 1)
        h = src.shape[0]
        if h > 1:
            p = torch.cat([src[:1], src[:1], src, src[-1:], src[-1:]], 0)
            mid = near * (p[2:-3] + p[3:-2]) + nxt * (p[1:-4] + p[4:-1]) + far * (p[:-5] + p[5:])
            inter = torch.stack([src[:-1], mid], 1).reshape(-1, src.shape[1], src.shape[2])
            src = torch.cat([inter, src[-1:]], 0)
        return src

    def forward(self, image: torch.Tensor, landmarks: torch.Tensor, controls: torch.Tensor) -> torch.Tensor:
        height, width = image.shape[0], image.shape[1]
        n = controls.shape[0]
        dev = image.device
        lm = landmarks.to(device=dev, dtype=torch.float32)
        ctl = controls.to(device=dev, dtype=torch.float32)
        centre, angle, fw, fh = self._frame(lm)

        moved, rigid, _ = self._targets(lm, ctl, centre, angle, fw, fh)
        src_ctrl = lm[self.control, :2].unsqueeze(0).expand(n, -1, -1)
        tgt_ctrl = moved[:, self.control]

        oval_src = lm[self.oval, :2]
        halo_src = centre + (oval_src - centre) * self.halo_scale
        # The halo (hair, ears) follows the head, less towards the chin so the neck is not dragged.
        c, s = torch.cos(angle), torch.sin(angle)
        down = (-(oval_src[:, 0] - centre[0]) * s + (oval_src[:, 1] - centre[1]) * c) / (0.5 * fh)
        follow = 1.0 - 0.6 * down.clamp(0.0, 1.0)
        halo_tgt = halo_src + follow.view(1, -1, 1) * (rigid[:, self.oval] - oval_src)
        ring = centre + (oval_src - centre) * self.ring_scale
        # Every other ring point is plenty for that smooth, large-scale constraint.
        ring = ring[::2]

        # The region that may change: the ring's box, inside the image. Outside it is the photo.
        x0 = max(0, math.floor(float(ring[:, 0].min())))
        y0 = max(0, math.floor(float(ring[:, 1].min())))
        x1 = min(width, math.ceil(float(ring[:, 0].max())))
        y1 = min(height, math.ceil(float(ring[:, 1].max())))
        if x1 - x0 < 2 or y1 - y0 < 2:
            return image.unsqueeze(0).expand(n, -1, -1, -1).contiguous()
        rw, rh = x1 - x0, y1 - y0
        # Anchors on the region's border keep the spline flat at its edge.
        k = 6
        ts = (torch.arange(k, dtype=torch.float32, device=dev) + 0.5) / k
        border = torch.cat(
            [
                torch.stack([x0 + ts * rw, torch.full_like(ts, float(y0))], 1),
                torch.stack([x0 + ts * rw, torch.full_like(ts, float(y1))], 1),
                torch.stack([torch.full_like(ts, float(x0)), y0 + ts * rh], 1),
                torch.stack([torch.full_like(ts, float(x1)), y0 + ts * rh], 1),
            ]
        )
        fixed = torch.cat([ring, border], 0).unsqueeze(0).expand(n, -1, -1)
        sources = torch.cat([src_ctrl, halo_src.unsqueeze(0).expand(n, -1, -1), fixed], 1)
        targets = torch.cat([tgt_ctrl, halo_tgt, fixed], 1)

        gw = min(self.grid_max, max(2, (rw + self.grid_step - 1) // self.grid_step))
        gh = min(self.grid_max, max(2, (rh + self.grid_step - 1) // self.grid_step))
        # Coarse nodes sit where bilinear upsampling (align_corners=False) expects them.
        nx = x0 + (torch.arange(gw, dtype=torch.float32, device=dev) + 0.5) * (rw / gw)
        ny = y0 + (torch.arange(gh, dtype=torch.float32, device=dev) + 0.5) * (rh / gh)
        nodes = torch.stack([nx.view(1, -1).expand(gh, -1), ny.view(-1, 1).expand(-1, gw)], -1).reshape(-1, 2)
        forward = self._tps_field(sources[0], targets - sources, nodes, fw)  # [N, G, 2], pixels
        # Taper to exactly zero at the region's edge so it joins the untouched photo seamlessly.
        tx = ((torch.minimum(nx - x0, x1 - nx)) / (0.12 * rw)).clamp(0.0, 1.0)
        ty = ((torch.minimum(ny - y0, y1 - ny)) / (0.12 * rh)).clamp(0.0, 1.0)
        taper = (ty.view(-1, 1) * tx.view(1, -1)).reshape(1, -1, 1)
        node_size = torch.tensor([rw / gw, rh / gh], dtype=torch.float32, device=dev)
        forward = (forward * taper / node_size).view(n, gh, gw, 2).permute(0, 3, 1, 2)
        back = self._invert(forward, 8)
        # Work in the sampling grid's normalised coordinates from here on, so the full-resolution
        # grid is touched only twice. Sampling uses the doubled image (see _double) with
        # align_corners=True: pixel i's centre (i + 0.5) sits at i * 2 / (size - 1) - 1.
        to_norm = torch.tensor(
            [2.0 / max(width - 1, 1), 2.0 / max(height - 1, 1)], dtype=torch.float32, device=dev
        )
        disp = back * (node_size * to_norm).view(1, 2, 1, 1)
        px = (torch.arange(rw, dtype=torch.float32, device=dev) + x0) * to_norm[0] - 1.0
        py = (torch.arange(rh, dtype=torch.float32, device=dev) + y0) * to_norm[1] - 1.0
        grid = self._upsample(disp, rh, rw, px, py)

        origin = torch.tensor([float(x0), float(y0)], dtype=torch.float32, device=dev)
        grid, gain_l, offset_l, frames_l, box_l = self._apply_eye(
            grid, image, lm, moved, self.eye_l_corners, self.eye_l_upper, self.eye_l_lower, self.eye_l_brow,
            ctl[:, 3], ctl[:, 5], ctl[:, 7:9], origin, to_norm,
        )  # fmt: skip
        grid, gain_r, offset_r, frames_r, box_r = self._apply_eye(
            grid, image, lm, moved, self.eye_r_corners, self.eye_r_upper, self.eye_r_lower, self.eye_r_brow,
            ctl[:, 4], ctl[:, 5], ctl[:, 7:9], origin, to_norm,
        )  # fmt: skip

        # The source is sampled channels-last (a pixel's three colours in one cache line: about a
        # third faster than planar on CPU) and already offset by half a level, so truncating the
        # sampled value rounds it. One batch entry per frame over a shared (expanded, not copied)
        # source: the CPU sampler spreads batch entries over its threads, not the rows of one entry.
        doubled = self._double(image.to(torch.float32)).clamp_(0.0, 255.0).add_(0.5)
        source = doubled.permute(2, 0, 1).unsqueeze(0).expand(n, -1, -1, -1)
        if rh * rw * 2 <= height * width:
            # A head that fills at most half the frame: bicubic costs three times bilinear, which is
            # affordable there. From the doubled image it keeps detail at any fraction of a pixel,
            # where bilinear from it loses a quarter of the fine detail's power a quarter of a pixel
            # off, as bicubic from the photo itself does half a pixel off.
            region = F.grid_sample(source, grid, mode="bicubic", padding_mode="border", align_corners=True)
            region.clamp_(0.0, 255.5)  # cubic weights overshoot at edges
        else:
            # Bilinear weights never leave the range of their four samples, so clamping the doubled
            # source once bounds every frame and no full-size pass over the frames is needed.
            region = F.grid_sample(source, grid, mode="bilinear", padding_mode="border", align_corners=True)
        for gain, offset, closing, box in (
            (gain_l, offset_l, frames_l, box_l),
            (gain_r, offset_r, frames_r, box_r),
        ):
            if gain.numel() > 0:
                x0_, y0_, x1_, y1_ = box
                part = region[closing, :, y0_:y1_, x0_:x1_] * gain + offset
                region[closing, :, y0_:y1_, x0_:x1_] = part.clamp_(0.0, 255.5)
        # Narrow and interleave in the one copy into the frames (truncation: see the half-level offset).
        region = region.permute(0, 2, 3, 1)
        if rh == height and rw == width:
            frames = torch.empty(n, height, width, 3, dtype=torch.uint8, device=dev)
            frames.copy_(region)
            return frames
        frames = image.unsqueeze(0).repeat(n, 1, 1, 1)
        frames[:, y0:y1, x0:x1] = region
        return frames


def build(repository: Path) -> list[Path]:
    """Script the model and write ``motion/1/motion.pt``."""
    target = repository / "motion" / "1" / "motion.pt"
    target.parent.mkdir(parents=True, exist_ok=True)
    scripted = torch.jit.script(LandmarkWarp().eval())
    scripted.save(str(target))  # type: ignore[no-untyped-call]
    return [target]
