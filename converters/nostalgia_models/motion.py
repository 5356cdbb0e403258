"""The ``motion`` model: brings a portrait to life from its face mesh and per-frame controls.

A procedural, landmark-driven warp with no learned weights:

1. Target landmarks per frame: the photo's 3-D face mesh is turned about a pivot behind the face
   (yaw, pitch, roll, lean) and projected, with expression offsets on landmark groups (mouth
   corners and cheeks for a closed-mouth smile, brows for a raise).
2. A thin-plate spline per frame maps every output point back to the photo, from ~150 mesh control
   points plus anchors: a halo around the head that follows it part way (hair) and a ring and the
   image border that stay put (background, shoulders), and points on anyone else's face that the
   caller names, so that in a group photo a neighbour's face does not move with this one. One
   solve serves every frame of a call; the field lives on a coarse grid over the head's region
   only and is upsampled (``warp_field``). Outside that region the frame is the photo itself, so
   the background cannot move.
3. Eyelids are a separate analytic warp in photo space on the full-resolution grid, because a
   blink folds the image and no smooth spline on a coarse grid can do that; a closed eye shows
   relit lid skin and a lash line, never a torn or smeared eye, and gaze shifts the eye's content
   between the lids (``eyelids``).
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
from . import warp_field
from .eyelids import Eyelids

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
# Thin-plate smoothing (in face-width units): keeps the solve well conditioned.
_TPS_REG = 1e-2
# Other faces held still (in face widths): a halo point this close to one follows the head less,
# down to not at all on it; a pin this close to the face's own control points is dropped; and the
# warp fades out this close to a pin, so that the spline, which bends through its points, cannot
# swing past them into the still face.
_PIN_REACH = 0.5
_PIN_CLEARANCE = 0.2
_PIN_HOLD = 0.2


class LandmarkWarp(torch.nn.Module):
    """``forward(image u8 [H,W,3], landmarks f32 [468,3], controls f32 [N,10], still f32 [P,2]?)
    -> frames u8 [N,H,W,3]``.

    Controls (columns): yaw, pitch, roll (degrees), eye openness left, right, smile, brow,
    gaze x, gaze y, lean. Landmarks are MediaPipe face-mesh points with x, y in pixels of the
    image (pixel i covers [i, i+1)) and z depth in the same scale, smaller nearer the camera.
    ``still``, optional, are points in the same pixels that must not move: other people's faces.
    """

    control: torch.Tensor
    oval: torch.Tensor
    lips: torch.Tensor
    cheeks: torch.Tensor
    brows: torch.Tensor
    forehead: torch.Tensor

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
        self.pin_reach = _PIN_REACH
        self.pin_clearance = _PIN_CLEARANCE
        self.pin_hold = _PIN_HOLD
        self.eyelids = Eyelids()
        self.register_buffer("control", mr.index(mr.CONTROL))
        self.register_buffer("oval", mr.index(mr.FACE_OVAL))
        self.register_buffer("lips", mr.index(mr.LIPS))
        self.register_buffer("cheeks", mr.index(mr.CHEEKS))
        self.register_buffer("brows", mr.index(mr.BROWS))
        self.register_buffer("forehead", mr.index(mr.FOREHEAD))
        self.mouth_r = mr.MOUTH_RIGHT
        self.mouth_l = mr.MOUTH_LEFT

    # ---------------------------------------------------------------- geometry of the photo's face
    def _frame(self, lm: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, float, float]:
        """Face centre (x, y), eye-line angle, face width and height in pixels."""
        oval = lm[self.oval]
        centre = oval[:, :2].mean(0)
        eye_r = lm[self.eyelids.eye_r_corners][:, :2].mean(0)
        eye_l = lm[self.eyelids.eye_l_corners][:, :2].mean(0)
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

    def _pins(
        self,
        still: torch.Tensor | None,
        controls: torch.Tensor,
        x0: int,
        y0: int,
        x1: int,
        y1: int,
        fw: float,
    ) -> torch.Tensor:
        """The points of ``still`` [P, 2] that hold the warp at zero: those inside the region that
        may change and clear of this face's own control points.

        They mark other people's faces. A point on this face itself (another face overlapping it)
        is dropped: pinned, it would tear the moving face against the still one.
        """
        if still is None:
            return torch.zeros(0, 2, dtype=controls.dtype, device=controls.device)
        pins = still.to(device=controls.device, dtype=controls.dtype)[:, :2]
        inside = (pins[:, 0] >= x0) & (pins[:, 0] <= x1) & (pins[:, 1] >= y0) & (pins[:, 1] <= y1)
        pins = pins[inside]
        if pins.shape[0] == 0:
            return pins
        clear = torch.cdist(pins, controls).min(1).values > self.pin_clearance * fw
        return pins[clear]

    def forward(
        self,
        image: torch.Tensor,
        landmarks: torch.Tensor,
        controls: torch.Tensor,
        still: torch.Tensor | None = None,
    ) -> torch.Tensor:
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
        pins = self._pins(still, src_ctrl[0], x0, y0, x1, y1, fw)

        halo_src = centre + (oval_src - centre) * self.halo_scale
        # The halo (hair, ears) follows the head, less towards the chin so the neck is not dragged,
        # and not at all where it reaches onto someone else's face.
        c, s = torch.cos(angle), torch.sin(angle)
        down = (-(oval_src[:, 0] - centre[0]) * s + (oval_src[:, 1] - centre[1]) * c) / (0.5 * fh)
        follow = 1.0 - 0.6 * down.clamp(0.0, 1.0)
        if pins.shape[0] > 0:
            near = torch.cdist(halo_src, pins).min(1).values
            follow = follow * (near / (self.pin_reach * fw)).clamp(0.0, 1.0)
        halo_tgt = halo_src + follow.view(1, -1, 1) * (rigid[:, self.oval] - oval_src)
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
        fixed = torch.cat([ring, border, pins], 0).unsqueeze(0).expand(n, -1, -1)
        sources = torch.cat([src_ctrl, halo_src.unsqueeze(0).expand(n, -1, -1), fixed], 1)
        targets = torch.cat([tgt_ctrl, halo_tgt, fixed], 1)

        gw = min(self.grid_max, max(2, (rw + self.grid_step - 1) // self.grid_step))
        gh = min(self.grid_max, max(2, (rh + self.grid_step - 1) // self.grid_step))
        # Coarse nodes sit where bilinear upsampling (align_corners=False) expects them.
        nx = x0 + (torch.arange(gw, dtype=torch.float32, device=dev) + 0.5) * (rw / gw)
        ny = y0 + (torch.arange(gh, dtype=torch.float32, device=dev) + 0.5) * (rh / gh)
        nodes = torch.stack([nx.view(1, -1).expand(gh, -1), ny.view(-1, 1).expand(-1, gw)], -1).reshape(-1, 2)
        # [N, G, 2], pixels
        forward = warp_field.spline_field(sources[0], targets - sources, nodes, fw, self.tps_reg)
        # Taper to exactly zero at the region's edge so it joins the untouched photo seamlessly.
        tx = ((torch.minimum(nx - x0, x1 - nx)) / (0.12 * rw)).clamp(0.0, 1.0)
        ty = ((torch.minimum(ny - y0, y1 - ny)) / (0.12 * rh)).clamp(0.0, 1.0)
        taper = (ty.view(-1, 1) * tx.view(1, -1)).reshape(1, -1, 1)
        if pins.shape[0] > 0:
            # ... and to zero at every pin, smoothly.
            h = (torch.cdist(nodes, pins).min(1).values / (self.pin_hold * fw)).clamp(0.0, 1.0)
            taper = taper * (h * h * (3.0 - 2.0 * h)).view(1, -1, 1)
        node_size = torch.tensor([rw / gw, rh / gh], dtype=torch.float32, device=dev)
        forward = (forward * taper / node_size).view(n, gh, gw, 2).permute(0, 3, 1, 2)
        back = warp_field.invert(forward, 8)
        # Work in the sampling grid's normalised coordinates from here on, so the full-resolution
        # grid is touched only twice. Sampling uses the doubled image (see _double) with
        # align_corners=True: pixel i's centre (i + 0.5) sits at i * 2 / (size - 1) - 1.
        to_norm = torch.tensor(
            [2.0 / max(width - 1, 1), 2.0 / max(height - 1, 1)], dtype=torch.float32, device=dev
        )
        disp = back * (node_size * to_norm).view(1, 2, 1, 1)
        px = (torch.arange(rw, dtype=torch.float32, device=dev) + x0) * to_norm[0] - 1.0
        py = (torch.arange(rh, dtype=torch.float32, device=dev) + y0) * to_norm[1] - 1.0
        grid = warp_field.upsample(disp, rh, rw, px, py)

        origin = torch.tensor([float(x0), float(y0)], dtype=torch.float32, device=dev)
        grid, shadings = self.eyelids(grid, image, lm, moved, ctl, origin, to_norm)

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
        self.eyelids.shade(region, shadings)
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
