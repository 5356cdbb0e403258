"""The face pipeline's geometry: pyramid coverage, crop transforms, roll sign, eye alignment."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nostalgia.faces import AlignmentLayout, align_eyes, aligned_crop, paste_back, plan_tiles, roll_degrees
from nostalgia.faces.detection import TILE, DetectionConfig, FaceDetection, Tile, merge_detections
from nostalgia.faces.landmarks import CROP, _crop, _to_photo, crop_matrix, mesh_crop_matrix


def _covered(tiles: list[Tile], x0: float, y0: float, side: float, config: DetectionConfig) -> bool:
    """Some tile holds the face whole, at a level where it is at least the detector's target size."""
    for tile in tiles:
        size = side * tile.scale
        if size < config.target_face_px * 0.99:
            continue
        fx, fy = x0 * tile.scale, y0 * tile.scale
        # A face flush with the photo's edge ends exactly on the last tile's edge; allow for rounding.
        eps = 1e-6
        inside_x = tile.x0 - eps <= fx and fx + size <= tile.x0 + TILE + eps
        inside_y = tile.y0 - eps <= fy and fy + size <= tile.y0 + TILE + eps
        if inside_x and inside_y:
            return True
    return False


@settings(max_examples=200, deadline=None)
@given(
    fx=st.floats(0.0, 1.0),
    fy=st.floats(0.0, 1.0),
    side=st.floats(40.0, 1400.0),
)
def test_pyramid_holds_every_face_from_40_px_in_a_2000_px_photo(fx: float, fy: float, side: float) -> None:
    height, width = 1500, 2000
    config = DetectionConfig()
    tiles = plan_tiles(height, width, config)
    x0, y0 = fx * (width - side), fy * (height - min(side, height))
    assert _covered(tiles, x0, y0, min(side, height), config)


def test_tile_budget() -> None:
    assert len(plan_tiles(1500, 2000)) <= DetectionConfig().max_tiles
    assert len(plan_tiles(9000, 12000)) <= DetectionConfig().max_tiles
    assert len(plan_tiles(100, 80)) == 1


def test_roll_sign_is_clockwise_positive() -> None:
    right_eye, left_eye = np.array([100.0, 100.0]), np.array([200.0, 100.0])
    assert roll_degrees(right_eye, left_eye) == pytest.approx(0.0)
    # The subject's left eye (image right) lower: the head tilts clockwise on screen.
    assert roll_degrees(right_eye, np.array([200.0, 150.0])) == pytest.approx(
        math.degrees(math.atan2(50, 100))
    )


@given(angle=st.floats(-80, 80), scale=st.floats(20, 400), cx=st.floats(0, 2000), cy=st.floats(0, 2000))
def test_detection_crop_levels_the_eyes_and_centres_the_box(
    angle: float, scale: float, cx: float, cy: float
) -> None:
    t = math.radians(angle)
    half = scale / 4
    eyes = np.array(
        [
            [cx - half * math.cos(t), cy - half * math.sin(t)],
            [cx + half * math.cos(t), cy + half * math.sin(t)],
        ]
    )
    keypoints = np.vstack([eyes, np.zeros((4, 2))]).astype(np.float32)
    detection = FaceDetection(
        0.9, (cx - scale / 2, cy - scale / 2, cx + scale / 2, cy + scale / 2), keypoints
    )
    matrix = crop_matrix(detection)
    stored = keypoints[:2].astype(np.float64)  # the eyes as the detection holds them
    mapped = stored @ matrix[:, :2].T + matrix[:, 2]
    assert mapped[0, 1] == pytest.approx(mapped[1, 1], abs=1e-4)
    assert mapped[0, 0] < mapped[1, 0]
    centre = np.array([cx, cy]) @ matrix[:, :2].T + matrix[:, 2]
    assert centre == pytest.approx([96.0, 96.0], abs=1e-4)
    # The crop spans 1.5 box sides.
    assert math.hypot(matrix[0, 0], matrix[1, 0]) == pytest.approx(192 / (1.5 * scale))


def test_mesh_crop_frames_the_mesh() -> None:
    rng = np.random.default_rng(1)
    points = rng.uniform(300, 500, size=(468, 3)).astype(np.float32)
    matrix = mesh_crop_matrix(points)
    mapped = points[:, :2] @ matrix[:, :2].T + matrix[:, 2]
    assert mapped.min() >= 0 and mapped.max() <= 192


def _turned_detection(cx: float, cy: float, side: float, angle_deg: float) -> FaceDetection:
    t = math.radians(angle_deg)
    eyes = [
        [cx - side / 4 * math.cos(t), cy - side / 4 * math.sin(t)],
        [cx + side / 4 * math.cos(t), cy + side / 4 * math.sin(t)],
    ]
    keypoints = np.vstack([np.array(eyes), np.zeros((4, 2))]).astype(np.float32)
    return FaceDetection(0.9, (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2), keypoints)


