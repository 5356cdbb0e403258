"""The ``face_detector`` model: MediaPipe's short-range BlazeFace with its decoding built in.

The network alone emits 896 raw anchor regressions; everything MediaPipe's graph does after
it (SSD anchors, box/keypoint decoding, sigmoid scores, weighted non-maximum suppression)
is rebuilt here in TorchScript, so Triton returns finished detections and the gateway only
has to merge tiles. The output has a fixed number of rows per tile so it batches.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from .graph_module import GraphNet, build_graph_net
from .sources import MEDIAPIPE
from .tflite_graph import read_graph
from .wheels import member_bytes

__all__ = ["INPUT_SIZE", "MAX_DETECTIONS", "MEMBER", "FaceDetector", "build", "load", "ssd_anchors"]

MEMBER = "mediapipe/modules/face_detection/face_detection_short_range.tflite"
INPUT_SIZE = 128
MAX_DETECTIONS = 32
# From MediaPipe's face_detection_short_range graph: SSD anchor layout and post-processing.
_STRIDES = (8, 16, 16, 16)
_MIN_SCORE = 0.35  # the gateway applies its own, stricter threshold on top
_NMS_IOU = 0.3


def ssd_anchors(size: int = INPUT_SIZE) -> torch.Tensor:
    """Anchor centres [896, 2] as (x, y) in [0, 1], in the order the regressors are laid out.

    Layers sharing a stride share one feature map; each layer adds two unit-size anchors per
    cell (aspect ratio 1 plus the interpolated scale), which is what the fixed-size option
    reduces the SSD scheme to.
    """
    centres: list[torch.Tensor] = []
    layer = 0
    while layer < len(_STRIDES):
        stride = _STRIDES[layer]
        per_cell = 0
        while layer < len(_STRIDES) and _STRIDES[layer] == stride:
            per_cell += 2
            layer += 1
        cells = (size + stride - 1) // stride
        coords = (torch.arange(cells, dtype=torch.float32) + 0.5) / cells
        yy, xx = torch.meshgrid(coords, coords, indexing="ij")
        grid = torch.stack([xx, yy], dim=-1).reshape(-1, 1, 2).expand(-1, per_cell, -1)
        centres.append(grid.reshape(-1, 2))
    return torch.cat(centres)


class FaceDetector(nn.Module):
    """``forward(image uint8 [B,128,128,3] RGB) -> detections f32 [B, M, 17]``.

    Each row: score, ymin, xmin, ymax, xmax, then six key points as x, y (right eye, left eye,
    nose tip, mouth centre, right ear tragion, left ear tragion), all normalised to the tile.
    Rows with score 0 are padding.
    """

    def __init__(self, net: GraphNet, max_detections: int = MAX_DETECTIONS) -> None:
        super().__init__()
        self.net = net
        # A frozen parameter rather than a buffer only so that static typing sees a tensor.
        self.anchors = nn.Parameter(ssd_anchors(), requires_grad=False)
        self.max_detections = max_detections
        self.min_score = _MIN_SCORE
        self.nms_iou = _NMS_IOU
        self.input_size = float(INPUT_SIZE)

    @torch.jit.export
    def raw(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The network alone on an already normalised NHWC float input: [regressors, classificators]."""
        outputs: list[torch.Tensor] = self.net(x)
        return outputs

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        # The model's metadata declares its input range as [-1, 1] (mean 127.5, std 127.5).
        x = image.to(torch.float32) / 127.5 - 1.0
        regressors, classificators = self.net(x)
        scores = torch.sigmoid(classificators[..., 0].clamp(-100.0, 100.0))
        decoded = self._decode(regressors)
        batch = image.shape[0]
        out = torch.zeros(batch, self.max_detections, 17, dtype=torch.float32, device=image.device)
        for b in range(batch):
            out[b] = self._weighted_nms(decoded[b], scores[b])
        return out

    def _decode(self, raw: torch.Tensor) -> torch.Tensor:
        """Raw [B,896,16] -> [B,896,16] as (ymin, xmin, ymax, xmax, kp x/y * 6), tile-normalised."""
        scaled = raw / self.input_size
        ax = self.anchors[:, 0]
        ay = self.anchors[:, 1]
        cx = scaled[..., 0] + ax
        cy = scaled[..., 1] + ay
        half_w = scaled[..., 2] / 2.0
        half_h = scaled[..., 3] / 2.0
        box = torch.stack([cy - half_h, cx - half_w, cy + half_h, cx + half_w], dim=-1)
        kx = scaled[..., 4::2] + ax.unsqueeze(-1)
        ky = scaled[..., 5::2] + ay.unsqueeze(-1)
        keypoints = torch.stack([kx, ky], dim=-1).flatten(-2)
        return torch.cat([box, keypoints], dim=-1)

    def _weighted_nms(self, decoded: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        """MediaPipe's weighted NMS: each kept face is the score-weighted mean of its overlapping cluster."""
        rows = torch.zeros(self.max_detections, 17, dtype=torch.float32, device=decoded.device)
        keep = scores >= self.min_score
        candidates = decoded[keep]
        cand_scores = scores[keep]
        order = torch.argsort(cand_scores, descending=True)
        candidates = candidates[order]
        cand_scores = cand_scores[order]
        count = 0
        while candidates.shape[0] > 0 and count < self.max_detections:
            top = candidates[0]
            ymin = torch.maximum(top[0], candidates[:, 0])
            xmin = torch.maximum(top[1], candidates[:, 1])
            ymax = torch.minimum(top[2], candidates[:, 2])
            xmax = torch.minimum(top[3], candidates[:, 3])
            inter = (ymax - ymin).clamp(min=0.0) * (xmax - xmin).clamp(min=0.0)
            area_top = (top[2] - top[0]) * (top[3] - top[1])
            areas = (candidates[:, 2] - candidates[:, 0]) * (candidates[:, 3] - candidates[:, 1])
            iou = inter / (area_top + areas - inter).clamp(min=1e-12)
            cluster = iou > self.nms_iou
            cluster[0] = True
            weights = cand_scores[cluster]
            merged = (candidates[cluster] * weights.unsqueeze(-1)).sum(0) / weights.sum()
            rows[count, 0] = cand_scores[0]
            rows[count, 1:] = merged
            count += 1
            rest = ~cluster
            candidates = candidates[rest]
            cand_scores = cand_scores[rest]
        return rows


def load(data: bytes | None = None) -> FaceDetector:
    """The eager module with weights from the pinned wheel (or from ``data``, a .tflite file)."""
    tflite_bytes = data if data is not None else member_bytes(MEDIAPIPE, MEMBER)
    return FaceDetector(build_graph_net(read_graph(tflite_bytes))).eval()


def build(repository: Path) -> list[Path]:
    """Script the detector and write ``face_detector/1/face_detector.pt``."""
    target = repository / "face_detector" / "1" / "face_detector.pt"
    target.parent.mkdir(parents=True, exist_ok=True)
    torch.jit.save(torch.jit.script(load()), str(target))
    return [target]
