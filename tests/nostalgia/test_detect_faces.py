"""DetectFaces over real gRPC on the test photos, checked against dlib's independent face models."""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path
from typing import Any

import dlib
import grpc
import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from nostalgia.v1 import nostalgia_pb2 as pb
from nostalgia.v1 import nostalgia_pb2_grpc as pb_grpc

Array = npt.NDArray[Any]
SINGLE = ("old_photo", "painting", "modern_portrait")
VARIANT_SOURCE = "deoldify_Dolores1920s.jpg"


def _dlib_shape_predictor() -> Any:
    # Located without importing face_recognition_models, whose __init__ needs pkg_resources.
    spec = importlib.util.find_spec("face_recognition_models")
    assert spec is not None and spec.submodule_search_locations
    models = Path(next(iter(spec.submodule_search_locations))) / "models"
    path = models / "shape_predictor_68_face_landmarks.dat"
    return dlib.shape_predictor(str(path))


@pytest.fixture(scope="module")
def dlib_models() -> tuple[Any, Any]:
    return dlib.get_frontal_face_detector(), _dlib_shape_predictor()


@pytest.fixture(scope="module")
def photos(manifest: list[dict[str, str]]) -> list[dict[str, str]]:
    return [row for row in manifest if row["kind"] != "video"]


@pytest.fixture(scope="module")
def responses(
    stub: pb_grpc.NostalgiaStub, portraits_dir: Path, photos: list[dict[str, str]]
) -> dict[str, pb.DetectFacesResponse]:
    found = {}
    for row in photos:
        request = pb.DetectFacesRequest(image=(portraits_dir / row["file"]).read_bytes())
        found[row["file"]] = stub.DetectFaces(request, timeout=120)
    return found


def _rgb(path: Path) -> Array:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def _dlib_main_face(image: Array, models: tuple[Any, Any]) -> tuple[Any, Array] | None:
    """dlib's largest face and its 68 points, or None when its HOG detector finds nothing."""
    detector, predictor = models
    rects = detector(image, 1)
    if not len(rects):
        return None
    rect = max(rects, key=lambda r: r.area())
    shape = predictor(image, rect)
    return rect, np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float64)


def test_every_photo_kind_gets_the_right_number_of_faces(
    responses: dict[str, pb.DetectFacesResponse], photos: list[dict[str, str]]
) -> None:
    lines, wrong = [], []
    for row in photos:
        count = len(responses[row["file"]].faces)
        lines.append(f"{row['kind']:16s} {row['file']:36s} faces={count}")
        expected = {"group": count >= 2, "no_face": count == 0}.get(row["kind"], count == 1)
        if not expected:
            wrong.append(f"{row['file']} ({row['kind']}): {count} faces")
    print("\n".join(lines))
    assert not wrong, wrong
    for name, response in responses.items():
        areas = [(f.box.x_max - f.box.x_min) * (f.box.y_max - f.box.y_min) for f in response.faces]
        assert areas == sorted(areas, reverse=True), f"{name}: not largest first"
        for face in response.faces:
            assert 0 <= face.box.x_min < face.box.x_max <= response.width, name
            assert 0 <= face.box.y_min < face.box.y_max <= response.height, name


def test_the_face_found_is_the_photos_main_face(
    responses: dict[str, pb.DetectFacesResponse],
    photos: list[dict[str, str]],
    portraits_dir: Path,
    dlib_models: tuple[Any, Any],
) -> None:
    checked = 0
    for row in photos:
        if row["kind"] not in SINGLE:
            continue
        found = _dlib_main_face(_rgb(portraits_dir / row["file"]), dlib_models)
        if found is None:
            continue
        rect, _ = found
        box = responses[row["file"]].faces[0].box
        cx, cy = (box.x_min + box.x_max) / 2, (box.y_min + box.y_max) / 2
        dx, dy = (rect.left() + rect.right()) / 2, (rect.top() + rect.bottom()) / 2
        assert abs(cx - dx) < 0.35 * rect.width() and abs(cy - dy) < 0.35 * rect.height(), row["file"]
        checked += 1
    assert checked >= 12, "dlib should find the face in most single portraits"


