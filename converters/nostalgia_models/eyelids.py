"""The motion model's eyelids and gaze: an analytic warp in photo space for each eye, with the colour
pass that makes a closed lid look like skin.

A blink folds the image: the eye's height goes to zero, which no smooth spline on a coarse grid can
do. So each eye is warped on its own, on the full-resolution sampling grid, after the head's
spline: the lid lines move towards a closing line, the skin above is stretched down over the eye
and the eye itself is covered, so a closed eye shows skin and lashes, never a torn or smeared eye.
Stretched, that band of skin would bring its crease shadow down over the eye, so the unfolded lid
is relit with the skin around the eye, shaded towards its edge and given the photo's grain, and a
lash line is drawn where the lids meet. Where the face mesh sets the upper lid line inside the
opening, the line is first raised above the white the photo shows there, and white still left at
the lid's edge is painted over; where it sets the lower lid line across the iris, that line is
lowered below it. The lids' geometry, colours and settings all live here; the model
only hands over its grid and applies the colour pass to what it sampled.
"""

import math

import torch

from . import mesh_regions as mr

__all__ = ["EyeGeometry", "Eyelids", "Shading"]

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
# lightness), and how far its hue moves at least from the band's own towards the skin's (all the way
# where the band is relit in full); the skin's hue is read where it is about as light as the lid,
# within this many levels.
_LID_TEXTURE = 0.4
_LID_HUE = 0.5
_LID_HUE_MATCH = 20.0
# The relit lid takes on the grain of the cheek (see Eyelids._lid_grain): at this strength, read this
# many eye heights below, each sample's difference from its neighbours bounded by this many levels
# and by this many times the median size of those differences.
_LID_GRAIN = 0.8
_LID_GRAIN_BELOW = 2.6
_LID_GRAIN_CLIP = 12.0
_LID_GRAIN_SPREAD = 2.5
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
# line it is looked for, in eye heights (see Eyelids._lift_lid).
_LID_WHITE = 15.0
_LID_LIFT = 0.6
# How dark the iris is, as a share of the cheek's lightness, and how far below the mesh's lower lid
# line it is looked for, in eye heights (see Eyelids._drop_lid).
_LID_DARK = 0.55
_LID_DROP = 0.4
# What white is left at a closing lid's edge (in the lash fringe, or in the lid skin it was stretched
# from up to _FRINGE_REACH eye heights above the lid line) is painted over: samples lighter than the
# lid should be there by more than _FRINGE_PALE levels take the lid's colour (the lashes' colour in
# the fringe), in full from _FRINGE_WHITE up, at the strength _FRINGE_RELIGHT.
_FRINGE_PALE = 10.0
_FRINGE_WHITE = 40.0
_FRINGE_RELIGHT = 1.0
_FRINGE_REACH = 0.35


# An eye in the photo (see Eyelids._eye_geometry): centre, unit axes along and across it, half
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
# One eye's colour pass over the sampled region: gain and offset [C, 3, h, w] for the frames whose
# lids are closing (their indices [C]), and the box (x0, y0, x1, y1) in the region they cover.
Shading = tuple[torch.Tensor, torch.Tensor, torch.Tensor, list[int]]


