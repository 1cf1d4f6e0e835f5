"""The tracker interface: ring buffer, rate, manual and replay sources, smoothing, motion,
registry."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hardware.motion import NEEDLE_MAX_DEPTH_MM, needle_depth_mm, plausible_path
from hardware.registry import (
    PROTOCOLS,
    UnknownProtocolError,
    emulator_class,
    make_emulator,
    open_tracker,
)
from hardware.rotations import angle_between_deg, matrix_to_quat, pose_from, quat_to_matrix
from hardware.smoothing import ExponentialPoseFilter, OneEuroPoseFilter, make_smoother
from hardware.sources import ManualSource, ReplaySource
from hardware.tracker import (
    ToolSample,
    Tracker,
    TrackerSample,
    TrackerStatus,
    quality_from_error_mm,
)


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def pose_at(x_mm: float) -> np.ndarray:
    pose = np.eye(4)
    pose[0, 3] = x_mm
    return pose


# --- the interface --------------------------------------------------------------------
def test_ring_buffer_is_bounded_and_samples_since_reports_losses() -> None:
    clock = FakeClock()
    source = ManualSource(("probe",), capacity=8, clock=clock)
    source.start()
    assert source.latest() is None and source.samples_since(0) == ([], 0)
    for i in range(5):
        source.set_pose("probe", pose_at(i), t_s=float(i))
    got, seq = source.samples_since(0)
    assert seq == 5 and [s.tools["probe"].position_mm[0] for s in got] == [0, 1, 2, 3, 4]
    got, seq2 = source.samples_since(seq)
    assert got == [] and seq2 == 5
    for i in range(5, 30):
        source.set_pose("probe", pose_at(i), t_s=float(i))
    got, seq3 = source.samples_since(seq)
    assert seq3 == 30 and len(got) == 8 == len(source)  # 17 lost, reported by the numbers
    assert [s.t_s for s in got] == [float(i) for i in range(22, 30)]
    assert source.latest().t_s == 29.0


def test_rate_is_measured_over_the_last_second() -> None:
    clock = FakeClock()
    source = ManualSource(("probe",), clock=clock)
    for i in range(200):
        clock.t = 100.0 + i / 50.0
        source.set_pose("probe", pose_at(0))
    assert source.rate_hz() == pytest.approx(50.0, rel=1e-6)
    clock.t += 5.0
    assert source.rate_hz() == 0.0


def test_manual_source_reports_missing_tools_and_rejects_bad_poses() -> None:
    clock = FakeClock()
    with ManualSource(clock=clock) as source:
        assert source.status == "tracking"
        sample = source.set_pose("probe", pose_at(3.0), buttons={"freeze"})
        assert sample.missing == ("needle",) and sample.tools["probe"].buttons == {"freeze"}
        sample = source.set_pose("needle", pose_at(1.0), depth_mm=12.0)
        assert sample.missing == () and sample.tools["needle"].depth_mm == 12.0
        assert source.clear("needle").missing == ("needle",)
        with pytest.raises(ValueError, match="unknown tool 'pen'"):
            source.set_pose("pen", pose_at(0))
        with pytest.raises(ValueError, match="finite 4x4"):
            source.set_pose("probe", np.full((4, 4), np.nan))
        assert [t.kind for t in source.tools()] == ["probe", "needle"]
    assert source.status == TrackerStatus.STOPPED


def test_freeze_marks_every_tool_stale_and_keeps_the_pose() -> None:
    source = ManualSource(("probe",), clock=FakeClock())
    source.set_pose("probe", pose_at(7.0))
    source._freeze("unplugged")
    frozen = source.latest()
    assert frozen.stale and frozen.tools["probe"].position_mm[0] == 7.0
    source._freeze("again")
    assert source.samples_since(0)[1] == 2  # frozen once, not every time


def test_quality_and_sample_helpers() -> None:
    assert quality_from_error_mm(0.0) == 1.0 and quality_from_error_mm(1.0) == 0.5
    assert quality_from_error_mm(float("nan")) == 0.0
    tool = ToolSample("needle", None, 1.0, True, 0.0, depth_mm=3.0)
    assert tool.position_mm is None
    assert not TrackerSample(0.0, {}).stale
    assert issubclass(ManualSource, Tracker) and TrackerStatus("disconnected") == "disconnected"


# --- replay ------------------------------------------------------------------------------
def recording() -> list[tuple[float, dict[str, np.ndarray]]]:
    return [(10.0 + 0.1 * i, {"probe": pose_at(i), "needle": pose_at(-i)}) for i in range(10)]


def test_replay_plays_on_its_own_clock_at_speed() -> None:
    clock = FakeClock()
    replay = ReplaySource(recording(), speed=2.0, clock=clock)
    replay.start()
    assert replay.latest().tools["probe"].position_mm[0] == 0.0
    clock.t += 0.25  # 0.5 s of recording at 2x
    got, seq = replay.samples_since(0)
    assert [s.tools["probe"].position_mm[0] for s in got] == [0, 1, 2, 3, 4, 5]
    assert got[-1].t_s == pytest.approx(100.25)
    clock.t += 10.0
    assert replay.finished and replay.status == "stopped"
    assert replay.latest().tools["needle"].position_mm[0] == -9.0
    assert replay.samples_since(seq)[1] == 10


def test_replay_loops_and_reports_tools_absent_from_a_sample() -> None:
    clock = FakeClock()
    rec = recording()
    rec[3] = (rec[3][0], {"probe": pose_at(3)})
    replay = ReplaySource(rec, loop=True, capacity=16, clock=clock)
    replay.start()
    clock.t += 1.0 + 0.35  # one pass of 1.0 s (0.9 s + one step), then 0.35 s
    got, seq = replay.samples_since(0)
    assert seq == 14 and len(got) == 14
    assert got[3].missing == ("needle",) and got[13].missing == ("needle",)
    clock.t += 3600.0  # an hour later: at most one buffer's worth is produced
    got, _ = replay.samples_since(seq)
    assert len(got) == 16 and not replay.finished


def test_replay_rejects_bad_recordings() -> None:
    with pytest.raises(ValueError, match="no samples"):
        ReplaySource([])
    with pytest.raises(ValueError, match="non-decreasing"):
        ReplaySource([(1.0, {}), (0.5, {})])
    with pytest.raises(ValueError, match="replay sample 0, tool 'probe'"):
        ReplaySource([(0.0, {"probe": np.eye(3)})])


# --- rotations and smoothing ---------------------------------------------------------------
def test_quaternion_matrix_round_trip() -> None:
    rng = np.random.default_rng(1)
    for _ in range(50):
        q = rng.normal(size=4)
        q /= np.linalg.norm(q)
        q = q if q[0] >= 0 else -q
        np.testing.assert_allclose(matrix_to_quat(quat_to_matrix(q)), q, atol=1e-12)
    r = quat_to_matrix((0.0, 0.0, 0.0, 1.0))  # 180 deg about z: the w = 0 branch
    np.testing.assert_allclose(r, np.diag([-1.0, -1.0, 1.0]), atol=1e-15)


def noisy_static(n: int, rng: np.random.Generator) -> list[np.ndarray]:
    truth_q = np.array([math.cos(0.3), 0.0, math.sin(0.3), 0.0])
    poses = []
    for _ in range(n):
        q = truth_q + rng.normal(scale=0.005, size=4)
        poses.append(pose_from(np.array([10.0, 20.0, 5.0]) + rng.normal(scale=0.5, size=3), q))
    return poses


@pytest.mark.parametrize("kind", ["one-euro", "exponential"])
def test_smoothing_reduces_jitter_of_a_still_sensor(kind: str) -> None:
    rng = np.random.default_rng(7)
    poses = noisy_static(400, rng)
    smoother = make_smoother(kind)
    out = [smoother(p, i / 100.0) for i, p in enumerate(poses)]
    raw = np.std([p[:3, 3] for p in poses[100:]], axis=0).mean()
    smooth = np.std([p[:3, 3] for p in out[100:]], axis=0).mean()
    q_ref = matrix_to_quat(poses[0])
    raw_deg = np.std([angle_between_deg(matrix_to_quat(p), q_ref) for p in poses[100:]])
    smooth_deg = np.std([angle_between_deg(matrix_to_quat(p), q_ref) for p in out[100:]])
    print(f"{kind}: jitter {raw:.3f} -> {smooth:.3f} mm, {raw_deg:.3f} -> {smooth_deg:.3f} deg")
    assert smooth < raw / 3
    assert smooth_deg < raw_deg / 2
    for p in out:  # always a proper rotation
        np.testing.assert_allclose(p[:3, :3] @ p[:3, :3].T, np.eye(3), atol=1e-9)


def test_one_euro_follows_fast_motion_with_little_lag() -> None:
    smoother = OneEuroPoseFilter()
    slow = ExponentialPoseFilter(tau_s=0.2)
    for i in range(100):  # 100 mm/s ramp
        t = i / 100.0
        a, b = smoother(pose_at(100.0 * t), t), slow(pose_at(100.0 * t), t)
    lag_euro, lag_slow = 99.0 - a[0, 3], 99.0 - b[0, 3]
    assert lag_euro < 5.0 < lag_slow


def test_smoother_spec_errors_name_the_problem() -> None:
    with pytest.raises(ValueError, match="smoothing kind 'median'"):
        make_smoother("median")
    with pytest.raises(ValueError, match="one-euro"):
        make_smoother({"kind": "one-euro", "min_cutoff_hz": 0})
    with pytest.raises(ValueError, match="unexpected keyword"):
        make_smoother({"kind": "exponential", "alpha": 0.3})
    assert make_smoother(None)(pose_at(1.0), 0.0)[0, 3] == 1.0


# --- motion ------------------------------------------------------------------------------------
def test_plausible_path_probe_on_the_skin_and_needle_in_plane() -> None:
    centre = np.array([5.0, -3.0, 12.0])
    for t in np.linspace(0.0, 30.0, 61):
        poses = plausible_path(float(t), centre)
        probe, needle = poses["probe"], poses["needle"]
        for pose in (probe, needle):
            np.testing.assert_allclose(pose[:3, :3] @ pose[:3, :3].T, np.eye(3), atol=1e-12)
            assert np.linalg.det(pose[:3, :3]) == pytest.approx(1.0)
        assert probe[2, 3] == pytest.approx(12.0)  # face on the skin plane
        assert np.linalg.norm(probe[:2, 3] - centre[:2]) < 17.0
        assert probe[:3, 2] @ np.array([0.0, 0.0, 1.0]) > math.cos(math.radians(8.0))
        # needle: +z from tip toward hub, the hub is above (smaller z) the tip
        assert needle[2, 2] < 0
        depth = needle_depth_mm(float(t))
        assert needle[2, 3] == pytest.approx(12.0 + depth * math.sin(math.radians(30.0)))
        # in plane: the shaft has no component along the probe's elevation axis (flat)
        y_flat = np.array([-probe[1, 0], probe[0, 0], 0.0]) / np.hypot(probe[0, 0], probe[1, 0])
        assert abs(needle[:3, 2] @ y_flat) < 1e-9
    depths = [needle_depth_mm(t) for t in np.linspace(0.0, 12.0, 121)]
    assert min(depths) == 0.0 and max(depths) == pytest.approx(NEEDLE_MAX_DEPTH_MM)


# --- registry ----------------------------------------------------------------------------------
def test_registry_opens_the_diy_tracker_and_names_unknown_protocols() -> None:
    assert set(PROTOCOLS) >= {"diy", "ndi", "igtl"}
    tracker = open_tracker("diy", "loop://", baudrate=9600)
    assert isinstance(tracker, Tracker) and tracker.status == "stopped"
    assert tracker.link.baudrate == 9600
    emulator = make_emulator("diy", rate_hz=50.0)
    assert emulator.rate_hz == 50.0 and emulator_class("diy") is type(emulator)
    with pytest.raises(UnknownProtocolError, match="expected one of diy, igtl, ndi"):
        open_tracker("polhemus", "loop://")
