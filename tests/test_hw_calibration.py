"""Pivot calibration, paired-point registration, probe face offset (hardware/calibration.py)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from hardware.calibration import (
    CalibrationError,
    check_rigid,
    needle_tip2tool,
    paired_point_registration,
    pivot_calibration,
    points_in_tool,
    probe_face_from_points,
    probe_face_offset,
)


def _pivot_poses(tip, pivot, n, noise_mm, rng, max_tilt_deg=35.0):
    poses = np.zeros((n, 4, 4))
    for i in range(n):
        axis = rng.normal(size=3)
        rot = Rotation.from_rotvec(
            axis / np.linalg.norm(axis) * np.radians(rng.uniform(0, max_tilt_deg))
        ).as_matrix()
        poses[i] = np.eye(4)
        poses[i, :3, :3] = rot
        poses[i, :3, 3] = pivot - rot @ tip + rng.normal(scale=noise_mm, size=3)
    return poses


def test_pivot_recovers_tip_exactly_without_noise():
    rng = np.random.default_rng(1)
    tip, pivot = np.array([1.5, -2.0, -160.0]), np.array([10.0, 20.0, -300.0])
    result = pivot_calibration(_pivot_poses(tip, pivot, 30, 0.0, rng))
    np.testing.assert_allclose(result.tip_in_tool_mm, tip, atol=1e-9)
    np.testing.assert_allclose(result.pivot_in_tracker_mm, pivot, atol=1e-9)
    assert result.rms_residual_mm < 1e-9
    assert result.n_poses == 30


def test_pivot_with_noise_reports_residual_near_noise():
    rng = np.random.default_rng(2)
    tip, pivot = np.array([0.0, 3.0, -150.0]), np.array([-50.0, 0.0, -250.0])
    noise = 0.2
    result = pivot_calibration(_pivot_poses(tip, pivot, 200, noise, rng))
    assert np.linalg.norm(result.tip_in_tool_mm - tip) < 0.5
    assert np.linalg.norm(result.pivot_in_tracker_mm - pivot) < 0.5
    # per-pose 3D noise has RMS noise*sqrt(3); the fit absorbs a little of it
    assert noise * 1.2 < result.rms_residual_mm < noise * np.sqrt(3) * 1.1


def test_pivot_rejects_too_few_or_unrotated_poses():
    rng = np.random.default_rng(3)
    tip, pivot = np.array([0.0, 0.0, -100.0]), np.zeros(3)
    with pytest.raises(CalibrationError, match="at least 4 poses"):
        pivot_calibration(_pivot_poses(tip, pivot, 3, 0.0, rng))
    with pytest.raises(CalibrationError, match="deg of rotation"):
        pivot_calibration(_pivot_poses(tip, pivot, 20, 0.0, rng, max_tilt_deg=2.0))
    with pytest.raises(CalibrationError, match=r"\(N, 4, 4\)"):
        pivot_calibration(np.zeros((5, 3, 3)))


def _random_transform(rng):
    out = np.eye(4)
    out[:3, :3] = Rotation.random(random_state=rng.integers(1 << 31)).as_matrix()
    out[:3, 3] = rng.uniform(-200, 200, size=3)
    return out


def test_registration_recovers_known_transform_with_noise():
    rng = np.random.default_rng(4)
    truth = _random_transform(rng)
    scene = rng.uniform(-60, 60, size=(12, 3))
    inv = np.linalg.inv(truth)
    tracker = scene @ inv[:3, :3].T + inv[:3, 3]
    noise = 0.1
    tracker_noisy = tracker + rng.normal(scale=noise, size=tracker.shape)
    reg = paired_point_registration(tracker_noisy, scene)
    rel = reg.tracker2world[:3, :3] @ truth[:3, :3].T
    angle_deg = np.degrees(np.arccos(np.clip((np.trace(rel) - 1) / 2, -1, 1)))
    assert angle_deg < 0.1
    # translation error at the landmarks' centroid (what matters in the scene)
    centre = scene.mean(axis=0)
    mapped = reg.tracker2world @ np.append(inv[:3, :3] @ centre + inv[:3, 3], 1)
    assert np.linalg.norm(mapped[:3] - centre) < 0.1
    assert np.isclose(np.linalg.det(reg.tracker2world[:3, :3]), 1.0)
    # FRE ~ noise * sqrt(3) * sqrt((N-2)/N) roughly
    assert 0.5 * noise < reg.fre_mm < 2.0 * noise
    assert reg.per_point_error_mm.shape == (12,)
    assert np.isclose(np.sqrt(np.mean(reg.per_point_error_mm**2)), reg.fre_mm)


def test_registration_exact_and_reflection_guard():
    rng = np.random.default_rng(5)
    truth = _random_transform(rng)
    scene = rng.uniform(-50, 50, size=(4, 3))
    inv = np.linalg.inv(truth)
    tracker = scene @ inv[:3, :3].T + inv[:3, 3]
    reg = paired_point_registration(tracker, scene)
    np.testing.assert_allclose(reg.tracker2world, truth, atol=1e-9)
    assert reg.fre_mm < 1e-9
    # mirrored scene points: the best rigid fit is a proper rotation, never a reflection
    mirrored = scene * np.array([1.0, 1.0, -1.0])
    reg2 = paired_point_registration(tracker, mirrored)
    assert np.linalg.det(reg2.tracker2world[:3, :3]) > 0.99
    assert reg2.fre_mm > 1.0


def test_registration_rejects_collinear_and_mismatched_points():
    line = np.outer(np.arange(5.0), [10.0, 5.0, 0.0])
    with pytest.raises(CalibrationError, match="collinear"):
        paired_point_registration(line, line + 1.0)
    with pytest.raises(CalibrationError, match="at least 3 landmarks"):
        paired_point_registration(np.zeros((2, 3)), np.ones((2, 3)))
    with pytest.raises(CalibrationError, match="4 tracker points but 3 scene points"):
        paired_point_registration(np.eye(4, 3), np.eye(3))


def test_probe_face_from_points_and_stored_offset():
    rng = np.random.default_rng(6)
    face2sensor = _random_transform(rng)
    face2sensor[:3, 3] = [5.0, -3.0, 40.0]  # face in front of the sensor
    if np.dot(face2sensor[:3, 2], face2sensor[:3, 3]) < 0:  # +z away from the sensor
        face2sensor[:3, 1:3] *= -1
    assert np.dot(face2sensor[:3, 2], face2sensor[:3, 3]) > 0

    def on_face(x, y):
        return face2sensor[:3, :3] @ np.array([x, y, 0.0]) + face2sensor[:3, 3]

    sensor2face = probe_face_from_points(
        on_face(19.0, 0.0), on_face(-19.0, 0.0), np.array([on_face(5.0, 4.0), on_face(-8, -4)])
    )
    np.testing.assert_allclose(sensor2face, np.linalg.inv(face2sensor), atol=1e-9)
    same = probe_face_offset(notch_end_mm=on_face(19.0, 0.0), far_end_mm=on_face(-19.0, 0.0))
    # without extra face points the origin and the array axis are still exact
    np.testing.assert_allclose(np.linalg.inv(same)[:3, 3], face2sensor[:3, 3], atol=1e-9)
    np.testing.assert_allclose(np.linalg.inv(same)[:3, 0], face2sensor[:3, 0], atol=1e-9)
    stored = probe_face_offset(sensor2face)
    np.testing.assert_array_equal(stored, sensor2face)
    with pytest.raises(CalibrationError, match="not both"):
        probe_face_offset(sensor2face, notch_end_mm=np.zeros(3), far_end_mm=np.ones(3))
    with pytest.raises(CalibrationError, match="proper rotation"):
        probe_face_offset(np.diag([1.0, 1.0, -1.0, 1.0]))
    with pytest.raises(CalibrationError, match="apart"):
        probe_face_from_points(np.zeros(3), np.full(3, 0.1))


def test_points_in_tool_and_needle_tip2tool():
    rng = np.random.default_rng(7)
    pose = _random_transform(rng)
    local = rng.uniform(-10, 10, size=(5, 3))
    world = local @ pose[:3, :3].T + pose[:3, 3]
    np.testing.assert_allclose(points_in_tool(world, pose), local, atol=1e-9)
    tip = np.array([0.0, 0.0, -150.0])
    t2t = needle_tip2tool(tip)
    check_rigid(t2t, "tip2tool")
    np.testing.assert_allclose(t2t[:3, 3], tip)
    np.testing.assert_allclose(t2t[:3, 2], [0.0, 0.0, 1.0], atol=1e-12)  # tip -> hub = +z
    with pytest.raises(CalibrationError, match="axis_in_tool"):
        needle_tip2tool(np.zeros(3))


def test_profile_round_trip_and_broken_file(tmp_path, monkeypatch):
    import json

    from hardware.profiles import (
        DeviceProfile,
        ProfileError,
        devices_dir,
        list_profiles,
        load_profile,
        save_profile,
    )

    monkeypatch.setenv("INJECTION_SIM_DEVICES", str(tmp_path))
    assert devices_dir() == tmp_path
    reg = np.eye(4)
    reg[:3, 3] = [1.0, 2.0, 3.0]
    profile = DeviceProfile(
        name="aurora-lab",
        protocol="ndi",
        url="/dev/ttyUSB0",
        tools={"0A": "probe", "0B": "needle"},
        needle_tip_in_tool_mm=np.array([0.1, -0.2, -150.0]),
        tracker2world=reg,
        pivot_rms_mm=0.21,
        calibrated={"pivot": "2026-11-21"},
    )
    path = save_profile(profile)
    assert path == tmp_path / "aurora-lab.json"
    loaded = load_profile("aurora-lab")
    assert loaded.tools == {"0A": "probe", "0B": "needle"}
    assert loaded.needle_tip_in_tool_mm == [0.1, -0.2, -150.0]
    np.testing.assert_array_equal(loaded.matrix("tracker2world"), reg)
    assert loaded.pivot_rms_mm == 0.21 and loaded.calibrated == {"pivot": "2026-11-21"}
    assert list_profiles() == ["aurora-lab"]

    data = json.loads(path.read_text())
    data["tracker2world"][0][0] = 2.0  # not rigid
    path.write_text(json.dumps(data))
    with pytest.raises(ProfileError, match=r"aurora-lab\.json: field 'tracker2world'"):
        load_profile(path)
    data["tracker2world"] = None
    data["baudrate"] = "fast"
    path.write_text(json.dumps(data))
    with pytest.raises(ProfileError, match=r"aurora-lab\.json: field 'baudrate': expected a posi"):
        load_profile("aurora-lab")
    path.write_text("{not json")
    with pytest.raises(ProfileError, match=r"aurora-lab\.json: not valid JSON \(line 1"):
        load_profile("aurora-lab")
    with pytest.raises(ProfileError, match="no such device profile"):
        load_profile("nothing-here")
