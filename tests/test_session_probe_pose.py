"""A full probe pose (tracker, replay) given to the session."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scenes import Scene, load_scene
from scenes.skin import skin_surface
from simulator.app.scan_session import ScanSession, _handle_of
from simulator.probe import probe_pose
from simulator.skin import SkinSurface


@pytest.mark.parametrize(
    "pose_args", [(10.0, -3.0, 30.0, 12.0, -20.0), (0.0, 0.0, -170.0, 40.0, 40.0), (5, 5, 90, 0, 0)]
)
def test_handle_of_a_pose_on_flat_skin_is_exact(pose_args) -> None:
    x, y, yaw, tilt, rock = pose_args
    pose = probe_pose((x, y, 0.0), yaw, tilt, rock)
    handle = _handle_of(pose, SkinSurface.flat())
    assert (handle.x_mm, handle.y_mm) == pytest.approx((x, y))
    assert (handle.yaw_deg, handle.tilt_deg, handle.rock_deg) == pytest.approx((yaw, tilt, rock))
    np.testing.assert_allclose(handle.probe2world(SkinSurface.flat()), pose, atol=1e-12)


@pytest.fixture(scope="module")
def scene(scene_cache: Path) -> Scene:
    return load_scene("knee_suprapatellar_recess", cache_dir=scene_cache)


def test_session_images_from_the_given_pose_and_keys_continue_from_it(scene: Scene) -> None:
    skin = skin_surface(scene)
    s = ScanSession(scene, skin, n_threads=1)
    start = s.probe2world()
    lifted = start.copy()
    lifted[:3, 3] += (3.0, -2.0, -1.5)  # a tracked probe need not sit on the skin
    s.set_probe_pose(lifted)
    np.testing.assert_array_equal(s.probe2world(), lifted)
    np.testing.assert_array_equal(s.frame_request().probe2world, lifted)
    # the handle followed: a keyboard slide starts from there, back on the skin
    s.slide_mm(1.0, 0.0)
    moved = s.probe2world()
    assert moved[0, 3] - lifted[0, 3] == pytest.approx(1.0, abs=0.05)
    assert moved[2, 3] == pytest.approx(skin.height_mm(moved[0, 3], moved[1, 3]))
    s.set_probe_pose(lifted)
    s.reset_probe()
    np.testing.assert_array_equal(s.probe2world(), start)
    s.close()


def test_session_refuses_a_pose_that_is_not_rigid(scene: Scene) -> None:
    s = ScanSession(scene, skin_surface(scene), n_threads=1)
    bad = np.eye(4)
    bad[0, 0] = 2.0
    with pytest.raises(ValueError, match="probe2world: the rotation is not orthonormal"):
        s.set_probe_pose(bad)
    with pytest.raises(ValueError, match="finite 4x4"):
        s.set_probe_pose(np.full((4, 4), np.nan))
    with pytest.raises(ValueError, match="finite 4x4"):
        s.set_probe_pose(np.eye(3))
    s.close()
