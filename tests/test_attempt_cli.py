"""Headless attempts: the runner on the example trajectories, the records, the CLI, SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from scenes import Scene, load_scene
from simulator.app.attempt_runner import AttemptResult, run_attempt
from simulator.app.cli import main
from simulator.app.trajectory import load_trajectory, save_trajectory
from simulator.records import RecordStore

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "trajectories"
RATE_HZ = 5.0  # modest: the examples say 20 Hz


@pytest.fixture(scope="module")
def scene(scene_cache: Path) -> Scene:
    return load_scene("knee_suprapatellar_recess", cache_dir=scene_cache)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("records") / "records.sqlite"


def _trajectory(name: str, rate_hz: float = RATE_HZ):
    return replace(load_trajectory(EXAMPLES / f"{name}.json"), sample_rate_hz=rate_hz)


@pytest.fixture(scope="module")
def runs(scene: Scene, db: Path) -> dict[str, AttemptResult]:
    with RecordStore(db) as store:
        return {
            name: run_attempt(scene, _trajectory(f"knee_recess_{name}"), store=store, trainee="Ana")
            for name in ("good", "bad")
        }


def test_the_good_attempt_passes_with_known_values(runs: dict[str, AttemptResult]) -> None:
    r = runs["good"]
    v = r.values
    assert r.passed
    assert all(c.met for c in r.grade.results)
    assert v["skin_punctures"] == 1.0
    assert v["target_reached"] == 1.0
    assert v["min_tip_to_target_mm"] == pytest.approx(0.0, abs=1e-9)
    assert v["tip_to_target_at_injection_mm"] == pytest.approx(0.0, abs=1e-9)
    assert v["injectate_in_target_fraction"] > 0.85
    assert v["needle_passes"] == 1.0
    assert v["bone_strikes"] == 0.0 and v["intratendinous_events"] == 0.0
    # 2 ml at 0.5 ml/s, all delivered, where it went adds up to it
    assert r.samples[-1].injected_ml == pytest.approx(2.0, abs=1e-9)
    assert sum(r.distribution_ml.values()) == pytest.approx(2.0, abs=0.01)
    # probe slid 4 mm before the needle went in, then held still
    assert v["probe_path_length_mm"] == pytest.approx(4.0, abs=1e-9)
    assert v["probe_movement_while_advancing_mm"] == pytest.approx(0.0, abs=1e-9)
    # in plane, entry 1 mm beyond the probe end: the tip is seen for most of the way
    assert 0.85 <= v["tip_visibility_fraction"] < 1.0
    # path: (28, 0, 0) to (12, 0, 20)
    assert v["path_length_mm"] == pytest.approx((16**2 + 20**2) ** 0.5, abs=0.01)
    assert v["total_time_s"] == pytest.approx(12.0)
    kinds = [e.kind for s in r.samples for e in s.events]
    assert kinds.count("skin_puncture") == 1
    assert kinds.count("target_reached") == 1
    assert kinds.count("aspiration") == 1 and kinds[-1] == "injection"


def test_the_bad_attempt_fails_on_the_right_criteria(runs: dict[str, AttemptResult]) -> None:
    r = runs["bad"]
    assert r.passed is False
    failed = {c.criterion.metric for c in r.grade.results if not c.met}
    assert failed == {
        "tip_to_target_at_injection_mm",
        "injectate_in_target_fraction",
        "tip_visibility_fraction",
        "injections_tip_not_visible",
    }
    v = r.values
    assert v["tip_visibility_fraction"] == 0.0  # 4 mm out of plane: never in the slice
    assert v["max_needle_beam_distance_mm"] == pytest.approx(4.0, abs=1e-9)
    assert v["target_reached"] == 0.0
    assert v["min_tip_to_target_mm"] > 5.0
    assert v["injections_tip_not_visible"] == 1.0
    assert r.samples[-1].injected_ml == pytest.approx(1.0, abs=1e-9)


def test_attempts_are_stored_as_they_ran(runs: dict[str, AttemptResult], db: Path) -> None:
    with RecordStore(db) as store:
        assert store.verify_chain() == []
        for name, duration_s in (("good", 12.0), ("bad", 8.5)):
            r = runs[name]
            rec = store.attempt(r.attempt_id)
            assert (rec.status, rec.trainee, rec.mode) == ("complete", "Ana", "practice")
            assert rec.scene == "knee_suprapatellar_recess"
            assert rec.settings["seed"] == 7 and rec.settings["gauge"] == 22
            assert rec.settings["trajectory"]["format"] == "injection-sim-trajectory"
            assert rec.settings["sample_rate_hz"] == RATE_HZ
            samples = store.samples(r.attempt_id)
            assert abs(len(samples) - (duration_s * RATE_HZ + 1)) <= 1
            assert [s["t_s"] for s in samples] == [s.t_s for s in r.samples]
            events = store.events(r.attempt_id)
            assert events == [e.to_dict() for s in r.samples for e in s.events]
            assert rec.metrics == pytest.approx(r.values, nan_ok=True)
            assert rec.grade["passed"] is r.passed
            assert [c["metric"] for c in rec.grade["criteria"]] == [
                c.criterion.metric for c in r.grade.results
            ]


def _short_good(path: Path) -> Path:
    """The good example made short: into the recess in 2 s, 0.5 ml in 0.5 s, at 4 Hz."""
    doc = json.loads((EXAMPLES / "knee_recess_good.json").read_text())
    doc["sample_rate_hz"] = 4
    doc["keyframes"] = [
        {"t_s": 0.0, "probe": {"position_mm": [8.0, 0.0, 0.0]}},
        {"t_s": 0.25, "needle": {"entry_mm": [28.0, 0.0, 0.0], "tip_mm": [28.0, 0.0, 0.0]}},
        {"t_s": 2.25, "needle": {"entry_mm": [28.0, 0.0, 0.0], "tip_mm": [12.0, 0.0, 20.0]}},
        {"t_s": 2.5, "inject_ml_per_s": 1.0},
        {"t_s": 3.0, "inject_ml_per_s": 0.0, "finish": True},
    ]
    path.write_text(json.dumps(doc))
    return path


def test_cli_attempt_json_end_to_end(
    tmp_path: Path,
    scene: Scene,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the scene already loaded (and its scoring context built): the command loads it by name
    loaded = []
    monkeypatch.setattr("scenes.load_scene", lambda name, *a, **k: loaded.append(name) or scene)
    traj = _short_good(tmp_path / "good.json")
    db = tmp_path / "cli.sqlite"
    argv = ["attempt", "--scene", "knee_suprapatellar_recess", "--trajectory", str(traj)]
    assert main([*argv, "--trainee", "Cleo", "--mode", "exam", "--json", "--db", str(db)]) == 0
    raw = capsys.readouterr().out
    out = json.loads(raw)
    assert "NaN" not in raw  # undefined metrics are null: strict JSON
    assert out["passed"] is True
    assert out["n_samples"] == 13
    assert out["metrics"]["skin_punctures"] == 1.0
    assert out["distribution_ml"]["suprapatellar_recess"] > 0.35
    assert out["metrics"]["time_to_target_view_s"] == 0.0  # the start pose shows the target
    assert {c["metric"] for c in out["grade"]["criteria"]} >= {"tip_visibility_fraction"}
    with RecordStore(db) as store:
        rec = store.attempt(out["attempt_id"])
        assert (rec.trainee, rec.mode, rec.status) == ("Cleo", "exam", "complete")
        assert rec.metrics["skin_punctures"] == 1.0
    # the readable form lists each criterion with value, threshold and pass/fail
    assert main([*argv, "--trainee", "Cleo", "--db", str(db)]) == 0
    text = capsys.readouterr().out
    assert "grade: PASS (7 of 7 criteria met" in text
    assert "pass  tip_to_target_at_injection_mm" in text and "<= 1.00 mm" in text
    assert loaded == ["knee_suprapatellar_recess"] * 2


def test_cli_attempt_errors_are_user_errors(
    tmp_path: Path, scene: Scene, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.json"
    doc = json.loads((EXAMPLES / "knee_recess_good.json").read_text())
    doc["keyframes"][3]["needle"]["tip_mm"] = [12.0, 0.0]
    broken.write_text(json.dumps(doc))
    db = ["--db", str(tmp_path / "e.sqlite")]
    assert main(["attempt", "--trajectory", str(broken), "--trainee", "A", *db]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: trajectory file") and "keyframe 3.needle.tip_mm" in err
    assert main(["replay", "--attempt", "5", *db]) == 2
    assert "--attempt 5: no such attempt" in capsys.readouterr().err


def test_sigkill_mid_attempt_keeps_the_samples_and_marks_it_incomplete(
    tmp_path: Path, scene: Scene, scene_cache: Path
) -> None:
    rate_hz = 10.0
    traj = save_trajectory(_trajectory("knee_recess_good", rate_hz), tmp_path / "slow.json")
    db = tmp_path / "kill.sqlite"
    env = dict(os.environ, INJECTION_SIM_CACHE=str(scene_cache), INJECTION_SIM_DB=str(db))
    cmd = [sys.executable, str(ROOT / "main.py"), "attempt", "--trajectory", str(traj)]
    proc = subprocess.Popen(
        [*cmd, "--trainee", "Kim", "--realtime"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        # wait for the attempt to start recording (scene loading is not part of it)
        deadline = time.monotonic() + 60.0
        started = None
        while time.monotonic() < deadline and proc.poll() is None:
            if db.exists():
                try:
                    with sqlite3.connect(db) as c:
                        if c.execute("SELECT count(*) FROM attempts").fetchone()[0]:
                            started = time.monotonic()
                            break
                except sqlite3.Error:
                    pass
            time.sleep(0.05)
        assert started is not None, proc.stderr.read().decode() if proc.poll() else "timeout"
        time.sleep(1.5)
        proc.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    with RecordStore(db) as store:
        assert store.recovered == [1]
        rec = store.attempt(1)
        assert rec.status == "incomplete" and rec.metrics is None
        samples = store.samples(1)
        # real time at 10 Hz: all but (at most) the last second before the kill are there
        ran_s = killed - started
        assert len(samples) >= (ran_s - 1.0) * rate_hz
        assert len(samples) <= (ran_s + 0.2) * rate_hz + 1
        assert [s["t_s"] for s in samples] == pytest.approx([0.1 * i for i in range(len(samples))])
        assert store.verify_chain() == []
