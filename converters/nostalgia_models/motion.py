"""The ``motion`` model: renders a clip from one still image and per-frame motion parameters.

This first version is a smooth zoom-and-pan (a camera move over the photo). It proves the
whole path (gateway -> Triton -> TorchScript -> streamed frames) and fixes the tensor
contract that the landmark-driven face warp keeps: one image in, one frame per parameter
row out, batched over frames inside a single call.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

__all__ = ["ZoomPan", "build"]


class ZoomPan(torch.nn.Module):
    """``forward(image uint8 [H,W,3], params f32 [N,3]) -> frames uint8 [N,H,W,3]``.

    Each params row is (zoom >= 1, pan_x, pan_y), pan in normalised image units [-1, 1].
    A pure affine backward warp, so every frame is one ``grid_sample`` over the batch.
    """

    def forward(self, image: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        height, width = image.shape[0], image.shape[1]
        n = params.shape[0]
        src = image.permute(2, 0, 1).unsqueeze(0).to(torch.float32)
        zoom = params[:, 0].clamp(min=1.0)
        theta = torch.zeros(n, 2, 3, dtype=torch.float32)
        theta[:, 0, 0] = 1.0 / zoom
        theta[:, 1, 1] = 1.0 / zoom
        # Keep the zoomed window inside the photo so no border is ever pulled in.
        slack = 1.0 - 1.0 / zoom
        theta[:, 0, 2] = params[:, 1].clamp(-1.0, 1.0) * slack
        theta[:, 1, 2] = params[:, 2].clamp(-1.0, 1.0) * slack
        grid = F.affine_grid(theta, [n, 3, height, width], align_corners=False)
        out = F.grid_sample(
            src.expand(n, -1, -1, -1), grid, mode="bilinear", padding_mode="border", align_corners=False
        )
        return out.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous()


def build(repository: Path) -> list[Path]:
    """Script the model and write ``motion/1/motion.pt``."""
    target = repository / "motion" / "1" / "motion.pt"
    target.parent.mkdir(parents=True, exist_ok=True)
    scripted = torch.jit.script(ZoomPan().eval())
    scripted.save(str(target))
    return [target]
