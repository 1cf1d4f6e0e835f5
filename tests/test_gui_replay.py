"""The replay window on a real stored attempt: frames, events, playback, re-score."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6")
from PySide6.QtCore import QPoint, Qt

from scenes import Scene, load_scene
from simulator.app.attempt_runner import AttemptResult, run_attempt
from simulator.app.replay import Replay
from simulator.app.trajectory import load_trajectory
from simulator.gui.replay_window import ReplayWindow, open_replay_window
from simulator.records import RecordStore

REPO = Path(__file__).resolve().parents[1]
TRAJECTORY = REPO / "examples" / "trajectories" / "knee_recess_good.json"
#: Sample rate of the recorded test attempt, Hz (the file's 20 Hz would take a minute).
RATE_HZ = 1.0
LOAD_TIMEOUT_MS = 30_000
FRAME_TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def scene(scene_cache: Path) -> Scene:
    return load_scene("knee_suprapatellar_recess", cache_dir=scene_cache)


@pytest.fixture(scope="module")
def recorded(
    scene: Scene, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RecordStore, AttemptResult]]:
    if not TRAJECTORY.is_file():
        pytest.skip(f"{TRAJECTORY} not there")
    trajectory = dataclasses.replace(load_trajectory(TRAJECTORY), sample_rate_hz=RATE_HZ)
    with RecordStore(tmp_path_factory.mktemp("records") / "r.sqlite") as store:
        result = run_attempt(scene, trajectory, store=store, trainee="Ana", mode="exam")
        yield store, result


def _window(qtbot, store: RecordStore, attempt_id: int, **kwargs) -> ReplayWindow:
    window = ReplayWindow(store, attempt_id, rescore=False, **kwargs)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.replay is not None, timeout=LOAD_TIMEOUT_MS)
    qtbot.waitUntil(lambda: window.shown_index == 0, timeout=FRAME_TIMEOUT_MS)
    return window


def _show(qtbot, window: ReplayWindow, index: int) -> np.ndarray:
    window.set_index(index)
    qtbot.waitUntil(
        lambda: window.shown_index == index and window.worker.idle(), timeout=FRAME_TIMEOUT_MS
    )
    frame = window.image_view.frame
    assert frame is not None
    return frame.image


def test_the_slider_moves_through_the_frames_and_the_image_changes(qtbot, recorded, scene) -> None:
    store, result = recorded
    window = _window(qtbot, store, result.attempt_id, scene=scene)
    n = len(result.samples)
    assert n == 13
    assert (window.slider.minimum(), window.slider.maximum()) == (0, n - 1)
    first = window.image_view.frame.image.copy()
    assert window.time_label.text().split() == ["0.00", "s", "/", "12.00", "s", "frame", "1/13"]
    # the needle is in and the injectate has spread by the end: a different image
    last = _show(qtbot, window, n - 1)
    assert window.time_label.text().startswith(" 12.00 s")
    assert np.mean(np.abs(last - first)) > 0.01
    # backwards (the replay restarts from its first sample): the same image as a fresh replay
    middle = _show(qtbot, window, 6)
    with Replay.from_record(store, result.attempt_id, scene=scene) as fresh:
        assert np.array_equal(middle, fresh.frame(6).image)
    window.forward_button.click()
    assert window.current_index == 7
    window.back_button.click()
    window.back_button.click()
    assert window.current_index == 5
    window.first_button.click()
    assert window.current_index == 0
    window.close()


def test_clicking_an_event_jumps_to_its_frame(qtbot, recorded, scene) -> None:
    store, result = recorded
    window = _window(qtbot, store, result.attempt_id, scene=scene)
    timeline = window.replay.events_timeline()
    assert window.events_list.topLevelItemCount() == len(timeline) > 3
    kinds = [window.events_list.topLevelItem(i).text(1) for i in range(len(timeline))]
    row = kinds.index("injection")
    t_s = timeline[row][0]
    item = window.events_list.topLevelItem(row)
    qtbot.waitExposed(window)
    window.events_list.scrollToItem(item)
    rect = window.events_list.visualItemRect(item)
    where = QPoint(rect.left() + 10, rect.center().y())
    qtbot.mouseClick(window.events_list.viewport(), Qt.MouseButton.LeftButton, pos=where)
    expected = int(np.searchsorted(window.replay.times_s, t_s + 1e-9, side="right")) - 1
    assert window.current_index == expected
    assert window.replay.times_s[expected] <= t_s < window.replay.times_s[expected] + 1 / RATE_HZ
    qtbot.waitUntil(lambda: window.shown_index == expected, timeout=FRAME_TIMEOUT_MS)
    skin = kinds.index("skin puncture")
    assert window.jump_to_event(skin) == window.replay.index_at(timeline[skin][0])
    assert len(window.slider.marks) == len(timeline)
    window.close()


def test_the_stored_and_rescored_metrics_match(qtbot, recorded) -> None:
    store, result = recorded
    window = open_replay_window(None, store, result.attempt_id)  # loads the scene by name
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.rescored_values is not None, timeout=120_000)
    assert window.differences == []
    assert window.rescored_values == pytest.approx(result.values, nan_ok=True)
    assert window.match_label.text().startswith("✔ Re-score matches the stored metrics")
    assert "stored PASS, re-scored PASS" in window.match_label.text()
    table = window.metrics_table
    rows = {table.item(r, 0).text(): table.item(r, 3).text() for r in range(table.rowCount())}
    assert len(rows) == len(result.values)
    assert set(rows.values()) == {"="}
    stored = {table.item(r, 0).text(): table.item(r, 1).text() for r in range(table.rowCount())}
    assert stored["needle_passes"] == "1"
    qtbot.waitUntil(lambda: window.shown_index == 0, timeout=FRAME_TIMEOUT_MS)
    window.resize(1300, 760)
    window.set_index(len(result.samples) - 1)
    qtbot.waitUntil(lambda: window.shown_index == window.slider.maximum(), timeout=FRAME_TIMEOUT_MS)
    assert window.grab().save("/tmp/h7_replay.png")
    window.close()


def test_play_runs_in_real_time_at_the_chosen_speed(qtbot, recorded, scene) -> None:
    store, result = recorded
    window = _window(qtbot, store, result.attempt_id, scene=scene)
    n = window.replay.n_frames
    _show(qtbot, window, n - 2)  # 1 s of attempt left
    window.set_speed(2.0)
    t0 = time.monotonic()
    window.play()
    assert window.playing
    qtbot.waitUntil(lambda: not window.playing, timeout=10_000)
    elapsed = time.monotonic() - t0
    assert window.current_index == n - 1
    assert 0.45 <= elapsed < 3.0  # 1 s of attempt at 2x
    assert window.play_button.text() == "▶ Play"
    window.close()


def test_a_replay_that_cannot_load_says_why(qtbot, recorded) -> None:
    store, result = recorded

    def broken():
        raise ValueError("attempt 99: no recorded samples to replay")

    window = ReplayWindow(store, result.attempt_id, replay_factory=broken)
    qtbot.addWidget(window)
    qtbot.waitUntil(
        lambda: "no recorded samples" in window.statusBar().currentMessage(), timeout=5000
    )
    assert not window.slider.isEnabled()
    assert window.match_label.text().startswith("Not re-scored")
    window.close()
