"""The converted face models compute what MediaPipe's TFLite files compute, on real photos."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import pytest
import torch
from ai_edge_litert.interpreter import Interpreter

from bench._portraits import portraits_dir
from nostalgia.faces.landmarks import LEFT_EYE_CONTOUR, RIGHT_EYE_CONTOUR
from nostalgia_models import blazeface, face_mesh
from nostalgia_models.sources import MEDIAPIPE
from nostalgia_models.wheels import member_bytes

Array = npt.NDArray[Any]

# Building uses TorchScript, which this torch release flags as deprecated; serving still needs it.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.*deprecated:DeprecationWarning")

PHOTOS = ["tpsmm_source.png", "deoldify_Chief.jpg", "liveportrait_source_s10.jpg", "deoldify_40sCouple.jpg"]


def _rgb(name: str) -> Array:
    bgr = cv2.imread(str(portraits_dir() / name), cv2.IMREAD_COLOR)
    assert bgr is not None, f"cannot read {name}"
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _square(rgb: Array, size: int) -> Array:
    """The photo padded to a square and resized, as the detector sees a whole photo."""
    h, w = rgb.shape[:2]
    side = max(h, w)
    canvas = np.zeros((side, side, 3), np.uint8)
    canvas[(side - h) // 2 : (side - h) // 2 + h, (side - w) // 2 : (side - w) // 2 + w] = rgb
    return cv2.resize(canvas, (size, size), interpolation=cv2.INTER_AREA)


def _tflite(member: str, x: Array) -> dict[str, Array]:
    interpreter = Interpreter(model_content=member_bytes(MEDIAPIPE, member))
    interpreter.allocate_tensors()
    results: dict[str, list[Array]] = {}
    index = interpreter.get_input_details()[0]["index"]
    for row in x:
        interpreter.set_tensor(index, row[None])
        interpreter.invoke()
        for detail in interpreter.get_output_details():
            results.setdefault(detail["name"], []).append(interpreter.get_tensor(detail["index"])[0])
    return {name: np.stack(rows) for name, rows in results.items()}


def _load(path: Path) -> Any:
    return torch.jit.load(str(path))  # type: ignore[no-untyped-call]


@pytest.fixture(scope="module")
def scripted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Both models built exactly as ``make models`` builds them, then loaded back from disk."""
    root = tmp_path_factory.mktemp("model_repository")
    detector_pt = blazeface.build(root)[0]
    mesh_pt = face_mesh.build(root)[0]
    return {"detector": _load(detector_pt), "mesh": _load(mesh_pt)}


@pytest.fixture(scope="module")
def tiles() -> Array:
    return np.stack([_square(_rgb(name), blazeface.INPUT_SIZE) for name in PHOTOS])


def test_detector_network_matches_tflite(scripted: dict[str, Any], tiles: Array) -> None:
    x = tiles.astype(np.float32) / 127.5 - 1.0
    expected = _tflite(blazeface.MEMBER, x)
    with torch.inference_mode():
        regressors, classificators = scripted["detector"].raw(torch.from_numpy(x))
    reg_diff = np.abs(regressors.numpy() - expected["regressors"]).max()
    cls_diff = np.abs(classificators.numpy() - expected["classificators"]).max()
    print(f"detector max |diff|: regressors {reg_diff:.3g}, classificator logits {cls_diff:.3g}")
    assert reg_diff <= 1e-3
    assert cls_diff <= 1e-3


def test_detector_finds_the_faces(scripted: dict[str, Any], tiles: Array) -> None:
    with torch.inference_mode():
        detections = scripted["detector"](torch.from_numpy(tiles)).numpy()
    assert detections.shape == (len(PHOTOS), blazeface.MAX_DETECTIONS, 17)
    confident = detections[..., 0] >= 0.5
    assert confident[:3].sum(axis=1).tolist() == [1, 1, 1], "one face in each single portrait"
    assert confident[3].sum() == 2, "two faces in the couple"
    for row in detections[confident]:
        _, ymin, xmin, ymax, xmax = row[:5]
        assert 0.0 <= xmin < xmax <= 1.0 and 0.0 <= ymin < ymax <= 1.0
        eyes_and_nose = row[5:11].reshape(3, 2)
        assert ((eyes_and_nose[:, 0] > xmin) & (eyes_and_nose[:, 0] < xmax)).all()
        assert ((eyes_and_nose[:, 1] > ymin) & (eyes_and_nose[:, 1] < ymax)).all()
    # Padding rows are all zero, so the fixed-size output needs no extra count.
    assert not detections[~confident & (detections[..., 0] == 0)].any()