def test_shrunk_crop_is_area_averaged_and_keeps_its_geometry() -> None:
    """A face shrunk ~5x into the crop: a 1 px texture averages out, and nothing moves."""
    size = 1600
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    spot = np.array([905.3, 702.6])
    photo = np.where((xx.astype(int) + yy.astype(int)) % 2 == 0, 40.0, 200.0)
    photo += 50.0 * np.exp(-((xx - spot[0]) ** 2 + (yy - spot[1]) ** 2) / (2 * 30.0**2))
    image = np.repeat(photo.astype(np.uint8)[..., None], 3, axis=2)
    matrix = crop_matrix(_turned_detection(820.0, 760.0, 600.0, 20.0))
    assert math.sqrt(abs(np.linalg.det(matrix[:, :2]))) < 0.25

    crop = _crop(image, matrix)[..., 0].astype(np.float64)
    plain = cv2.warpAffine(image, matrix, (CROP, CROP), flags=cv2.INTER_LINEAR)[..., 0].astype(np.float64)
    u, v = np.meshgrid(np.arange(CROP), np.arange(CROP))
    expected = spot @ matrix[:, :2].T + matrix[:, 2]
    far = np.hypot(u - expected[0], v - expected[1]) > 40
    # Point sampling aliases the texture into a pattern; area averaging leaves its mean grey.
    assert plain[far].std() > 20
    assert crop[far].std() < 2 and abs(crop[far].mean() - 120) < 2
    weight = np.clip(crop - np.median(crop[far]), 0, None) * ~far
    centroid = np.array([(weight * u).sum(), (weight * v).sum()]) / weight.sum()
    assert centroid == pytest.approx(expected, abs=0.2)


def test_shrunk_crop_beyond_the_photo_is_black() -> None:
    image = np.full((300, 400, 3), 200, np.uint8)
    # The crop spans photo x 180..600 and y -60..360: photo at its left, black right and above.
    crop = _crop(image, crop_matrix(_turned_detection(390.0, 150.0, 280.0, 0.0)))
    assert crop[:, -80:].max() == 0 and crop[:20].max() == 0
    assert crop[40:150, :90].min() >= 199
    assert not _crop(image, crop_matrix(_turned_detection(5000.0, 150.0, 280.0, 0.0))).any()


def test_mesh_points_go_back_from_crop_units_to_photo_pixels() -> None:
    """The mesh measures the crop edge to edge (pixel u spans [u, u + 1]), the affine pixel centres."""
    matrix = crop_matrix(_turned_detection(300.0, 200.0, 150.0, 30.0))
    centres = np.array([[10.0, 20.0], [95.5, 95.5], [150.0, 3.0]])
    points = np.hstack([centres + 0.5, np.full((3, 1), 8.0)]).astype(np.float32)
    photo = _to_photo(points, matrix)
    inverse = cv2.invertAffineTransform(matrix)
    assert photo[:, :2] == pytest.approx(centres @ inverse[:, :2].T + inverse[:, 2], abs=1e-3)
    # Depth scales with the crop as x and y do.
    assert photo[:, 2] == pytest.approx(8.0 / math.sqrt(abs(np.linalg.det(matrix[:, :2]))), rel=1e-5)


@given(
    rx=st.floats(0, 1000),
    ry=st.floats(0, 1000),
    dx=st.floats(10, 300),
    dy=st.floats(-100, 100),
    size=st.sampled_from([256, 512, 1024]),
)
def test_alignment_puts_eyes_in_place_and_inverts(
    rx: float, ry: float, dx: float, dy: float, size: int
) -> None:
    layout = AlignmentLayout(size=size)
    right, left = np.array([rx, ry]), np.array([rx + dx, ry + dy])
    alignment = align_eyes(right, left, layout)
    crop_eyes = alignment.to_crop(np.stack([right, left]))
    half = layout.eye_distance * size / 2
    assert crop_eyes[0] == pytest.approx([size / 2 - half, layout.eye_line * size], abs=1e-6)
    assert crop_eyes[1] == pytest.approx([size / 2 + half, layout.eye_line * size], abs=1e-6)
    assert alignment.to_photo(crop_eyes) == pytest.approx(np.stack([right, left]), abs=1e-6)


def test_aligned_crop_and_paste_back_round_trip() -> None:
    ramp = np.linspace(0, 255, 300, dtype=np.float32)[None, :, None]
    photo = np.repeat(np.repeat(ramp, 400, axis=0), 3, axis=2).astype(np.uint8)
    alignment = align_eyes(np.array([120.0, 180.0]), np.array([180.0, 190.0]))
    crop = aligned_crop(photo, alignment)
    assert crop.shape == (512, 512, 3)
    mask = np.zeros((512, 512), np.float32)
    mask[128:384, 128:384] = 1.0
    back = paste_back(photo, crop, alignment, mask)
    # A smooth photo survives the round trip up to interpolation error.
    assert np.abs(back.astype(int) - photo.astype(int)).max() <= 3


def test_merge_keeps_one_box_per_face_largest_first() -> None:
    points = np.zeros((6, 2), np.float32)
    coarse = FaceDetection(0.8, (100, 100, 200, 200), points)
    fine = FaceDetection(0.9, (110, 105, 195, 190), points)
    other = FaceDetection(0.7, (400, 400, 450, 450), points)
    big = FaceDetection(0.6, (500, 0, 800, 300), points)
    merged = merge_detections([coarse, fine, other, big], DetectionConfig())
    assert [d.box for d in merged] == [big.box, fine.box, other.box]
