"""Attempts recorded by the window's AttemptController replay exactly, back to back."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from scenes import load_scene
from scenes.skin import skin_surface
from simulator.app.replay import Replay, metrics_match
from simulator.app.scan_session import ScanSession
from simulator.app.session_driver import ManualClock
from simulator.gui.attempt_controller import AttemptController
from simulator.records import RecordStore

SCENE = "knee_suprapatellar_recess"


def test_an_attempt_started_at_once_after_another_replays_exactly(
    qtbot, scene_cache: Path, tmp_path: Path
) -> None:
    """The second attempt's puncture comes before any idle tick (a tracked needle put
    back at once after the fresh tissue): it must start from the state the first one
    left (imaging and probe changed during it), not from the one the first began in."""
    scene = load_scene(SCENE)
    clock = ManualClock(1000.0)
    session = ScanSession(scene, skin_surface(scene), clock=clock)
    store = RecordStore(tmp_path / "records.sqlite")
    controller = AttemptController(store=store, clock=clock)
    try:
        controller.set_session(session)
        controller.timer.stop()  # the test ticks the 20 Hz sampler itself
        qtbot.waitUntil(lambda: controller.scorer_ready, timeout=60_000)

        def tick() -> None:
            clock.t_s += 0.05
            controller.tick()

        session.place_needle()
        tick()
        for i in range(20):
            clock.t_s += 0.01
            session.advance(1.0)
            if i == 10:  # imaging and probe changed during the first attempt
                session.apply_preset("deep_joint")
                session.step_setting("depth", 1)
                session.slide(0.0, 1.0)
            tick()
        assert controller.running
        first = controller.finish("complete")
        assert first is not None
        # between the attempts, no idle tick: tissue renewed, punctured again
        clock.t_s += 0.01
        session.reset_tissue()
        session.place_needle()
        session.steer("angle", 3)
        session.advance(3.0)
        tick()
        assert controller.running
        second_id = controller.attempt_id
        for _ in range(15):
            clock.t_s += 0.01
            session.advance(1.0)
            tick()
        second = controller.finish("complete")
        assert second is not None and second.attempt_id == second_id
        for result in (first, second):
            with Replay.from_record(store, result.attempt_id, scene) as replay:
                values, _grade = replay.rescore()
                replay.seek(0)
                start_preset = replay.session.preset
            assert metrics_match(result.values, values) == [], result.attempt_id
        assert start_preset == "deep_joint"  # the second attempt's start state
        assert second.values["insertion_angle_deg"] != first.values["insertion_angle_deg"]
    finally:
        controller.close()
        session.close()
