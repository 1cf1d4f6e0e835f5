"""A tracked probe and needle driving a real ScanSession (knee suprapatellar recess, no Qt).

knee_suprapatellar_recess (scene mm, +z depth): flat skin at z = 0; the
target (suprapatellar recess) at (12, 0, 20), the recess about z 18-21 there;
the femur about 25 mm deep under x = 13.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from hardware.tracker import ToolSample, TrackerSample
from scenes import Scene, load_scene
from scenes.skin import skin_surface
from simulator.app.scan_session import ScanSession
from simulator.app.tracked_driver import TrackedDriver, TrackingCalibration


def _rot(axis: int, deg: float) -> np.ndarray:
    a = math.radians(deg)
    c, s = math.cos(a), math.sin(a)
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    r = np.eye(3)
    r[i, i], r[i, j], r[j, i], r[j, j] = c, -s, s, c
    return r


def _pose(r: np.ndarray, t) -> np.ndarray:
    m = np.eye(4)
    m[:3, :3] = r
    m[:3, 3] = t
    return m


#: A registration and tool calibrations that are far from identity.
TRACKER2WORLD = _pose(_rot(2, 35.0) @ _rot(0, 170.0), (40.0, -25.0, 300.0))
SENSOR2FACE = _pose(_rot(1, 90.0) @ _rot(2, 12.0), (3.0, -60.0, 8.0))
TIP2TOOL = _pose(_rot(0, -90.0) @ _rot(2, 30.0), (0.0, 145.0, -4.0))
CAL = TrackingCalibration(
    tracker2world=TRACKER2WORLD,
    probe_sensor2face=SENSOR2FACE,
    needle_tip2tool=TIP2TOOL,
    inject_rate_ml_s=1.0,
)


def probe_sensor2tracker(probe2world: np.ndarray) -> np.ndarray:
    """What the tracker reports for a probe at ``probe2world``."""
    return np.linalg.inv(TRACKER2WORLD) @ probe2world @ SENSOR2FACE


def needle_sensor2tracker(tip_mm, travel) -> np.ndarray:
    """What the tracker reports for a needle tip at ``tip_mm`` pointing along ``travel``."""
    z = -np.asarray(travel, dtype=float) / np.linalg.norm(travel)
    x = np.cross([0.0, 1.0, 0.0], z)
    x /= np.linalg.norm(x)
    needle2world = _pose(np.column_stack([x, np.cross(z, x), z]), tip_mm)
    return np.linalg.inv(TRACKER2WORLD) @ needle2world @ np.linalg.inv(TIP2TOOL)


class Clock:
    """A settable session clock, s."""

    def __init__(self) -> None:
        self.t_s = 0.0

    def __call__(self) -> float:
        return self.t_s


def sample(t_s: float, missing=(), stale=False, **tools) -> TrackerSample:
    """A TrackerSample; each keyword is a tool name -> pose (4x4) or dict of ToolSample fields."""
    out = {}
    for name, spec in tools.items():
        fields = spec if isinstance(spec, dict) else {"pose2tracker": spec}
        fields = {"quality": 1.0, "visible": True, "t_s": t_s, "stale": stale, **fields}
        out[name] = ToolSample(tool=name, **fields)
    return TrackerSample(t_s, out, tuple(missing))


@pytest.fixture(scope="module")
def scene(scene_cache: Path) -> Scene:
    return load_scene("knee_suprapatellar_recess", cache_dir=scene_cache)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def session(scene: Scene, clock: Clock) -> Iterator[ScanSession]:
    s = ScanSession(scene, skin_surface(scene), n_threads=1, clock=clock)
    yield s
    s.close()


def _kinds(s: ScanSession) -> list[str]:
    return [e.kind for e in s.events]


# ------------------------------------------------------------------ probe
def test_probe_pose_through_registration_and_face_offset(session: ScanSession) -> None:
    driver = TrackedDriver(session, CAL)
    expected = _pose(_rot(2, 25.0) @ _rot(0, 8.0) @ _rot(1, -5.0), (7.5, 2.0, -0.8))
    result = driver.apply(sample(1.0, probe=probe_sensor2tracker(expected)))
    assert result.probe == "tracked" and result.changed and result.message == ""
    np.testing.assert_allclose(session.probe2world(), expected, atol=1e-9)
    np.testing.assert_allclose(session.frame_request().probe2world, expected, atol=1e-9)
    # a probe at rest (same pose, new sample) needs no new frame
    assert not driver.apply(sample(1.1, probe=probe_sensor2tracker(expected))).changed
    # the handle followed the tracked probe (keyboard moves continue from it)
    assert (session.handle.x_mm, session.handle.y_mm) == pytest.approx((7.5, 2.0))
    assert session.handle.yaw_deg == pytest.approx(25.0, abs=1e-6)


def test_orientation_only_probe_takes_its_position_from_the_handle(
    session: ScanSession,
) -> None:
    driver = TrackedDriver(session, CAL)
    session.slide_mm(6.0, -2.0)
    face = session.probe2world()[:3, 3]
    turned = _pose(_rot(2, 40.0) @ _rot(0, 10.0), (100.0, 100.0, 100.0))  # position ignored
    imu = {"pose2tracker": probe_sensor2tracker(turned), "orientation_only": True}
    result = driver.apply(sample(1.0, probe=imu))
    assert result.probe == "orientation"
    m = session.probe2world()
    np.testing.assert_allclose(m[:3, :3], turned[:3, :3], atol=1e-9)
    np.testing.assert_allclose(m[:3, 3], face, atol=1e-9)
    # with a fixed landmark instead
    landmark = (1.0, 2.0, 0.0)
    fixed = TrackedDriver(
        session, TrackingCalibration.from_profile(CAL, probe_landmark_mm=landmark)
    )
    fixed.apply(sample(2.0, probe=imu))
    np.testing.assert_allclose(session.probe2world()[:3, 3], landmark, atol=1e-12)


# ----------------------------------------------------------------- needle
def test_needle_tip_and_skin_entry_from_the_tracked_needle(session: ScanSession) -> None:
    driver = TrackedDriver(session, CAL)
    entry = np.array([-6.0, 0.5, 0.0])
    travel = np.array([math.cos(math.radians(40.0)), 0.0, math.sin(math.radians(40.0))])
    tip = entry + 18.0 * travel
    result = driver.apply(sample(1.0, needle=needle_sensor2tracker(tip, travel)))
    assert result.needle == "tracked" and result.move is not None and result.changed
    k = session.kinematics
    assert k is not None and k.inserted
    np.testing.assert_allclose(session.needle.entry_mm, entry, atol=0.1)
    assert abs(session.needle.entry_mm[2] - session.skin.height_mm(*entry[:2])) < 0.1
    np.testing.assert_allclose(k.tip_mm, tip, atol=0.1)
    assert k.depth_mm == pytest.approx(18.0, abs=0.1)
    assert _kinds(session)[0] == "skin_puncture"


def test_bone_stops_the_tracked_tip(session: ScanSession) -> None:
    driver = TrackedDriver(session, CAL)
    entry = np.array([13.0, -3.0, 0.0])
    travel = np.array([0.0, 0.0, 1.0])
    result = driver.apply(sample(1.0, needle=needle_sensor2tracker(entry + 40.0 * travel, travel)))
    assert result.move is not None and result.move.blocked == "bone"
    tip = session.kinematics.tip_mm
    assert 22.0 < tip[2] < 27.0  # the femur's surface, not the 40 mm the hand asked for
    assert "bone_contact" in _kinds(session)
    np.testing.assert_allclose(tip[:2], entry[:2], atol=1e-6)


def test_needle_above_the_skin_rests_on_it_or_is_put_away(session: ScanSession) -> None:
    driver = TrackedDriver(session, CAL)
    travel = np.array([0.6, 0.0, 0.8])
    entry = np.array([0.0, 0.0, 0.0])
    result = driver.apply(sample(1.0, needle=needle_sensor2tracker(entry - 10.0 * travel, travel)))
    assert result.needle == "out"
    k = session.kinematics
    assert k is not None and not k.inserted and k.depth_mm == 0.0
    np.testing.assert_allclose(session.needle.entry_mm, entry, atol=0.1)
    far = entry - 80.0 * travel  # farther from the skin than hover_mm: put away
    result = driver.apply(sample(2.0, needle=needle_sensor2tracker(far, travel)))
    assert result.needle == "out" and session.kinematics is None


def test_depth_sensor_needle_tip_is_entry_plus_depth(session: ScanSession) -> None:
    driver = TrackedDriver(session, CAL)
    travel = np.array([0.8, 0.0, 0.6])
    entry = np.array([2.0, 1.0, 0.0])
    blunt_tip = entry - 2.0 * travel  # a blunt needle held 2 mm above the phantom
    pose = needle_sensor2tracker(blunt_tip, travel)
    result = driver.apply(sample(1.0, needle={"pose2tracker": pose, "depth_mm": 12.0}))
    assert result.needle == "depth"
    np.testing.assert_allclose(session.kinematics.tip_mm, entry + 12.0 * travel, atol=0.1)
    np.testing.assert_allclose(session.needle.entry_mm, entry, atol=0.1)
    # a depth-only needle keeps the keyboard's entry and direction
    session.remove_needle()
    session.place_needle()
    placed = session.needle
    driver.apply(sample(2.0, needle={"pose2tracker": None, "depth_mm": 9.0}))
    np.testing.assert_allclose(session.needle.entry_mm, placed.entry_mm, atol=1e-6)
    np.testing.assert_allclose(
        session.kinematics.tip_mm, np.asarray(placed.entry_mm) + 9.0 * placed.direction, atol=0.05
    )


def test_missing_needle_is_held_and_reported(session: ScanSession) -> None:
    driver = TrackedDriver(session, CAL)
    probe = session.probe2world()
    travel = np.array([0.0, 0.0, 1.0])
    tip = np.array([12.0, 0.0, 10.0])
    driver.apply(
        sample(1.0, probe=probe_sensor2tracker(probe), needle=needle_sensor2tracker(tip, travel))
    )
    held_tip = session.kinematics.tip_mm.copy()
    n_events = len(session.events)
    moved = probe.copy()
    moved[0, 3] += 5.0
    result = driver.apply(sample(2.0, missing=("needle",), probe=probe_sensor2tracker(moved)))
    assert result.needle == "missing" and result.missing == ("needle",)
    assert "needle missing" in result.message
    np.testing.assert_array_equal(session.kinematics.tip_mm, held_tip)
    assert len(session.events) == n_events
    np.testing.assert_allclose(session.probe2world(), moved, atol=1e-9)  # the probe still tracks
    # an announced tool that the device marks invisible is missing too
    hidden = {"pose2tracker": needle_sensor2tracker(tip + 5.0, travel), "visible": False}
    result = driver.apply(sample(3.0, needle=hidden))
    assert result.needle == "missing"
    np.testing.assert_array_equal(session.kinematics.tip_mm, held_tip)


def test_stale_sample_freezes_and_reports_disconnected(session: ScanSession) -> None:
    driver = TrackedDriver(session, CAL)
    probe = session.probe2world()
    driver.apply(sample(1.0, probe=probe_sensor2tracker(probe)))
    moved = probe.copy()
    moved[1, 3] += 3.0
    result = driver.apply(sample(2.0, stale=True, probe=probe_sensor2tracker(moved)))
    assert result.stale and result.probe == "frozen" and "disconnected" in result.message
    np.testing.assert_allclose(session.probe2world(), probe, atol=1e-9)
    # the same sample again changes nothing; a fresh one resumes tracking
    assert not driver.apply(driver_sample := sample(3.0, probe=probe_sensor2tracker(moved))).stale
    assert not driver.apply(driver_sample).changed
    np.testing.assert_allclose(session.probe2world(), moved, atol=1e-9)


# ---------------------------------------------------------------- buttons
def test_inject_button_held_one_second_injects_one_ml(session: ScanSession, clock: Clock) -> None:
    driver = TrackedDriver(session, CAL)  # 1 ml/s
    travel = np.array([0.0, 0.0, 1.0])
    needle = needle_sensor2tracker(np.array([12.0, 0.0, 20.0]), travel)
    driver.apply(sample(0.0, needle=needle))
    assert session.kinematics.structure_at_tip == "suprapatellar_recess"
    held = {"pose2tracker": needle, "buttons": frozenset({"inject"})}
    for i in range(101):  # 0.00 .. 1.00 s at 100 Hz
        t = 0.5 + 0.01 * i
        clock.t_s = t
        result = driver.apply(sample(t, needle=held))
        assert result.injecting
    assert session.events.count("injection") == 0  # recorded when the plunger is released
    clock.t_s = 1.52
    result = driver.apply(sample(1.52, needle=needle))
    assert not result.injecting
    assert session.injection.injected_ml == pytest.approx(1.0, rel=0.02)
    injections = session.events.of_kind("injection")
    assert len(injections) == 1 and injections[0].detail.startswith("1.00 ml")


def test_aspirate_and_freeze_buttons_act_once_per_press(session: ScanSession) -> None:
    driver = TrackedDriver(session, CAL)
    needle = needle_sensor2tracker(np.array([12.0, 0.0, 20.0]), np.array([0.0, 0.0, 1.0]))
    press = {"pose2tracker": needle, "buttons": frozenset({"aspirate", "freeze"})}
    first = driver.apply(sample(1.0, needle=press))
    again = driver.apply(sample(1.1, needle=press))
    assert first.aspiration is not None and first.aspiration.fluid and first.freeze_toggled
    assert again.aspiration is None and not again.freeze_toggled
    assert session.events.count("aspiration") == 1
    driver.apply(sample(1.2, needle=needle))
    assert driver.apply(sample(1.3, needle=press)).freeze_toggled


def test_calibration_rejects_a_matrix_that_is_not_rigid() -> None:
    bad = np.eye(4)
    bad[0, 0] = 2.0
    with pytest.raises(ValueError, match="tracker2world: the rotation block"):
        TrackingCalibration(tracker2world=bad)
    with pytest.raises(ValueError, match="inject_rate_ml_s"):
        TrackingCalibration(inject_rate_ml_s=0.0)


def test_calibration_from_a_device_profile() -> None:
    from hardware.profiles import DeviceProfile

    profile = DeviceProfile(
        name="rig",
        protocol="diy",
        url="/dev/ttyUSB0",
        needle_tip_in_tool_mm=[0.0, 0.0, -150.0],
        probe_sensor2face=SENSOR2FACE.tolist(),
        tracker2world=TRACKER2WORLD.tolist(),
    )
    cal = TrackingCalibration.from_profile(profile)
    np.testing.assert_allclose(cal.tracker2world, TRACKER2WORLD)
    np.testing.assert_allclose(cal.probe_sensor2face, SENSOR2FACE)
    # the needle frame: origin at the calibrated tip, +z from the tip toward the sensor (hub)
    np.testing.assert_allclose(cal.needle_tip2tool[:3, 3], (0.0, 0.0, -150.0))
    np.testing.assert_allclose(cal.needle_tip2tool[:3, 2], (0.0, 0.0, 1.0), atol=1e-12)
    assert (cal.probe_tool, cal.needle_tool) == ("probe", "needle")
    empty = TrackingCalibration.from_profile(DeviceProfile(name="x", protocol="ndi", url="u"))
    np.testing.assert_array_equal(empty.tracker2world, np.eye(4))


# ------------------------------------------------------------- end to end
def test_diy_emulator_over_a_pty_drives_the_session(session: ScanSession) -> None:
    pytest.importorskip("hardware.diy_emulator")
    from hardware.diy_emulator import DiyEmulator, scene_path
    from hardware.diy_tracker import DiyTracker
    from hardware.motion import probe_path

    centre = tuple(session.probe2world()[:3, 3])
    driver = TrackedDriver(session)  # the emulator's tracker frame is the scene frame
    with DiyEmulator(path=scene_path(centre), rate_hz=100.0) as emulator:
        tracker = DiyTracker(emulator.url)
        tracker.start()
        try:
            seen: list[tuple[float, np.ndarray]] = []
            deadline = time.monotonic() + 5.0
            while len(seen) < 3 and time.monotonic() < deadline:
                time.sleep(0.25)
                s = tracker.latest()
                if s is None or "probe" not in s.tools:
                    continue
                result = driver.apply(s)
                assert result.probe == "tracked"
                seen.append((s.tools["probe"].device_t_s, session.probe2world()))
        finally:
            tracker.close()
    assert len(seen) == 3, "no samples from the emulator"
    for t_s, m in seen:  # the session's probe is where the emulator put it (float32 on the wire)
        np.testing.assert_allclose(m, probe_path(t_s, centre), atol=2e-4)
    assert np.linalg.norm(seen[-1][1][:3, 3] - seen[0][1][:3, 3]) > 0.5  # it moved


def test_polls_journal_only_what_changes_the_session(session: ScanSession, clock: Clock) -> None:
    """No intent per poll for a plunger at rest (the journal of an attempt stays small)."""
    calls: list[str] = []
    session.journal = lambda t, name, args: calls.append(name)
    driver = TrackedDriver(session, CAL)
    travel = np.array([0.0, 0.0, 1.0])
    needle = needle_sensor2tracker(np.array([12.0, 0.0, 20.0]), travel)
    for i in range(10):  # the hand moves a little at every poll
        clock.t_s = 0.01 * i
        moved = needle_sensor2tracker(np.array([12.0, 0.0, 19.0 + 0.1 * i]), travel)
        driver.apply(sample(clock.t_s, needle=moved))
    assert "finish_injection" not in calls and calls.count("set_needle_tip") == 10
    held = {"pose2tracker": needle, "buttons": frozenset({"inject"})}
    for i in range(5):
        clock.t_s = 0.2 + 0.01 * i
        driver.apply(sample(clock.t_s, needle=held))
    clock.t_s = 0.3
    driver.apply(sample(0.3, needle=needle))  # released: the bolus ends, once
    assert calls.count("finish_injection") == 1 and calls.count("inject") >= 4
