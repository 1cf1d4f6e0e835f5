"""Hand-held probe control on the skin (simulator.probe_control)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simulator.probe import probe_pose
from simulator.probe_control import (
    MAX_ROCK_DEG,
    MAX_TILT_DEG,
    STEPS,
    ProbeHandle,
    Step,
    step_help_lines,
    wrap_deg,
)
from simulator.skin import SkinSurface

ANGLES = [
    (0.0, 0.0, 0.0),
    (30.0, 0.0, 0.0),
    (0.0, 15.0, 0.0),
    (0.0, 0.0, -20.0),
    (-135.0, 12.5, 33.0),
    (180.0, -45.0, 45.0),
    (77.7, -3.3, 8.1),
]


@pytest.mark.parametrize(("yaw", "tilt", "rock"), ANGLES)
def test_flat_skin_gives_probe_pose_exactly(yaw: float, tilt: float, rock: float) -> None:
    handle = ProbeHandle(4.25, -7.5, yaw, tilt, rock)
    pose = handle.probe2world(SkinSurface.flat())
    np.testing.assert_array_equal(pose, probe_pose((4.25, -7.5, 0.0), yaw, tilt, rock))
    assert pose.dtype == np.float64 and pose.shape == (4, 4)


def tilted_plane_skin(slope_deg: float) -> tuple[SkinSurface, np.ndarray]:
    """Skin z = tan(slope) x (rising out of the body towards -x) and its inward normal."""
    k = math.tan(math.radians(slope_deg))
    xs = np.linspace(-40, 40, 9)
    X, Y = np.meshgrid(xs, xs, indexing="ij")
    verts = np.column_stack([X.ravel(), Y.ravel(), (k * X).ravel()])
    idx = np.arange(81).reshape(9, 9)
    a, b, c, d = (
        idx[:-1, :-1].ravel(),
        idx[1:, :-1].ravel(),
        idx[1:, 1:].ravel(),
        idx[:-1, 1:].ravel(),
    )
    faces = np.concatenate([np.column_stack([a, b, c]), np.column_stack([a, c, d])])
    skin = SkinSurface.from_triangles(verts, faces, spacing_mm=0.5)
    normal = np.array([-k, 0.0, 1.0]) / math.hypot(k, 1.0)
    return skin, normal


def beam_angle_deg(pose: np.ndarray, direction: np.ndarray) -> float:
    return math.degrees(math.acos(np.clip(np.dot(pose[:3, 2], direction), -1.0, 1.0)))


@pytest.mark.parametrize("yaw", [0.0, 37.0, 90.0, -150.0])
def test_probe_on_a_tilted_plane_looks_along_the_inward_normal(yaw: float) -> None:
    skin, normal = tilted_plane_skin(20.0)
    k = math.tan(math.radians(20.0))
    for x, y in [(0.0, 0.0), (12.3, -5.0), (-20.0, 17.0)]:
        pose = ProbeHandle(x, y, yaw).probe2world(skin)
        assert beam_angle_deg(pose, normal) < 0.5
        np.testing.assert_allclose(pose[:2, 3], [x, y])
        assert pose[2, 3] == pytest.approx(k * x, abs=0.05)  # face centre on the surface
        R = pose[:3, :3]
        np.testing.assert_allclose(R.T @ R, np.eye(3), atol=1e-12)
        # array axis in the tangent plane, in the vertical plane of the yaw
        assert abs(np.dot(R[:, 0], normal)) < 1e-9
        a = math.radians(yaw)
        assert abs(np.dot(R[:, 0], [-math.sin(a), math.cos(a), 0.0])) < 1e-9


def test_tilt_and_rock_are_relative_to_the_skin() -> None:
    skin, normal = tilted_plane_skin(20.0)
    base = ProbeHandle(5.0, 5.0, 30.0)
    p0 = base.probe2world(skin)
    tilted = base.tilt(10.0).probe2world(skin)
    rocked = base.rock(-15.0).probe2world(skin)
    assert beam_angle_deg(tilted, normal) == pytest.approx(10.0, abs=0.5)
    assert beam_angle_deg(rocked, normal) == pytest.approx(15.0, abs=0.5)
    # tilt turns about the array axis (unchanged), rock about elevation (unchanged)
    np.testing.assert_allclose(tilted[:3, 0], p0[:3, 0], atol=1e-12)
    np.testing.assert_allclose(rocked[:3, 1], p0[:3, 1], atol=1e-12)
    # positive tilt swings the beam towards -y of the probe, as rotation_deg does
    assert np.dot(tilted[:3, 2], p0[:3, 1]) < -0.1


def test_slide_moves_in_the_probe_directions() -> None:
    h = ProbeHandle(1.0, 2.0, 90.0, 10.0, -5.0)
    moved = h.slide(3.0, 0.0)
    assert moved.x_mm == pytest.approx(1.0, abs=1e-12)
    assert moved.y_mm == pytest.approx(5.0)
    assert (moved.yaw_deg, moved.tilt_deg, moved.rock_deg) == (90.0, 10.0, -5.0)
    across = h.slide(0.0, 2.0)
    assert across.x_mm == pytest.approx(-1.0) and across.y_mm == pytest.approx(2.0, abs=1e-12)
    at0 = ProbeHandle(0.0, 0.0, 0.0).slide(1.5, -0.5)
    assert (at0.x_mm, at0.y_mm) == (1.5, -0.5)
    # sliding along the array moves along the pose's +x (flat skin)
    pose = ProbeHandle(0.0, 0.0, 40.0).probe2world(SkinSurface.flat())
    s = ProbeHandle(0.0, 0.0, 40.0).slide(2.0, 0.0)
    np.testing.assert_allclose([s.x_mm, s.y_mm], 2.0 * pose[:2, 0], atol=1e-12)


def test_rotate_wraps_and_tilt_rock_clamp() -> None:
    h = ProbeHandle(yaw_deg=170.0)
    assert h.rotate(20.0).yaw_deg == pytest.approx(-170.0)
    assert h.rotate(10.0).yaw_deg == 180.0
    assert ProbeHandle(yaw_deg=-180.0).yaw_deg == 180.0
    assert ProbeHandle(yaw_deg=540.0).yaw_deg == 180.0
    assert ProbeHandle(yaw_deg=-190.0).yaw_deg == pytest.approx(170.0)
    assert wrap_deg(725.0) == pytest.approx(5.0)
    assert MAX_TILT_DEG == 45.0 and MAX_ROCK_DEG == 45.0
    assert ProbeHandle().tilt(30.0).tilt(30.0).tilt_deg == 45.0
    assert ProbeHandle().tilt(-100.0).tilt_deg == -45.0
    assert ProbeHandle().rock(50.0).rock_deg == 45.0
    assert ProbeHandle().rock(-12.0).rock(-40.0).rock_deg == -45.0
    assert ProbeHandle(tilt_deg=80.0).tilt_deg == 45.0
    # copies: the original is untouched
    h2 = ProbeHandle(1.0, 1.0)
    h2.tilt(5.0)
    assert h2.tilt_deg == 0.0


def test_clamped_keeps_the_face_over_the_scene() -> None:
    lo, hi = (-20.0, -10.0, -1.0), (30.0, 10.0, 40.0)
    assert ProbeHandle(50.0, -30.0).clamped(lo, hi) == ProbeHandle(30.0, -10.0)
    assert ProbeHandle(50.0, -30.0, 20.0).clamped(lo, hi, margin_mm=5.0) == ProbeHandle(
        25.0, -5.0, 20.0
    )
    inside = ProbeHandle(1.0, 2.0, 3.0, 4.0, 5.0)
    assert inside.clamped(lo, hi) is inside
    # a box narrower than twice the margin: its centre
    assert ProbeHandle(9.0, 9.0).clamped((0, 0), (4, 40), margin_mm=3.0) == ProbeHandle(2.0, 9.0)


def test_with_field_and_from_pose() -> None:
    h = ProbeHandle().with_field("x_mm", 3).with_field("yaw_deg", 200.0)
    assert h == ProbeHandle(3.0, 0.0, -160.0)
    assert h.with_field("tilt_deg", 99.0).tilt_deg == 45.0
    with pytest.raises(KeyError, match="x_mm, y_mm, yaw_deg, tilt_deg, rock_deg"):
        h.with_field("depth_mm", 1.0)
    p = ProbeHandle.from_pose((1.0, 2.0, 99.0), 10.0, 5.0, -5.0)
    assert p == ProbeHandle(1.0, 2.0, 10.0, 5.0, -5.0)
    skin = SkinSurface.flat(3.0)
    np.testing.assert_array_equal(p.probe2world(skin)[:3, 3], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="finite"):
        ProbeHandle(float("nan"))


def test_steps() -> None:
    assert STEPS["fine"] == Step(move_mm=0.2, angle_deg=0.5)
    assert STEPS["normal"] == Step(1.0, 2.0)
    assert STEPS["coarse"] == Step(5.0, 10.0)
    assert step_help_lines() == [
        "fine: 0.2 mm, 0.5 deg",
        "normal: 1 mm, 2 deg",
        "coarse: 5 mm, 10 deg",
    ]
