"""Trajectory files: parsing, errors naming file/keyframe/field, interpolation, steps."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from simulator.app.trajectory import (
    FORMAT_NAME,
    TrajectoryError,
    load_trajectory,
    save_trajectory,
    trajectory_from_dict,
)
from simulator.probe_control import ProbeHandle

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "trajectories"


def _doc(*keyframes: dict, **header: object) -> dict:
    return {"format": FORMAT_NAME, "version": 1, **header, "keyframes": list(keyframes)}


def _write(tmp_path: Path, doc: object, name: str = "t.json") -> Path:
    p = tmp_path / name
    p.write_text(json.dumps(doc))
    return p


def test_the_examples_load_with_their_header() -> None:
    good = load_trajectory(EXAMPLES / "knee_recess_good.json")
    assert good.scene == "knee_suprapatellar_recess"
    assert (good.gauge, good.seed, good.sample_rate_hz) == (22, 7, 20.0)
    assert good.duration_s == 12.0
    assert good.keyframes[-1].finish
    first = good.keyframes[0]
    assert first.probe == ProbeHandle(4.0, 0.0, 0.0, 0.0, 0.0)
    assert first.needle_given and first.needle is None
    bad = load_trajectory(EXAMPLES / "knee_recess_bad.json")
    assert bad.duration_s == 8.5


@pytest.mark.parametrize(
    ("keyframes", "where", "expected"),
    [
        ([{"t_s": 0}, {"t_s": 1, "needle": {"entry_mm": [0, 0, 0], "tip_mm": [1, 2]}}],
         "keyframe 1.needle.tip_mm", "list of 3 numbers"),
        ([{"t_s": 0, "probe": {"position_mm": [0, 0], "yaw": 3}}],
         "keyframe 0.probe", "unknown field 'yaw'"),
        ([{"t_s": 0}, {"t_s": "1"}], "keyframe 1.t_s", "expected a time in s"),
        ([{"t_s": 2}, {"t_s": 1}], "keyframe 1.t_s", "must not decrease"),
        ([{"t_s": 0, "finish": True}, {"t_s": 1}], "keyframe 0.finish", "only the last"),
        ([{"t_s": 0, "inject_ml_per_s": -1}], "keyframe 0.inject_ml_per_s", ">= 0 ml/s"),
        ([{"t_s": 0, "aspirate": "yes"}], "keyframe 0.aspirate", "true or false"),
        ([{"t_s": 0, "probe2world": [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]]}],
         "keyframe 0.probe2world", "4x4 matrix"),
        ([{"t_s": 0, "probe2world": [[2, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]}],
         "keyframe 0.probe2world", "proper rotation"),
        ([{"t_s": 0, "needle": {"tip_mm": [0, 0, 1]}}], "keyframe 0.needle", "'entry_mm'"),
        ([{"probe": None}], "keyframe 0", "missing 't_s'"),
    ],
)  # fmt: skip
def test_errors_name_the_file_the_keyframe_and_the_field(
    tmp_path: Path, keyframes: list, where: str, expected: str
) -> None:
    path = _write(tmp_path, _doc(*keyframes), "broken.json")
    with pytest.raises(TrajectoryError) as info:
        load_trajectory(path)
    message = str(info.value)
    assert f"trajectory file '{path}'" in message
    assert where in message
    assert expected in message


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ({"format": "other", "version": 1, "keyframes": [{"t_s": 0}]}, "format: expected"),
        ({"format": FORMAT_NAME, "version": 9, "keyframes": [{"t_s": 0}]}, "version: expected"),
        ({"format": FORMAT_NAME, "version": 1, "keyframes": []}, "non-empty list"),
        ({"format": FORMAT_NAME, "version": 1, "keyframe": []}, "unknown field 'keyframe'"),
        (_doc({"t_s": 0}, imaging={"depth": 30}), "imaging: unknown field 'depth'"),
        (_doc({"t_s": 0}, sample_rate_hz=0), "sample_rate_hz: expected 0.5-1000 Hz"),
        (_doc({"t_s": 0}, gauge=22.5), "gauge: expected a whole needle gauge"),
        ([1, 2], "expected a JSON object"),
    ],
)
def test_header_errors(tmp_path: Path, doc: object, expected: str) -> None:
    with pytest.raises(TrajectoryError, match=r"broken\.json") as info:
        load_trajectory(_write(tmp_path, doc, "broken.json"))
    assert expected in str(info.value)


def test_unreadable_and_invalid_json(tmp_path: Path) -> None:
    with pytest.raises(TrajectoryError, match="cannot read it"):
        load_trajectory(tmp_path / "missing.json")
    p = tmp_path / "bad.json"
    p.write_text('{"format": \n nope}')
    with pytest.raises(TrajectoryError, match=r"not valid JSON \(line 2"):
        load_trajectory(p)


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    good = load_trajectory(EXAMPLES / "knee_recess_good.json")
    again = load_trajectory(save_trajectory(good, tmp_path / "copy.json"))
    assert again.header() == good.header()
    assert len(again.steps()) == len(good.steps())
    for a, b in zip(again.steps(), good.steps(), strict=True):
        assert a.command_dict() == b.command_dict()
        assert a.probe == b.probe


def test_sample_times_and_handle_interpolation() -> None:
    traj = trajectory_from_dict(
        _doc(
            {"t_s": 1.0, "probe": {"position_mm": [0, 0, 0], "yaw_deg": 170, "tilt_deg": -10}},
            {"t_s": 2.0, "probe": {"position_mm": [10, -4, 0], "yaw_deg": -170, "tilt_deg": 10}},
            {"t_s": 3.05},
            sample_rate_hz=10,
        )
    )
    times = traj.sample_times_s()
    assert len(times) == 22  # 1.0 .. 3.0 every 0.1 s, then the last keyframe at 3.05
    assert times[0] == 1.0 and times[-1] == 3.05
    np.testing.assert_allclose(np.diff(times[:-1]), 0.1, atol=1e-12)
    steps = traj.steps()
    mid = steps[5].probe  # t = 1.5
    assert isinstance(mid, ProbeHandle)
    assert (mid.x_mm, mid.y_mm, mid.tilt_deg) == pytest.approx((5.0, -2.0, 0.0))
    assert abs(mid.yaw_deg) == pytest.approx(180.0)  # the short way round, not through 0
    quarter = steps[3].probe  # t = 1.3
    assert quarter.yaw_deg == pytest.approx(176.0)
    assert steps[-1].probe == ProbeHandle(10, -4, -170, 10, 0)  # held after the last pose


def test_matrix_poses_slerp() -> None:
    yaw90 = [[0, -1, 0, 10], [1, 0, 0, 0], [0, 0, 1, 2], [0, 0, 0, 1]]
    traj = trajectory_from_dict(
        _doc(
            {"t_s": 0, "probe2world": np.eye(4).tolist()},
            {"t_s": 1, "probe2world": yaw90},
            sample_rate_hz=2,
        )
    )
    m = traj.steps()[1].probe
    c = np.cos(np.pi / 4)
    np.testing.assert_allclose(m[:3, :3], [[c, -c, 0], [c, c, 0], [0, 0, 1]], atol=1e-12)
    np.testing.assert_allclose(m[:3, 3], [5, 0, 1])


def test_needle_interpolation_and_commands() -> None:
    traj = trajectory_from_dict(
        _doc(
            {"t_s": 0.0, "needle": None},
            {"t_s": 1.0, "needle": {"entry_mm": [10, 0, 0], "tip_mm": [10, 0, 0]}},
            {"t_s": 2.0, "needle": {"entry_mm": [10, 0, 0], "tip_mm": [0, 0, 20]}},
            {"t_s": 2.5, "aspirate": True},
            {"t_s": 2.75, "inject_ml_per_s": 0.4},
            {"t_s": 5.75, "inject_ml_per_s": 0.0},
            {"t_s": 6.0, "needle": None, "finish": True},
            sample_rate_hz=10,
        )
    )
    steps = traj.steps()
    by_t = {round(s.t_s, 6): s for s in steps}
    assert by_t[0.5].needle is None  # needle out until it is put on the skin at t = 1
    entry, tip = by_t[1.5].needle
    np.testing.assert_allclose(entry, [10, 0, 0])
    np.testing.assert_allclose(tip, [5, 0, 10])
    np.testing.assert_allclose(by_t[5.9].needle[1], [0, 0, 20])  # held until the next keyframe
    assert steps[-1].needle is None
    # the plunger: 0.4 ml/s from 2.75 to 5.75 s is 1.2 ml, whatever the sample grid
    assert sum(s.inject_ml for s in steps) == pytest.approx(1.2, abs=1e-12)
    assert by_t[2.8].inject_ml == pytest.approx(0.02)  # half an interval at the start
    assert [s.t_s for s in steps if s.aspirate] == [pytest.approx(2.5)]
    assert [round(s.t_s, 6) for s in steps if s.end_bolus] == [5.9, 6.0]
    assert by_t[5.8].injecting and not by_t[5.9].injecting
