"""The session journal: intents recorded between samples replay an attempt exactly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from scenes import load_scene
from scenes.skin import skin_surface
from simulator.app.attempt_runner import sample_record, scorer_for
from simulator.app.replay import Replay, metrics_match
from simulator.app.scan_session import ScanSession
from simulator.app.session_driver import ManualClock, settled_frame_request
from simulator.app.session_journal import (
    CALLS_KEY,
    START_KEY,
    JournalRecorder,
    replay_calls,
    restore,
    snapshot,
)
from simulator.app.session_sampler import SessionSampler
from simulator.probe import SettingsError
from simulator.records import RecordStore
from simulator.scoring.samples import Sample

SCENE = "knee_suprapatellar_recess"
SAMPLE_S = 0.05  # the window's 20 Hz
INTENT_S = 1.0 / 60.0  # intents come at the frame rate, several per sample
T0_S = 1000.0  # a monotonic-clock-like start time


@pytest.fixture(scope="module")
def scene(scene_cache: Path):
    return load_scene(SCENE)


def _session(scene, t_s: float = T0_S) -> tuple[ScanSession, ManualClock]:
    clock = ManualClock(t_s)
    return ScanSession(scene, skin_surface(scene), clock=clock), clock


def _script() -> list[tuple[str, tuple]]:
    """Intents of a hand at the keyboard, one per frame.

    Needle placed and steepened, then advanced 1 mm a frame until bone stops
    it, withdrawn within the same sample, the image deepened and preset
    changed, redirected shallower, advanced into the recess, aspirated, 1 ml
    injected at 60 frames/s, the probe slid and tilted, the needle removed.
    """
    intents: list[tuple[str, tuple]] = [("place_needle", ()), ("steer", ("angle", 10))]
    intents += [("advance", (1.0,))] * 31  # bone at about 30 mm
    intents += [("advance", (-4.0,))]
    intents += [("step_setting", ("depth", 1)), ("apply_preset", ("deep_joint",))]
    intents += [("advance", (-20.0,)), ("steer", ("angle", -10))]
    intents += [("advance", (1.0,))] * 20
    intents += [("aspirate", ())]
    intents += [("inject", (0.05,))] * 20 + [("finish_injection", ())]
    intents += [("slide", (1.0, 0.0)), ("turn", ("tilt", 2.0))]
    intents += [("set_settings", ({"gain_db": 4.0, "tgc_db": (1.0,) * 8},))]
    intents += [("set_settings", ({"depth_mm": -5.0},))]  # invalid: raises, changes nothing
    intents += [("remove_needle", ())]
    return intents


def _tracked_script(scene) -> list[tuple[str, tuple]]:
    """A tracked probe and needle at 250 Hz: the needle pushed from the procedure's
    entry toward the target through the probe's plane, the probe drifting with the
    hand, then 0.5 ml injected."""
    session, _ = _session(scene)
    try:
        start = session.probe2world()
    finally:
        session.close()
    proc = scene.spec.procedure
    entry = np.asarray(proc.needle.entry_mm, dtype=np.float64)
    aim = np.asarray(proc.target.point_mm, dtype=np.float64)
    direction = (aim - entry) / np.linalg.norm(aim - entry)
    intents: list[tuple[str, tuple]] = []
    n = 250  # 1 s of tracking
    for k in range(n):
        pose = start.copy()
        pose[:3, 3] += 0.5 * np.sin(k / 40.0) * start[:3, 1]  # hand drift across the slice
        depth_mm = (np.linalg.norm(aim - entry) + 2.0) * (k - 20) / (n - 40)
        tip = entry + (direction * depth_mm if depth_mm > 0 else -2.0 * direction)
        intents += [("set_probe_pose", (pose,)), ("set_needle_tip", (entry, tip))]
    intents += [("inject", (0.004,))] * 125 + [("finish_injection", ())]
    return intents


def _live(scene, store: RecordStore | None = None, script=None, intent_s: float = INTENT_S):
    """Run the script as the window would: samples at 20 Hz, intents between them.

    Returns the stored sample dicts, the live metric values, the live events
    and the settled frame of the sample after the imaging change.
    """
    session, clock = _session(scene)
    recorder = JournalRecorder()
    recorder.attach(session)
    sampler = SessionSampler(session)
    scorer = scorer_for(scene)
    records: list[dict] = []
    started = False
    next_sample_s = T0_S + SAMPLE_S
    frame_index, frame = -1, None
    attempt_id = None
    if store is not None:
        attempt_id = store.start_attempt("journal", scene.spec.name, "practice", {})
    try:
        for name, args in _script() if script is None else script:
            clock.t_s += intent_s
            if clock.t_s >= next_sample_s:  # a sample tick before this intent
                t = next_sample_s
                next_sample_s += SAMPLE_S
                sample = sampler.sample(t_s=t)
                if not started and any(e.kind == "skin_puncture" for e in sample.events):
                    started = True
                    records.append(sample_record(sample, recorder.take(start=True)))
                elif started:
                    records.append(sample_record(sample, recorder.take()))
                    if frame is None and session.preset == "deep_joint":
                        frame_index = len(records) - 1
                        frame = session.engine.render(settled_frame_request(session, t))
                else:
                    recorder.idle()
            if name == "set_settings" and args[0].get("depth_mm", 1.0) < 0:
                with pytest.raises(SettingsError):
                    session.set_settings(**args[0])
                continue
            if name == "set_settings":
                session.set_settings(**args[0])
                continue
            getattr(session, name)(*args)
        clock.t_s += intent_s
        records.append(sample_record(sampler.sample(t_s=clock.t_s), recorder.take()))
        records = json.loads(json.dumps(records))  # as the store keeps them
        scorer.update_all([Sample.from_dict(r) for r in records])
        scorer.finish(session.injection.distribution_ml())
        if store is not None:
            store.add_samples(attempt_id, records)
            store.finish_attempt(attempt_id, scorer.values(), None)
        events = [(e.t_s, e.kind, e.structure) for e in session.events.events]
        return records, scorer.values(), events, frame_index, frame, attempt_id
    finally:
        session.close()


@pytest.fixture(scope="module")
def live(scene, tmp_path_factory):
    db = tmp_path_factory.mktemp("journal") / "records.sqlite"
    store = RecordStore(db)
    try:
        result = _live(scene, store)
        yield (store, *result)
    finally:
        store.close()


def test_the_script_does_things_between_samples(live) -> None:
    _store, records, _values, events, _i, frame, _id = live
    kinds = [k for _t, k, _s in events]
    assert "bone_contact" in kinds and "injection" in kinds and "aspiration" in kinds
    assert frame is not None
    # the bone contact and the withdrawal from it fall between two samples
    bone = next(
        i for i, r in enumerate(records) if any(e["kind"] == "bone_contact" for e in r["events"])
    )
    assert records[bone]["tip_mm"] is not None
    first = records[0]["cmd"]
    assert START_KEY in first and first[START_KEY]["needle"] is not None
    assert first[START_KEY]["needle"]["depth_mm"] == 0.0  # resting on the skin
    # more intents than samples: several calls per sample
    n_calls = sum(len(r["cmd"][CALLS_KEY]) for r in records)
    assert n_calls > 1.5 * len(records)


def test_replay_rescores_to_the_live_metrics(live, scene) -> None:
    store, _records, values, _events, _i, _frame, attempt_id = live
    replay = Replay.from_record(store, attempt_id, scene)
    rescored, _grade = replay.rescore()
    assert metrics_match(values, rescored) == []
    assert values["bone_strikes"] >= 1 and values["redirections"] >= 1


def test_replay_gives_the_live_events_at_their_times(live, scene) -> None:
    _store, records, _values, events, _i, _frame, _id = live
    replay = Replay(scene, records)
    replayed = replay.resample()
    got = [(e.t_s, e.kind, e.structure) for s in replayed for e in s.events]
    # the live log also holds the intents before the attempt started (the needle
    # placed on the skin): none of those made events
    assert got == events
    # the bare samples (no journal) miss what happened between them
    bare = [{k: v for k, v in r.items() if k != "cmd"} for r in records]
    bare_events = [(e.t_s, e.kind) for s in Replay(scene, bare).resample() for e in s.events]
    assert bare_events != [(t, k) for t, k, _s in events]


def test_imaging_changes_from_the_panel_replay(live, scene) -> None:
    _store, records, *_ = live
    calls = [c for r in records for c in r["cmd"][CALLS_KEY] if c[1] == "set_settings"]
    assert [c[2] for c in calls] == [{"gain_db": 4.0, "tgc_db": [1.0] * 8}]
    with Replay(scene, records) as replay:
        replay.seek(replay.n_frames - 1)
        assert replay.session.settings.gain_db == 4.0
        assert replay.session.settings.tgc_db == (1.0,) * 8


def test_replay_frame_is_the_live_frame_after_the_imaging_change(live, scene) -> None:
    _store, records, _values, _events, index, frame, _id = live
    with Replay(scene, records) as replay:
        again = replay.frame(index)
        assert replay.session.preset == "deep_joint"  # the preset change was redone
    np.testing.assert_array_equal(again.image, frame.image)


def test_a_tracked_attempt_replays_exactly(scene) -> None:
    """Poses at 250 Hz between 20 Hz samples (what the tracking control sends)."""
    records, values, events, *_ = _live(scene, script=_tracked_script(scene), intent_s=1 / 250)
    assert {"skin_puncture", "target_reached", "injection"} <= {k for _t, k, _s in events}
    calls = [c[1] for r in records for c in r["cmd"][CALLS_KEY]]
    assert calls.count("set_probe_pose") > 200 and calls.count("inject") == 125
    replay = Replay(scene, records)
    rescored, _grade = replay.rescore()
    assert metrics_match(values, rescored) == []
    replayed = [(e.t_s, e.kind, e.structure) for s in replay.resample() for e in s.events]
    assert replayed == events
    assert values["probe_movement_while_advancing_mm"] > 0.0


# ------------------------------------------------------------------ journal unit tests


def test_only_the_outermost_intent_is_journaled(scene) -> None:
    session, clock = _session(scene)
    calls: list = []
    session.journal = lambda t, n, a: calls.append((t, n, a))
    try:
        session.slide(1.0, 0.0)  # calls set_handle itself
        clock.t_s += 0.5
        session.step_setting("depth", 1)  # calls set_settings itself
        with pytest.raises(SettingsError):
            session.set_settings(depth_mm=-1.0)  # changed nothing: not journaled
        session.needle_gauge = 25
        assert [n for _t, n, _a in calls] == ["slide", "step_setting", "set_needle_gauge"]
        assert calls[0][0] == T0_S and calls[1][0] == T0_S + 0.5
        assert calls[0][2] == {"along_steps": 1.0, "across_steps": 0.0, "kind": "normal"}
        json.dumps(calls)  # plain types only
    finally:
        session.close()


def test_handle_and_arrays_round_trip(scene) -> None:
    live, _ = _session(scene)
    again, clock = _session(scene)
    calls: list = []
    live.journal = lambda t, n, a: calls.append([t, n, a])
    try:
        live.set_handle(live.handle.slide(3.0, -2.0).rotate(15.0))
        pose = live.probe2world()
        pose[:3, 3] += (1.0, 2.0, -0.5)
        live.set_probe_pose(pose)
        replay_calls(again, lambda t: setattr(clock, "t_s", t), json.loads(json.dumps(calls)))
        np.testing.assert_array_equal(again.probe2world(), live.probe2world())
        assert again.handle == live.handle
    finally:
        live.close()
        again.close()


def test_snapshot_restores_probe_imaging_and_resting_needle(scene) -> None:
    live, _ = _session(scene)
    fresh, _ = _session(scene)
    try:
        live.turn("tilt", 3.0)
        live.apply_preset("nerve")
        live.step_setting("gain", 4)
        live.needle_gauge = 25
        live.place_needle()
        snap = json.loads(json.dumps(snapshot(live)))
        restore(fresh, snap)
        assert fresh.settings == live.settings and fresh.preset == "nerve"
        assert fresh.handle == live.handle
        np.testing.assert_array_equal(fresh.probe2world(), live.probe2world())
        assert fresh.needle == live.needle and fresh.needle_gauge == 25
        assert len(fresh.events) == 0
    finally:
        live.close()
        fresh.close()


def test_snapshot_restores_a_flat_tracked_needle_and_its_own_gauge(scene) -> None:
    """A tracked needle hovering nearly flat (2.9 deg, below the 5 deg of a placed one),
    its entry a hair off the skin, placed before the gauge was changed."""
    live, _ = _session(scene)
    fresh, _ = _session(scene)
    try:
        z = float(live.skin.height_mm(-20.0, 0.0))
        entry = np.array([-20.0, 0.0, z - 1e-4])
        live.set_needle_tip(entry, entry + np.array([-20.0, 0.0, -1.0]))
        live.needle_gauge = 18  # the next needle; this one stays as it is
        assert live.needle is not None and not live.needle.inserted
        assert live.needle.angle_deg < 5.0 and live.needle.gauge != 18
        restore(fresh, json.loads(json.dumps(snapshot(live))))
        assert fresh.needle == live.needle  # bit for bit, gauge included
        assert fresh.needle_gauge == 18 and len(fresh.events) == 0
    finally:
        live.close()
        fresh.close()


def test_bad_journals_are_refused_with_the_reason(scene) -> None:
    session, clock = _session(scene)
    set_time = lambda t: setattr(clock, "t_s", t)  # noqa: E731
    try:
        with pytest.raises(ValueError, match="'close' is not a replayable intent"):
            replay_calls(session, set_time, [[0.0, "close", {}]])
        with pytest.raises(ValueError, match=r"call 0: expected \[t_s, name, args\]"):
            replay_calls(session, set_time, [[0.0, "advance"]])
        with pytest.raises(ValueError, match="snapshot version"):
            restore(session, {"version": 99})
        snap = snapshot(session)
        del snap["settings"]
        with pytest.raises(ValueError, match="missing field 'settings'"):
            restore(session, snap)
    finally:
        session.close()


def test_recorder_follows_one_session_at_a_time(scene) -> None:
    a, _ = _session(scene)
    b, _ = _session(scene)
    recorder = JournalRecorder()
    try:
        recorder.attach(a)
        a.slide(1.0, 0.0)
        recorder.attach(b)
        assert a.journal is None
        before = snapshot(b)
        a.slide(1.0, 0.0)
        b.turn("rock", 1.0)
        cmd = recorder.take(start=True)
        assert [c[1] for c in cmd[CALLS_KEY]] == ["turn"]
        assert cmd[START_KEY] == before  # the state before the calls
        assert recorder.take() == {CALLS_KEY: []}
        recorder.attach(None)
        assert b.journal is None
    finally:
        a.close()
        b.close()