def _dlib_eye_centres(image: Array, models: tuple[Any, Any]) -> tuple[Array, Array] | None:
    """dlib's right and left eye centres (the subject's): means of its six points per eye."""
    found = _dlib_main_face(image, models)
    if found is None:
        return None
    _, points = found
    return points[36:42].mean(axis=0), points[42:48].mean(axis=0)


def _dlib_mirrored_eye_centres(image: Array, models: tuple[Any, Any]) -> tuple[Array, Array] | None:
    """dlib's eye centres read on the mirror image and mapped back: how steady dlib itself is."""
    found = _dlib_main_face(np.ascontiguousarray(image[:, ::-1]), models)
    if found is None:
        return None
    _, points = found
    points[:, 0] = image.shape[1] - 1 - points[:, 0]
    # The mirror image's right eye is the photo's left eye.
    return points[42:48].mean(axis=0), points[36:42].mean(axis=0)


def test_eye_centres_agree_with_dlib(
    responses: dict[str, pb.DetectFacesResponse],
    photos: list[dict[str, str]],
    portraits_dir: Path,
    dlib_models: tuple[Any, Any],
) -> None:
    errors: dict[str, float] = {}
    spreads: dict[str, float] = {}
    for row in photos:
        if row["kind"] not in SINGLE:
            continue
        image = _rgb(portraits_dir / row["file"])
        found = _dlib_eye_centres(image, dlib_models)
        if found is None:
            continue
        dlib_right, dlib_left = found
        iod = float(np.linalg.norm(dlib_left - dlib_right))
        face = responses[row["file"]].faces[0]
        ours_right = np.array([face.keypoints[0].x, face.keypoints[0].y])
        ours_left = np.array([face.keypoints[1].x, face.keypoints[1].y])
        errors[row["file"]] = (
            max(float(np.linalg.norm(ours_right - dlib_right)), float(np.linalg.norm(ours_left - dlib_left)))
            / iod
        )
        mirrored = _dlib_mirrored_eye_centres(image, dlib_models)
        if mirrored is not None:
            spreads[row["file"]] = (
                max(
                    float(np.linalg.norm(mirrored[0] - dlib_right)),
                    float(np.linalg.norm(mirrored[1] - dlib_left)),
                )
                / iod
            )
    for name, error in sorted(errors.items(), key=lambda item: item[1]):
        spread = f"{spreads[name]:.3f}" if name in spreads else "-"
        print(f"eye centre vs dlib: {name:36s} {error:.3f} IOD (dlib on the mirror image moves {spread})")
    values = np.array(list(errors.values()))
    within = int((values <= 0.05).sum())
    print(f"median {np.median(values):.3f}, max {values.max():.3f}, within 5%: {within}/{len(values)}")
    # dlib's own reading moves by a few percent of the eye distance between a photo and its
    # mirror image, so 5% is about as close as two models get, and nearly every photo is that close. Two are
    # not, for reasons of the models rather than of the pipeline: where an eye squints among
    # deep wrinkles dlib's reading of it can jump by a tenth of the eye distance (it does so
    # between Chief and its mirror image), and on a head turned three quarters (the Girl with a
    # Pearl Earring) the face mesh sets both eye contours low and back, away from the way the
    # face is turned, by 5-7% of the eye distance, as MediaPipe's own runtime does.
    assert (values <= 0.05).mean() >= 0.9
    assert np.median(values) <= 0.03
    assert np.sort(values)[-2] <= 0.08
    assert values.max() <= 0.15


def test_response_carries_mesh_key_points_roll_and_timings(
    responses: dict[str, pb.DetectFacesResponse], portraits_dir: Path
) -> None:
    response = responses[VARIANT_SOURCE]
    with Image.open(portraits_dir / VARIANT_SOURCE) as image:
        width, height = image.size
    assert (response.width, response.height) == (width, height)
    face = response.faces[0]
    assert len(face.landmarks) == 468 and len(face.keypoints) == 5
    assert 0.5 <= face.score <= 1.0 and 0.7 <= face.landmark_score <= 1.0
    mesh = np.array([[p.x, p.y] for p in face.landmarks])
    box = face.box
    margin = 0.3 * (box.x_max - box.x_min)
    assert ((mesh[:, 0] > box.x_min - margin) & (mesh[:, 0] < box.x_max + margin)).all()
    assert ((mesh[:, 1] > box.y_min - margin) & (mesh[:, 1] < box.y_max + margin)).all()
    right_eye, left_eye, nose, mouth_right, mouth_left = ((p.x, p.y) for p in face.keypoints)
    # The subject's right eye and mouth corner are on the image's left in a frontal portrait.
    assert right_eye[0] < left_eye[0] and mouth_right[0] < mouth_left[0]
    assert max(right_eye[1], left_eye[1]) < nose[1] < min(mouth_right[1], mouth_left[1])
    assert abs(face.roll_deg) < 15
    stages = {s.stage for s in response.stages}
    assert {"decode", "detect", "landmarks"} <= stages


