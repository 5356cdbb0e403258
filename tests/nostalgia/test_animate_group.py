"""Animate on a group photo over real gRPC: the chosen face moves and the faces beside it stay still."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from nostalgia.faces import AlignmentLayout, align_eyes
from nostalgia.motion.framing import FACE_OUTLINE
from nostalgia.v1 import nostalgia_pb2 as pb
from nostalgia.v1 import nostalgia_pb2_grpc as pb_grpc

# Two couples: in the first the young man (face 0) leans his head towards the young woman's (1);
# in the second, a cracked print, the two stand cheek to cheek, close enough that each one's face
# crop holds a good part of the other's face.
COUPLE = "deoldify_40sCouple.jpg"
CHEEK_TO_CHEEK = "bopbtl_old_w_scratch_d.png"


def _inside(points: np.ndarray, spread: float, size: tuple[int, int]) -> np.ndarray:
    """Mask of the face outline ``points`` [18, 2] scaled by ``spread`` about its centre."""
    centre = points.mean(axis=0)
    mask = np.zeros((size[1], size[0]), np.uint8)
    cv2.fillPoly(mask, [np.round(centre + (points - centre) * spread).astype(np.int32)], 1)
    return mask.astype(bool)


def _frames(
    stub: pb_grpc.NostalgiaStub, request: pb.AnimateRequest
) -> tuple[pb.AnimateMetadata, list[np.ndarray]]:
    responses = list(stub.Animate(request, timeout=120))
    frames = [
        cv2.imdecode(np.frombuffer(r.frame.data, np.uint8), cv2.IMREAD_COLOR)
        for r in responses
        if r.HasField("frame")
    ]
    return responses[0].metadata, frames


@pytest.mark.parametrize(
    ("photo", "framing"),
    [(COUPLE, pb.FRAMING_PHOTO), (CHEEK_TO_CHEEK, pb.FRAMING_PHOTO), (CHEEK_TO_CHEEK, pb.FRAMING_FACE)],
)
@pytest.mark.parametrize("face_index", [0, 1])
def test_the_face_beside_the_animated_one_stays_still(
    stub: pb_grpc.NostalgiaStub, portraits_dir: Path, photo: str, framing: pb.Framing, face_index: int
) -> None:
    data = (portraits_dir / photo).read_bytes()
    found = stub.DetectFaces(pb.DetectFacesRequest(image=data), timeout=60)
    faces = found.faces
    assert len(faces) == 2
    request = pb.AnimateRequest(
        image=data,
        driver="look-around",
        duration_s=2.0,
        fps=10,
        output_size=512,
        face_index=face_index,
        framing=framing,
        format=pb.OUTPUT_FORMAT_PNG,
        enhance=pb.ENHANCE_MODE_OFF,
        seed=4,
    )
    meta, frames = _frames(stub, request)
    assert meta.face_index == face_index and len(frames) == 20
    chosen, other = faces[face_index], faces[1 - face_index]
    if framing == pb.FRAMING_PHOTO:
        scale = meta.width / found.width

        def to_output(points: np.ndarray) -> np.ndarray:
            return points * scale
    else:
        # The aligned crop puts the chosen face's eyes where the layout says; the face beside it
        # is partly in the crop.
        right, left = (np.array([p.x, p.y]) for p in chosen.keypoints[:2])
        to_output = align_eyes(right, left, AlignmentLayout(size=meta.width)).to_crop
    size = (meta.width, meta.height)

    def outline(face: pb.Face) -> np.ndarray:
        mesh = np.array([[p.x, p.y] for p in face.landmarks])
        return to_output(mesh[list(FACE_OUTLINE)])

    # The other face, away from where it touches the chosen head (whose hair and cheeks move).
    still = _inside(outline(other), 0.85, size) & ~_inside(outline(chosen), 1.3, size)
    moving = _inside(outline(chosen), 0.85, size)
    assert still.sum() > 30 * 30
    first = frames[0].astype(int)
    changes = [np.abs(f.astype(int) - first).max(axis=2) for f in frames]
    # Where the two faces touch, the still face gives way to the moving head over a few pixels;
    # everywhere else it is the photo to within the sampler's rounding. Not held, the second
    # couple's young man changes by 4.7-8.2 levels on average while the young woman beside him moves.
    still_p99 = max(float(np.percentile(c[still], 99)) for c in changes)
    still_mean = max(float(c[still].mean()) for c in changes)
    moving_mean = max(float(c[moving].mean()) for c in changes)
    print(
        f"{photo} face {face_index}: other p99 {still_p99:.0f}, mean {still_mean:.2f}; this {moving_mean:.1f}"
    )
    assert moving_mean > 3.0, "the chosen face should look around"
    assert still_p99 <= 10 and still_mean <= 1.0, "the face beside it should not move with it"