class Eyelids(torch.nn.Module):
    """Both eyes' lids and gaze, applied to the head's sampling grid (see ``forward``).

    The settings are plain float attributes, so a bench can try one without editing the code.
    """

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
        self.lid_hue_match = _LID_HUE_MATCH
        self.lid_grain = _LID_GRAIN
        self.lid_grain_below = _LID_GRAIN_BELOW
        self.lid_grain_clip = _LID_GRAIN_CLIP
        self.lid_grain_spread = _LID_GRAIN_SPREAD
        self.lid_corner = _LID_CORNER
        self.fringe_relight = _FRINGE_RELIGHT
        self.lid_white = _LID_WHITE
        self.lid_lift = _LID_LIFT
        self.lid_dark = _LID_DARK
        self.lid_drop = _LID_DROP
        self.fringe_pale = _FRINGE_PALE
        self.fringe_white = _FRINGE_WHITE
        self.fringe_reach = _FRINGE_REACH
        self.register_buffer("eye_r_corners", mr.index(mr.EYE_RIGHT.corners))
        self.register_buffer("eye_r_upper", mr.index(mr.EYE_RIGHT.upper))
        self.register_buffer("eye_r_lower", mr.index(mr.EYE_RIGHT.lower))
        self.register_buffer("eye_r_brow", mr.index(mr.EYE_RIGHT.brow))
        self.register_buffer("eye_l_corners", mr.index(mr.EYE_LEFT.corners))
        self.register_buffer("eye_l_upper", mr.index(mr.EYE_LEFT.upper))
        self.register_buffer("eye_l_lower", mr.index(mr.EYE_LEFT.lower))
        self.register_buffer("eye_l_brow", mr.index(mr.EYE_LEFT.brow))
        # Rec. 601 weights: a colour's lightness is ``colour @ luma``.
        self.register_buffer("luma", torch.tensor([0.299, 0.587, 0.114]))

    def forward(
        self,
        grid: torch.Tensor,
        image: torch.Tensor,
        lm: torch.Tensor,
        moved: torch.Tensor,
        controls: torch.Tensor,
        origin: torch.Tensor,
        to_norm: torch.Tensor,
    ) -> tuple[torch.Tensor, list[Shading]]:
        """Warp both eyes on the head region's sampling grid [N, h, w, 2] (normalised coordinates;
        the region starts at ``origin`` in the photo): the grid, and each eye's colour pass for
        ``shade``. ``moved`` [N, 468, 2] is where the head's motion puts every landmark, so the
        warp touches only the part of the grid that can see the eye.
        """
        grid, left = self._apply_eye(
            grid, image, lm, moved, self.eye_l_corners, self.eye_l_upper, self.eye_l_lower, self.eye_l_brow,
            controls[:, 3], controls[:, 5], controls[:, 7:9], origin, to_norm,
        )  # fmt: skip
        grid, right = self._apply_eye(
            grid, image, lm, moved, self.eye_r_corners, self.eye_r_upper, self.eye_r_lower, self.eye_r_brow,
            controls[:, 4], controls[:, 5], controls[:, 7:9], origin, to_norm,
        )  # fmt: skip
        return grid, [left, right]

    @staticmethod
    def shade(region: torch.Tensor, shadings: list[Shading]) -> None:
        """Apply the eyes' colour passes to the sampled region [N, 3, h, w] (levels), in place."""
        for gain, offset, closing, box in shadings:
            if gain.numel() > 0:
                x0, y0, x1, y1 = box
                part = region[closing, :, y0:y1, x0:x1] * gain + offset
                region[closing, :, y0:y1, x0:x1] = part.clamp_(0.0, 255.5)

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
        # Only a run of white that starts at the line: white further up is a highlight on the lid.
        u = torch.linspace(-0.85, 0.85, 11, device=image.device)
        limit = cheek @ self.luma + self.lid_white
        return self._shift_lid(image, mid, eu, ev, half, up, u, -1.0, self.lid_lift * height, limit, True)

    def _drop_lid(
        self,
        image: torch.Tensor,
        mid: torch.Tensor,
        eu: torch.Tensor,
        ev: torch.Tensor,
        half: torch.Tensor,
        lo: torch.Tensor,
        height: torch.Tensor,
        cheek: torch.Tensor,
    ) -> torch.Tensor:
        """The lower lid fit lowered where the photo shows the iris below it.

        Where the eyes look down (the 1925 Girl) the mesh can set the lower lid line across the iris.
        The lids close onto a line just above the lower one, so the bottom of the iris would show
        under a closed eye as a dark drop. Along lines across the middle of the eye, the samples just
        below the fitted line that are darker than ``lid_dark`` times the cheek's lightness are the
        iris; the line is refitted below them, by at most ``lid_drop`` eye heights. The lower lid's
        margin and the shadow under it are far lighter than an iris, so where the mesh is right the
        fit stays as it is.
        """
        # Only a run of iris that starts at the line: dark further down is a shadow or a lash.
        u = torch.linspace(-0.6, 0.6, 9, device=image.device)
        limit = self.lid_dark * (cheek @ self.luma)
        return self._shift_lid(image, mid, eu, ev, half, lo, u, 1.0, self.lid_drop * height, limit, False)

    def _shift_lid(
        self,
        image: torch.Tensor,
        mid: torch.Tensor,
        eu: torch.Tensor,
        ev: torch.Tensor,
        half: torch.Tensor,
        fit: torch.Tensor,
        u: torch.Tensor,
        direction: float,
        reach: torch.Tensor,
        limit: torch.Tensor,
        lighter: bool,
    ) -> torch.Tensor:
        """A lid fit moved ``direction`` (-1 up the eye, 1 down) past the run of samples, starting at
        the line, that are lighter (``lighter``) or darker than ``limit`` levels, by at most ``reach``
        pixels, along the lines across the eye at ``u`` half widths; the lid is refitted there."""
        us = u * half
        v = self._lid_at(fit, u)
        steps = 12
        step = reach / steps
        offsets = torch.arange(steps, dtype=torch.float32, device=image.device) * step
        lightness = self._colours(image, mid, eu, ev, us, v.unsqueeze(1) + direction * offsets) @ self.luma
        run = (lightness > limit) if lighter else (lightness < limit)
        shift = torch.cumprod(run.to(torch.float32), dim=1).sum(1) * step
        if bool((shift == 0).all()):
            return fit
        points = mid + us.unsqueeze(1) * eu + (v + direction * shift).unsqueeze(1) * ev
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
        lo = self._drop_lid(image, mid, eu, ev, half, lo, height, cheek)
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
        grain: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Move one eye's lids and gaze: photo points ``grid`` [N, h, w, 2] (pixels) -> photo points,
        and for the frames whose lids are closing (their indices [C]) the gain and offset [C, 3, h, w]
        that colour each sample (the unfolded lid is relit, see _lid_colours, and takes on ``grain``
        [h, w, 3], see _lid_grain; the lash line is drawn). Open eyes show the photo as it is, so
        most frames of a clip need no colour pass at all.

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
        # It thins out to nothing at the model's corners: beyond them the lids are one line, and a
        # fringe there would still pull skin from below that line over it, up to where the eye's
        # warp ends in a visible edge.
        ends = ((1.0 - u.abs()) / 0.15).clamp(0.0, 1.0)
        lash_w = (1.0 - o).clamp(0.0, 1.0) * self.lash * height * ends * ends * (3.0 - 2.0 * ends)
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
        offset = lit * (target - scaled * row + self.lid_grain * grain)
        # A closed lid shows no white. Some is left at its edge where the lid line sits a little
        # inside the opening or the eye looks aside: the fringe takes its colour from the top of the
        # opening, and the lid's lowest skin from just above the line. Samples there that are much
        # lighter than they should be are painted over: in the fringe, lighter than the lashes (a
        # catchlight or white there is a speck in the dark line, even where it is darker than the lid),
        # with the lashes' colour; above it, lighter than the lid, with the lid's lightness in the
        # skin's hue (the lid's lowest rows in the colour table took part of their hue from that white).
        luma = self.luma
        lid_luma = target @ luma
        in_fringe = d < lash_w
        excess = self._pixels(image, point[closing]) @ luma - torch.where(in_fringe, lash @ luma, lid_luma)
        pale = ((excess - self.fringe_pale) / (self.fringe_white - self.fringe_pale)).clamp(0.0, 1.0)
        near = ((up_v - v_src) < self.fringe_reach * height).to(v.dtype) * (v < up_t).to(v.dtype)
        pale = (self.fringe_relight * (1.0 - o).clamp(0.0, 1.0) * prof.sqrt() * near * pale).unsqueeze(-1)
        gain = gain * (1.0 - pale)
        fill = torch.where(in_fringe.unsqueeze(-1), lash.expand_as(target), lid_luma.unsqueeze(-1) * skin)
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
    ) -> tuple[torch.Tensor, Shading]:
        """Run the eye warp on the part of the region's grid (normalised coordinates) that can see the eye.

        Returns the grid and the eye's colour pass over that part (see ``Shading``).
        """
        none = torch.zeros(0, dtype=grid.dtype, device=grid.device)
        no_frames = torch.zeros(0, dtype=torch.long, device=grid.device)
        if bool((openness == 1.0).all()) and bool((smile == 0.0).all()) and bool((gaze == 0.0).all()):
            return grid, (none, none, no_frames, [0, 0, 0, 0])
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
            return grid, (none, none, no_frames, [0, 0, 0, 0])
        part = (grid[:, by0:by1, bx0:bx1] + 1.0) / to_norm + 0.5
        # The colour pass is for closing lids only: a clip's frames with open eyes (a glance, a smile)
        # need neither the lid's colours nor the grain.
        colours = (none, none, none, none)
        grain = none
        if bool((openness < 1.0).any()):
            colours = self._lid_colours(image, geometry)
            home_x = torch.arange(bx0, bx1, dtype=torch.float32, device=grid.device) + origin[0] + 0.5
            home_y = torch.arange(by0, by1, dtype=torch.float32, device=grid.device) + origin[1] + 0.5
            home = torch.stack(
                [home_x.view(1, -1).expand(by1 - by0, -1), home_y.view(-1, 1).expand(-1, bx1 - bx0)], -1
            )
            grain = self._lid_grain(image, geometry, home)
        part, gain, offset, closing = self._eye_warp(
            image, part, geometry, openness, smile, gaze, colours, grain
        )
        grid[:, by0:by1, bx0:bx1] = (part - 0.5) * to_norm - 1.0
        return grid, (gain, offset, closing, [bx0, by0, bx1, by1])

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
        photo's own upper lid margin, so it has the lashes' colour (or the iris's, which is as dark).
        """
        mid, eu, ev, half, up, lo, height, reach, under = geometry
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
        # The lightness is the skin's, and so is most of the hue: a shadow's hue is deeper than lit
        # skin's (painters lay crease shadows in red-brown), and brightened it glowed pink. A row
        # relit all the way takes the hue of the skin under the eye that is about as light as the row
        # becomes (the cheek's own highlight is paler, and a lid of its hue looks grey); one left as
        # it is keeps half its own.
        hue = band / band_luma.clamp(min=1.0).unsqueeze(1)
        skin_hue = skin / (skin @ luma).clamp(min=1.0)
        low_u = torch.linspace(-0.8, 0.8, 9, device=dev)
        low_v = self._lid_at(lo, low_u).unsqueeze(1) + height * torch.tensor([0.4, 0.7, 1.0], device=dev)
        around = self._colours(image, mid, eu, ev, low_u * half, low_v).reshape(-1, 3)
        around_luma = around @ luma
        around_hue = around / around_luma.clamp(min=1.0).unsqueeze(1)
        apart = (around_luma.unsqueeze(0) - lightness.unsqueeze(1)) / self.lid_hue_match  # [rows, 27]
        alike = torch.exp(-apart * apart) + 1e-6
        matched_hue = (alike @ around_hue) / alike.sum(1, keepdim=True)  # [rows, 3]
        weight = (self.lid_hue + (1.0 - self.lid_hue) * darker).unsqueeze(1)
        hue = hue * (1.0 - weight) + matched_hue * weight
        targets = hue * lightness.unsqueeze(1)
        # The margin on both sides of the lid line: where the mesh sets the line inside the opening
        # and the iris misses most of these columns, everything below the line is white, and a lash
        # line of that colour would draw a white closed eye.
        across = torch.tensor([-0.16, -0.08, 0.0, 0.08, 0.16, 0.24], device=dev)
        margin = self._colours(image, mid, eu, ev, us, up_v.unsqueeze(1) + height * across)  # [9, 6, 3]
        darkest = (margin @ luma).argmin(1)
        lash = margin[torch.arange(us.shape[0], device=dev), darkest].median(0)[0]
        return targets, band, lash, skin_hue

    def _lid_grain(self, image: torch.Tensor, geometry: EyeGeometry, home: torch.Tensor) -> torch.Tensor:
        """The photo's grain for each pixel [h, w] at ``home`` (photo pixels) of the eye's box -> [h, w, 3].

        The relit lid keeps only part of the texture of the band it is stretched from, and that part
        is drawn out into streaks; an old print's grain is everywhere else. So the lid gets the grain
        of the cheek below it: each pixel's difference from the mean of its neighbours two pixels
        away, read ``lid_grain_below`` eye heights straight below, where no part of the lid's band
        lands on the lower lid. Clamped to a few times its median size, so an edge there (a deep
        wrinkle, the side of the nose) does not come along: the detector of the scorer read the
        wrinkles of a weathered face, brought onto the lid, as an open eye. It stays in place frame
        to frame, as grain on a print does.
        """
        ev, height = geometry[2], geometry[6]
        src = home + ev * (self.lid_grain_below * height)
        grain = self._pixels(image, src)
        for dx, dy in ((-2.0, 0.0), (2.0, 0.0), (0.0, -2.0), (0.0, 2.0)):
            grain -= 0.25 * self._pixels(image, src + torch.tensor([dx, dy], device=src.device))
        bound = min(self.lid_grain_clip, self.lid_grain_spread * float(grain.abs().median()))
        return grain.clamp(-bound, bound)

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
        return Eyelids._pixels(image, mid + us.view(-1, 1, 1) * eu + vs.unsqueeze(-1) * ev)

    @staticmethod
    def _pixels(image: torch.Tensor, xy: torch.Tensor) -> torch.Tensor:
        """The photo's colours at points ``xy`` [..., 2] (pixels), read from the pixel each lies in: [..., 3].

        Pixel i spans [i, i + 1) (its centre at i + 0.5, as on the model's grid), so that pixel is the
        floor; rounding took the neighbour for half of all points, and the paint-over of white at a
        closing lid's edge then read a sample other than the one the frame shows.
        """
        ix = xy[..., 0].floor().long().clamp(0, image.shape[1] - 1)
        iy = xy[..., 1].floor().long().clamp(0, image.shape[0] - 1)
        return image[iy, ix].to(torch.float32)