def test_skip_landmarks_keeps_key_points(stub: pb_grpc.NostalgiaStub, portraits_dir: Path) -> None:
    data = (portraits_dir / VARIANT_SOURCE).read_bytes()
    response = stub.DetectFaces(pb.DetectFacesRequest(image=data, skip_landmarks=True), timeout=60)
    assert len(response.faces) == 1
    assert len(response.faces[0].landmarks) == 0 and len(response.faces[0].keypoints) == 5


def _encode(image: Image.Image, fmt: str, **options: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _variants(source: Image.Image) -> dict[str, bytes]:
    rgb = source.convert("RGB")
    grey = rgb.convert("L")
    rgba = rgb.convert("RGBA")
    rgba.putalpha(Image.new("L", rgb.size, 200))
    sixteen = Image.fromarray((np.asarray(grey).astype(np.uint16) * 257).astype(np.uint16))
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated a quarter turn anticlockwise; shown after turning it clockwise
    return {
        "grey": _encode(grey, "PNG"),
        "rgba": _encode(rgba, "PNG"),
        "sixteen_bit": _encode(sixteen, "PNG"),
        "cmyk": _encode(rgb.convert("CMYK"), "JPEG", quality=92),
        "exif_rotated": _encode(rgb.transpose(Image.Transpose.ROTATE_90), "JPEG", quality=92, exif=exif),
    }


def test_grey_rgba_16bit_cmyk_and_exif_rotated_photos(
    stub: pb_grpc.NostalgiaStub, portraits_dir: Path, responses: dict[str, pb.DetectFacesResponse]
) -> None:
    with Image.open(portraits_dir / VARIANT_SOURCE) as image:
        source = image.convert("RGB")
    reference = responses[VARIANT_SOURCE].faces[0]
    ref_eyes = np.array([[p.x, p.y] for p in reference.keypoints[:2]])
    iod = float(np.linalg.norm(ref_eyes[1] - ref_eyes[0]))
    for name, data in _variants(source).items():
        response = stub.DetectFaces(pb.DetectFacesRequest(image=data), timeout=60)
        assert (response.width, response.height) == source.size, name
        assert len(response.faces) == 1, f"{name}: {len(response.faces)} faces"
        eyes = np.array([[p.x, p.y] for p in response.faces[0].keypoints[:2]])
        shift = float(np.abs(eyes - ref_eyes).max())
        assert shift < 0.1 * iod, f"{name}: eyes moved {shift:.1f} px from the original's"


def test_undecodable_image_is_invalid_argument(stub: pb_grpc.NostalgiaStub) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        stub.DetectFaces(pb.DetectFacesRequest(image=b"not a photo"), timeout=30)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_stage_times_for_a_1000_px_photo(stub: pb_grpc.NostalgiaStub, portraits_dir: Path) -> None:
    """Prints detector and landmark time for a ~1000 px photo (figures, not a timed assertion)."""
    with Image.open(portraits_dir / "liveportrait_source_s10.jpg") as image:
        photo = image.convert("RGB")
        photo.thumbnail((1000, 1000))
    data = _encode(photo, "JPEG", quality=92)
    stub.DetectFaces(pb.DetectFacesRequest(image=data), timeout=60)  # warm-up
    response = stub.DetectFaces(pb.DetectFacesRequest(image=data), timeout=60)
    stages = {s.stage: s.seconds for s in response.stages}
    print(
        f"{response.width}x{response.height}: "
        + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in stages.items())
    )
    assert len(response.faces) == 1
