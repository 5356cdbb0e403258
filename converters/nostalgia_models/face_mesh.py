"""The ``face_landmarks`` model: MediaPipe's 468-point face mesh on a 192x192 face crop."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from .graph_module import GraphNet, build_graph_net
from .sources import MEDIAPIPE
from .tflite_graph import read_graph
from .wheels import member_bytes

__all__ = ["INPUT_SIZE", "MEMBER", "NUM_LANDMARKS", "FaceMesh", "build", "load"]

MEMBER = "mediapipe/modules/face_landmark/face_landmark.tflite"
INPUT_SIZE = 192
NUM_LANDMARKS = 468


class FaceMesh(nn.Module):
    """``forward(image uint8 [B,192,192,3] RGB) -> (landmarks f32 [B,468,3], score f32 [B,1])``.

    Landmarks are x, y in crop pixels and a relative depth z on the same scale; the score is
    the probability that the crop holds a face (sigmoid of the presence logit).
    """

    def __init__(self, net: GraphNet) -> None:
        super().__init__()
        self.net = net

    @torch.jit.export
    def raw(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The network alone on an already normalised NHWC float input: [landmarks, presence logit]."""
        outputs: list[torch.Tensor] = self.net(x)
        return outputs

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # The model's metadata declares its input range as [0, 1] (mean 0, std 255).
        x = image.to(torch.float32) / 255.0
        landmarks, presence = self.net(x)
        batch = image.shape[0]
        return landmarks.reshape(batch, -1, 3), torch.sigmoid(presence.reshape(batch, 1))


def load(data: bytes | None = None) -> FaceMesh:
    """The eager module with weights from the pinned wheel (or from ``data``, a .tflite file)."""
    tflite_bytes = data if data is not None else member_bytes(MEDIAPIPE, MEMBER)
    return FaceMesh(build_graph_net(read_graph(tflite_bytes))).eval()


def build(repository: Path) -> list[Path]:
    """Script the face mesh and write ``face_landmarks/1/face_landmarks.pt``."""
    target = repository / "face_landmarks" / "1" / "face_landmarks.pt"
    target.parent.mkdir(parents=True, exist_ok=True)
    torch.jit.save(torch.jit.script(load()), str(target))
    return [target]
