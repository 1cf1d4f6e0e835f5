"""Exam and demo modes in the real window: guidance lock, instructor PIN, timer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")
from PySide6.QtCore import Qt

from simulator.gui.main_window import MainWindow
from simulator.gui.mode_control import LOCKED_MESSAGE
from simulator.gui.mode_dialogs import ExamSetup, check_new_pin
from simulator.gui.score_panel import format_clock
from simulator.needle_events import NeedleEvent
from tests.gui_helpers import dispose

SCENE = "knee_suprapatellar_recess"
INSTRUCTOR, PIN = "Dr Lee", "2468"


@pytest.fixture(scope="module")
def gui_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("gui_exam")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INJECTION_SIM_CACHE", str(root / "cache"))
        mp.setenv("INJECTION_SIM_SETTINGS", str(root / "settings.ini"))
        yield root


class Prompts:
    """Stand-in for the dialogs: answers given by the test, calls counted."""

    def __init__(self) -> None:
        self.pin: tuple[str, str] | None = None
        self.setup = ExamSetup("Ana", INSTRUCTOR, PIN, 600.0)
        self.new_instructor: tuple[str, str] | None = None
        self.calls: list[str] = []

    def add_instructor(self, first_run: bool) -> tuple[str, str] | None:
        self.calls.append("add_instructor")
        return self.new_instructor

    def choose_trainee(self, names: list[str], current: str) -> str | None:
        self.calls.append("choose_trainee")
        return "Ben"

    def instructor_pin(self, instructors: list[str], reason: str) -> tuple[str, str] | None:
        self.calls.append("instructor_pin")
        return self.pin

    def exam_setup(
        self, trainees: list[str], instructors: list[str], time_limit_s: float, current: str
    ) -> ExamSetup | None:
        self.calls.append("exam_setup")
        return self.setup


@pytest.fixture
def window(qtbot, gui_env: Path, tmp_path: Path, monkeypatch) -> Iterator[MainWindow]:
    monkeypatch.setenv("INJECTION_SIM_DB", str(tmp_path / "records.sqlite"))
    win = MainWindow(scene=SCENE, synchronous=True, remember=False)
    win.show()
    qtbot.waitExposed(win)
    assert win.scene is not None, win.status_text()
    win.modes.prompts = Prompts()  # type: ignore[assignment]
    qtbot.waitUntil(lambda: win.attempts.scorer_ready, timeout=30_000)
    yield win
    dispose(win)


@pytest.fixture
def exam(window: MainWindow) -> MainWindow:
    """The window in exam mode (practice guidance all on before), instructor registered."""
    window.attempts.store.add_instructor(INSTRUCTOR, PIN)
    window.set_labels_visible(True)
    assert window.labels_visible and window.target_visible and not window.dock_3d.isHidden()
    assert window.set_mode("exam")
    return window


def _key(qtbot, win: MainWindow, key: Qt.Key) -> None:
    qtbot.keyClick(win.image_view, key)


def _guidance(win: MainWindow) -> tuple[bool, bool, bool, bool]:
    pres3d = win.presentation is not None and win.presentation.shows_3d
    return (win.labels_visible, win.target_visible, not win.dock_3d.isHidden(), pres3d)


def test_exam_turns_guidance_off_and_starts_a_timed_attempt(exam: MainWindow) -> None:
    a = exam.attempts
    assert exam.modes.mode == "exam" and exam.modes.locked
    assert _guidance(exam) == (False, False, False, False)
    assert not exam.action_labels.isChecked() and not exam.action_target.isChecked()
    assert exam.procedure_panel.text.isHidden()
    assert exam.anatomy_view.target_actor is not None
    assert not exam.anatomy_view.target_actor.GetVisibility()
    assert exam.modes.combo.currentData() == "exam"
    assert a.running and a.mode == "exam" and a.trainee == "Ana"
    assert a.time_limit_s == 600.0
    assert not exam.event_panel.guidance  # "target reached" is not listed in an exam
    n_rows = exam.event_panel.list.count()
    reached = NeedleEvent(1.0, "target_reached", (0.0, 0.0, 10.0), 10.0, "recess", "")
    punctured = NeedleEvent(1.0, "skin_puncture", (0.0, 0.0, 0.0), 0.0, "skin", "")
    exam.event_panel.add_events([reached, punctured])
    assert exam.event_panel.list.count() == n_rows + 1
    assert not exam.score_panel.live_visible()
    assert "Trainee: Ana" in exam.trainee_label.text()


def test_guidance_refused_without_pin(qtbot, exam: MainWindow) -> None:
    prompts = exam.modes.prompts
    prompts.pin = None  # the PIN dialog is cancelled
    for key in (Qt.Key.Key_L, Qt.Key.Key_T, Qt.Key.Key_F6):
        exam.statusBar().clearMessage()
        _key(qtbot, exam, key)
        assert _guidance(exam) == (False, False, False, False), key
        assert LOCKED_MESSAGE in exam.status_text()
    exam.action_labels.trigger()  # the toolbar button
    assert not exam.labels_visible and not exam.action_labels.isChecked()
    exam.action_target.trigger()
    assert not exam.target_visible and not exam.action_target.isChecked()
    assert not exam.set_3d_visible(True) and exam.dock_3d.isHidden()
    assert exam.createPopupMenu() is None  # no dock menu to bring the 3D view back
    # neither the mode nor the scene can change
    assert not exam.set_mode("practice")
    assert exam.modes.mode == "exam" and exam.modes.combo.currentData() == "exam"
    session = exam.session
    exam.procedure_panel.scene_chosen.emit(str(exam.scene.path))
    assert exam.session is session
    assert exam.attempts.running and exam.attempts.mode == "exam"
    assert prompts.calls.count("instructor_pin") == 8  # each refusal offered the PIN


def test_guidance_refused_with_a_wrong_pin(qtbot, exam: MainWindow) -> None:
    exam.modes.prompts.pin = (INSTRUCTOR, "1357")
    _key(qtbot, exam, Qt.Key.Key_L)
    assert not exam.labels_visible
    assert f"wrong PIN for {INSTRUCTOR}" in exam.status_text()
    assert exam.modes.locked


def test_guidance_unlocked_with_the_right_pin(qtbot, exam: MainWindow) -> None:
    prompts = exam.modes.prompts
    prompts.pin = (INSTRUCTOR, PIN)
    _key(qtbot, exam, Qt.Key.Key_L)
    assert exam.labels_visible
    assert f"guidance unlocked by {INSTRUCTOR}" in exam.status_text()
    assert not exam.modes.locked
    _key(qtbot, exam, Qt.Key.Key_T)  # unlocked for this exam: no second PIN
    assert exam.target_visible and exam.anatomy_view.target_actor.GetVisibility()
    assert prompts.calls.count("instructor_pin") == 1
    # leaving the exam puts the practice guidance back
    assert exam.set_mode("practice")
    assert _guidance(exam)[:3] == (True, True, True)
    assert exam.score_panel.live_visible()
    rec = exam.attempts.store.attempts(mode="exam")[0]
    assert rec.status == "incomplete"  # abandoned by the mode change


def test_an_unlock_does_not_carry_into_the_next_exam_attempt(qtbot, exam: MainWindow) -> None:
    prompts = exam.modes.prompts
    prompts.pin = (INSTRUCTOR, PIN)
    _key(qtbot, exam, Qt.Key.Key_L)  # unlocked during this attempt
    assert exam.labels_visible and not exam.modes.locked
    _key(qtbot, exam, Qt.Key.Key_F9)  # the attempt ends
    assert not exam.attempts.running
    prompts.pin = None  # the trainee alone: no new exam attempt
    _key(qtbot, exam, Qt.Key.Key_F9)
    assert not exam.attempts.running
    prompts.pin = (INSTRUCTOR, PIN)
    _key(qtbot, exam, Qt.Key.Key_F9)
    assert exam.attempts.running and exam.modes.locked
    assert _guidance(exam) == (False, False, False, False)


def test_leaving_exam_needs_the_pin(exam: MainWindow) -> None:
    exam.modes.prompts.pin = (INSTRUCTOR, PIN)
    assert exam.set_mode("practice")
    assert exam.modes.mode == "practice" and not exam.modes.locked
    assert _guidance(exam)[:3] == (True, True, True)


def test_exam_not_started_with_a_wrong_pin(window: MainWindow) -> None:
    window.attempts.store.add_instructor(INSTRUCTOR, PIN)
    window.modes.prompts.setup = ExamSetup("Ana", INSTRUCTOR, "0000", 600.0)
    assert not window.set_mode("exam")
    assert window.modes.mode == "practice" and not window.attempts.running
    assert "wrong PIN" in window.status_text()
    assert window.modes.combo.currentData() == "practice"


def test_first_exam_asks_for_an_instructor(window: MainWindow) -> None:
    prompts = window.modes.prompts
    prompts.new_instructor = (INSTRUCTOR, PIN)
    assert window.attempts.store.people("instructor") == []
    assert window.set_mode("exam")
    assert prompts.calls[:2] == ["add_instructor", "exam_setup"]
    assert window.attempts.store.verify_pin(INSTRUCTOR, PIN)
    assert not window.attempts.store.verify_pin(INSTRUCTOR, "2469")


def test_exam_timer_finishes_and_grades_the_attempt(qtbot, window: MainWindow) -> None:
    window.attempts.store.add_instructor(INSTRUCTOR, PIN)
    window.modes.prompts.setup = ExamSetup("Ana", INSTRUCTOR, PIN, 1.0)
    assert window.set_mode("exam")
    a = window.attempts
    attempt_id = a.attempt_id
    qtbot.wait(300)
    assert "left" in window.score_panel.clock.text()
    assert window.score_panel.live_text("distance") == "–"  # hidden and never filled
    qtbot.waitUntil(lambda: not a.running, timeout=5000)
    rec = a.store.attempt(attempt_id)
    assert (rec.mode, rec.trainee, rec.status) == ("exam", "Ana", "complete")
    assert rec.settings["time_limit_s"] == 1.0
    assert 0.9 < rec.metrics["total_time_s"] < 2.0
    assert rec.grade is not None and rec.grade["passed"] is False  # the target was never reached
    assert len(window.score_panel.grade_rows()) == len(rec.grade["criteria"])
    assert window.score_panel.verdict.text().startswith("FAIL")
    # still locked after the exam; a new attempt needs the PIN
    window.modes.prompts.pin = None
    _key(qtbot, window, Qt.Key.Key_F9)
    assert not a.running and window.modes.locked


def test_demo_attempt_recorded_as_demo_without_grade(qtbot, window: MainWindow) -> None:
    assert window.set_mode("demo")
    assert window.modes.prompts.calls == []  # no PIN for a demonstration
    assert _guidance(window)[1:3] == (True, True)
    _key(qtbot, window, Qt.Key.Key_F9)
    qtbot.wait(200)
    _key(qtbot, window, Qt.Key.Key_F9)
    rec = window.attempts.store.attempt(window.attempts.last_result.attempt_id)
    assert (rec.mode, rec.trainee, rec.status, rec.grade) == (
        "demo",
        "demonstration",
        "complete",
        None,
    )
    assert rec.metrics["total_time_s"] > 0.1
    assert window.score_panel.verdict.text() == "Demonstration"


def test_trainee_chooser_sets_the_trainee_of_practice_attempts(window: MainWindow) -> None:
    window.choose_trainee()
    assert window.attempts.trainee == "Ben" and "Ben" in window.trainee_label.text()


def test_new_pin_checks() -> None:
    assert check_new_pin("Dr Lee", "2468", "2468") == ""
    assert "differ" in check_new_pin("Dr Lee", "2468", "2469")
    assert "at least" in check_new_pin("Dr Lee", "12", "12")
    assert "name" in check_new_pin(" ", "2468", "2468")


def test_clock_format() -> None:
    assert format_clock(4.2) == "0:04"  # elapsed: whole seconds done
    assert format_clock(4.2, round_up=True) == "0:05"  # countdown: 0:00 only at the end
    assert format_clock(600.0, round_up=True) == "10:00"
    assert format_clock(-1.0, round_up=True) == "0:00"


def test_records_menu_opens_results_replay_and_quiz(qtbot, window: MainWindow, monkeypatch):
    from simulator.gui import quiz_dialog as quiz_module
    from simulator.quiz import make_questions

    assert window.open_replay() is None  # nothing recorded yet
    assert "has no recorded attempt" in window.status_text()
    _key(qtbot, window, Qt.Key.Key_F9)
    qtbot.wait(300)
    _key(qtbot, window, Qt.Key.Key_F9)
    attempt_id = window.attempts.last_result.attempt_id
    results = window.open_results()
    assert results is not None and results.isVisible()
    assert [row.id for row in results.model.rows] == [attempt_id]
    replay = window.open_replay()
    assert replay is not None and replay.attempt_id == attempt_id
    qtbot.waitUntil(lambda: replay.shown_index >= 0, timeout=30_000)
    questions = make_questions([window.scene], n=2, seed=1)
    monkeypatch.setattr(quiz_module, "library_questions", lambda *a, **k: questions)
    quiz = window.open_quiz()
    assert quiz is not None
    qtbot.waitUntil(lambda: quiz.ready, timeout=5000)
    assert quiz.prompt_label.text() == questions[0].prompt
    for w in (results, replay, quiz):
        w.close()


def test_records_wait_until_the_exam_ends(exam: MainWindow) -> None:
    assert exam.open_results() is None and exam.open_quiz() is None
    assert exam.open_replay() is None
    assert "opens after the exam" in exam.status_text()
