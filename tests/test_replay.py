"""Replay of a stored attempt: re-scoring, deterministic frames, events, the CLI."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from scenes import Scene, load_scene
from simulator.app.attempt_runner import AttemptResult, run_attempt
from simulator.app.cli import main
from simulator.app.replay import Replay, metrics_match
from simulator.app.scan_session import ScanSession
from simulator.app.session_driver import settled_frame_request
from simulator.app.trajectory import load_trajectory
from simulator.records import RecordStore
from simulator.scoring.samples import Sample

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "trajectories"
#: Sample times (s) whose live frames are kept: needle in the recess; injecting (bubbles).
LIVE_T_S = (6.0, 9.0)


@pytest.fixture(scope="module")
def scene(scene_cache: Path) -> Scene:
    return load_scene("knee_suprapatellar_recess", cache_dir=scene_cache)


@pytest.fixture(scope="module")
def recorded(
    scene: Scene, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, AttemptResult, dict[int, np.ndarray]]:
    """The good example at 4 Hz, stored; the live frames rendered at ``LIVE_T_S``."""
    db = tmp_path_factory.mktemp("replay") / "records.sqlite"
    traj = replace(load_trajectory(EXAMPLES / "knee_recess_good.json"), sample_rate_hz=4.0)
    live: dict[int, np.ndarray] = {}
    count = [0]

    def on_sample(session: ScanSession, sample: Sample) -> None:
        if any(abs(sample.t_s - t) < 1e-9 for t in LIVE_T_S):
            frame = session.engine.render(settled_frame_request(session, sample.t_s))
            live[count[0]] = frame.image.copy()
        count[0] += 1

    with RecordStore(db) as store:
        result = run_attempt(scene, traj, store=store, trainee="Ana", on_sample=on_sample)
    assert len(live) == len(LIVE_T_S)
    return db, result, live


@pytest.fixture(scope="module")
def replay(scene: Scene, recorded: tuple) -> Replay:
    db, result, _ = recorded
    with RecordStore(db) as store:
        r = Replay.from_record(store, result.attempt_id, scene=scene)
    yield r
    r.close()


def test_timeline(replay: Replay, recorded: tuple) -> None:
    _, result, _ = recorded
    assert replay.n_frames == 49  # 12 s at 4 Hz
    np.testing.assert_array_equal(replay.times_s, [s.t_s for s in result.samples])
    assert replay.index_at(0.0) == 0
    assert replay.index_at(6.1) == 24 and replay.index_at(6.25) == 25
    assert replay.index_at(-5.0) == 0 and replay.index_at(99.0) == 48
    timeline = replay.events_timeline()
    expected = [(e.t_s, e.kind) for s in result.samples for e in s.events]
    assert [(t, k) for t, k, _ in timeline] == expected
    injection = [d for _, k, d in timeline if k == "injection"]
    assert injection == ["suprapatellar_recess 2.00 ml spread in suprapatellar_recess"]


def test_rescoring_gives_the_stored_metrics(replay: Replay, recorded: tuple) -> None:
    db, result, _ = recorded
    with RecordStore(db) as store:
        stored = store.attempt(result.attempt_id).metrics
    values, grade = replay.rescore()
    assert metrics_match(stored, values) == []
    for name, value in stored.items():
        assert values[name] == pytest.approx(value, abs=1e-9, nan_ok=True), name
    assert grade.passed and result.passed
    # and metrics_match catches a difference
    assert metrics_match({**stored, "needle_passes": 2.0}, values) == ["needle_passes"]


def test_bare_samples_rescore_the_same(scene: Scene, recorded: tuple) -> None:
    """Without the stored commands: needle from entry/tip, injection from injected_ml."""
    _, result, _ = recorded
    with Replay(scene, result.samples, result.settings) as bare:
        values, _ = bare.rescore()
    assert metrics_match(result.values, values) == []


def test_frames_are_bit_identical_and_equal_the_live_ones(replay: Replay, recorded: tuple) -> None:
    _, _, live = recorded
    for i, image in sorted(live.items(), reverse=True):  # backwards: seek restarts
        first = replay.frame(i).image
        np.testing.assert_array_equal(first, image)
    i, image = min(live.items())
    replay.seek(replay.n_frames - 1)
    again = replay.frame(i).image  # after seeking away and back
    np.testing.assert_array_equal(again, image)
    assert again.std() > 0.05  # a real image, not a blank one
    rgb = replay.image_rgb(i)
    assert rgb.dtype == np.uint8 and rgb.shape == (*image.shape, 3)
    np.testing.assert_array_equal(rgb[..., 0], np.rint(np.clip(image, 0, 1) * 255))
    np.testing.assert_array_equal(rgb[..., 0], rgb[..., 2])
    # the injection shows: the frame while injecting differs from the needle-only one
    a, b = (live[k] for k in sorted(live))
    assert np.mean(np.abs(a - b)) > 1e-3


def test_replay_rejects_bad_input(scene: Scene) -> None:
    with pytest.raises(ValueError, match="no samples"):
        Replay(scene, [])
    with pytest.raises(ValueError, match=r"sample 0: Sample\.from_dict: missing key 'probe2world'"):
        Replay(scene, [{"t_s": 0.0}])


def test_cli_replay_matches_writes_frames_and_catches_edits(
    recorded: tuple, scene: Scene, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    db, result, _ = recorded
    monkeypatch.setattr("scenes.load_scene", lambda name, *a, **k: scene)
    out_dir = tmp_path / "frames"
    argv = ["replay", "--attempt", str(result.attempt_id), "--db", str(db)]
    assert main([*argv, "--out-dir", str(out_dir), "--every", "12"]) == 0
    text = capsys.readouterr().out
    assert "re-scored metrics match the stored ones" in text
    pngs = sorted(p.name for p in out_dir.glob("*.png"))
    assert pngs == [f"frame_{i:05d}_t{i / 4:07.2f}s.png" for i in (0, 12, 24, 36, 48)]
    # an edited stored metric: the replay tells (exit 1)
    with sqlite3.connect(db) as c:
        (raw,) = c.execute(
            "SELECT metrics_json FROM attempts WHERE id = ?", (result.attempt_id,)
        ).fetchone()
        metrics = json.loads(raw)
        metrics["skin_punctures"] = 0.0
        c.execute(
            "UPDATE attempts SET metrics_json = ? WHERE id = ?",
            (json.dumps(metrics), result.attempt_id),
        )
    assert main(argv) == 1
    text = capsys.readouterr().out
    assert "MISMATCH: 1 metrics differ from the stored ones: skin_punctures" in text