def _face_crops(scripted: dict[str, Any], tiles: Array) -> Array:
    """192 px crops around each photo's most confident face, found by the converted detector."""
    with torch.inference_mode():
        detections = scripted["detector"](torch.from_numpy(tiles)).numpy()
    crops = []
    for name, best in zip(PHOTOS, detections[:, 0], strict=True):
        rgb = _rgb(name)
        h, w = rgb.shape[:2]
        side = max(h, w)
        _, ymin, xmin, ymax, xmax = best[:5] * side
        cx = (xmin + xmax) / 2 - (side - w) / 2
        cy = (ymin + ymax) / 2 - (side - h) / 2
        half = 0.75 * max(xmax - xmin, ymax - ymin)
        scale = face_mesh.INPUT_SIZE / (2 * half)
        matrix = np.array([[scale, 0, half * scale - cx * scale], [0, scale, half * scale - cy * scale]])
        size = face_mesh.INPUT_SIZE
        crops.append(cv2.warpAffine(rgb, matrix, (size, size), flags=cv2.INTER_LINEAR))
    return np.stack(crops)


def test_face_mesh_matches_tflite(scripted: dict[str, Any], tiles: Array) -> None:
    crops = _face_crops(scripted, tiles)
    x = crops.astype(np.float32) / 255.0
    expected = _tflite(face_mesh.MEMBER, x)
    with torch.inference_mode():
        landmarks, score = scripted["mesh"](torch.from_numpy(crops))
    want_landmarks = expected["conv2d_21"].reshape(len(crops), face_mesh.NUM_LANDMARKS, 3)
    want_score = 1.0 / (1.0 + np.exp(-expected["conv2d_31"].reshape(len(crops), 1)))
    lm_diff = np.abs(landmarks.numpy() - want_landmarks).max() / face_mesh.INPUT_SIZE
    score_diff = np.abs(score.numpy() - want_score).max()
    print(f"face mesh max |diff|: landmarks/192 {lm_diff:.3g}, presence {score_diff:.3g}")
    assert landmarks.shape == (len(crops), face_mesh.NUM_LANDMARKS, 3)
    assert lm_diff <= 1e-3
    assert score_diff <= 1e-3
    # Real faces, so the mesh is confident and lies inside the crop.
    assert (score.numpy() > 0.9).all()
    assert (landmarks[..., :2] > 0).all() and (landmarks[..., :2] < face_mesh.INPUT_SIZE).all()


def test_mirrored_crop_gives_the_mirrored_eye_contours(scripted: dict[str, Any], tiles: Array) -> None:
    """The service averages each eye's contour with the mirrored crop's mesh of the other eye.

    That needs the two contour lists to name mirror-image points pair by pair, and the mesh's x to
    run over the crop's full width (a pixel spans [u, u + 1]), so that x reflects to 192 - x.
    """
    crops = _face_crops(scripted, tiles)
    with torch.inference_mode():
        plain, _ = scripted["mesh"](torch.from_numpy(crops))
        flipped, _ = scripted["mesh"](torch.from_numpy(np.ascontiguousarray(crops[:, :, ::-1])))
    eyes = [*RIGHT_EYE_CONTOUR, *LEFT_EYE_CONTOUR]
    wanted = plain.numpy()[:, eyes, :2]

    def gap(pairing: list[int], width: float) -> float:
        back = flipped.numpy()[:, pairing, :2].copy()
        back[..., 0] = width - back[..., 0]
        return float(np.linalg.norm(wanted - back, axis=2).mean())

    mirrored = [*LEFT_EYE_CONTOUR, *RIGHT_EYE_CONTOUR]
    # Each point paired with its neighbour along the contour instead.
    shifted = [*np.roll(LEFT_EYE_CONTOUR, 1).tolist(), *np.roll(RIGHT_EYE_CONTOUR, 1).tolist()]
    size = face_mesh.INPUT_SIZE
    print(
        f"eye contour vs mirrored crop's, mean px: {gap(mirrored, size):.2f} "
        f"(over {size - 1}: {gap(mirrored, size - 1):.2f}, neighbours paired: {gap(shifted, size):.2f})"
    )
    assert gap(mirrored, size) < 2.5
    assert gap(mirrored, size) < 0.6 * gap(shifted, size)
    assert gap(mirrored, size) < gap(mirrored, size - 1)


def test_anchor_layout_matches_the_output_rows() -> None:
    anchors = blazeface.ssd_anchors()
    assert anchors.shape == (896, 2)
    # 16x16 cells x 2 anchors, then 8x8 cells x 6 anchors; row-major, anchors innermost.
    assert torch.allclose(anchors[0], torch.tensor([0.5 / 16, 0.5 / 16]))
    assert torch.allclose(anchors[2], torch.tensor([1.5 / 16, 0.5 / 16]))
    assert torch.allclose(anchors[512], torch.tensor([0.5 / 8, 0.5 / 8]))
    assert torch.allclose(anchors[518], torch.tensor([1.5 / 8, 0.5 / 8]))
