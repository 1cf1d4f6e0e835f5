"""The image quiz dialog driven by synthesised mouse clicks (pytest-qt, Xvfb)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from simulator.gui import quiz_dialog as quiz_dialog_module
from simulator.gui.quiz_dialog import QuizDialog, open_quiz_dialog
from simulator.quiz import make_questions
from simulator.records import RecordStore

SCENES = ("carpal_tunnel_median", "knee_suprapatellar_recess")


@pytest.fixture(scope="module")
def questions(scene_cache: Path) -> list:
    from scenes import load_scene

    return make_questions([load_scene(n) for n in SCENES], n=3, seed=3)


@pytest.fixture
def store(tmp_path: Path):
    with RecordStore(tmp_path / "records.sqlite") as s:
        yield s


def _far_other_pixel(q) -> tuple[float, float]:
    """A pixel of another structure, as far as possible from the asked one."""
    from scipy import ndimage

    rr, cc = np.nonzero((q.labels > 0) & ~q.region)
    far = ndimage.distance_transform_edt(~q.region)
    k = int(np.argmax(far[rr, cc]))
    return float(cc[k]), float(rr[k])


def _click(dialog: QuizDialog, x_px: float, y_px: float) -> None:
    view = dialog.image_view
    p = view.image_to_widget(x_px, y_px)
    QTest.mouseClick(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, p.toPoint())


def test_clicks_answer_and_the_attempt_is_stored(qtbot, questions, store, tmp_path) -> None:
    dialog = QuizDialog(store, "Ben", questions, seed=3, feedback_ms=0)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    q0 = questions[0]
    assert dialog.prompt_label.text() == f"Click the {q0.display_name}"
    assert dialog.progress_label.text() == "Question 1 of 3"

    _click(dialog, *q0.answer_px)
    assert dialog.session.rows[0].correct
    assert dialog.feedback_label.text().startswith("Correct")
    assert dialog.image_view.revealed
    dialog.grab().save(str(tmp_path / "quiz_right.png"))
    if os.environ.get("QUIZ_SHOTS"):
        dialog.grab().save(os.path.join(os.environ["QUIZ_SHOTS"], "quiz_right.png"))
    # clicks during the feedback are ignored
    _click(dialog, *q0.answer_px)
    assert len(dialog.session.rows) == 1
    dialog.next_question()

    q1 = questions[1]
    assert dialog.prompt_label.text() == f"Click the {q1.display_name}"
    x, y = _far_other_pixel(q1)
    _click(dialog, x, y)
    row = dialog.session.rows[1]
    assert not row.correct
    expected = q1.check(x, y)
    assert row.structure_clicked == expected.structure_clicked is not None
    assert row.distance_mm > 1.0
    assert "Wrong" in dialog.feedback_label.text()
    assert expected.structure_clicked in dialog.feedback_label.text()
    if os.environ.get("QUIZ_SHOTS"):
        dialog.grab().save(os.path.join(os.environ["QUIZ_SHOTS"], "quiz_wrong.png"))
    dialog.next_question()

    _click(dialog, *questions[2].answer_px)
    assert dialog.session.rows[2].correct
    assert dialog.attempt_id is None
    dialog.next_question()
    assert dialog.finished
    assert "2 of 3 correct" in dialog.prompt_label.text()
    assert "FAIL" in dialog.prompt_label.text()
    assert dialog.summary_label.isVisible() and not dialog.image_view.isVisible()
    assert dialog.summary_label.text().count("<tr>") == 4
    if os.environ.get("QUIZ_SHOTS"):
        dialog.grab().save(os.path.join(os.environ["QUIZ_SHOTS"], "quiz_score.png"))

    record = store.attempt(dialog.attempt_id)
    assert (record.trainee, record.mode, record.status) == ("Ben", "quiz", "complete")
    assert record.metrics["n_correct"] == 2 and record.metrics["n_questions"] == 3
    assert record.settings["seed"] == 3
    assert [s["correct"] for s in store.samples(dialog.attempt_id)] == [True, False, True]
    assert store.verify_chain() == []


@pytest.mark.parametrize("size", [(1400, 500), (500, 900)])
def test_click_mapping_keeps_the_aspect_ratio(qtbot, questions, store, size) -> None:
    dialog = QuizDialog(store, "Ben", questions, feedback_ms=0)
    qtbot.addWidget(dialog)
    dialog.show()
    view = dialog.image_view
    view.setMinimumSize(*size)
    view.resize(*size)
    dialog.resize(size[0] + 40, size[1] + 200)
    qtbot.waitUntil(lambda: view.width() >= size[0] and view.height() >= size[1])
    q = questions[0]
    rect = view.image_rect()
    rows, cols = q.image.shape
    assert rect.width() / rect.height() == pytest.approx(cols / rows, rel=1e-6)
    assert rect.width() <= view.width() + 1e-6 and rect.height() <= view.height() + 1e-6
    # one side fills the widget, the image is centred
    assert min(view.width() - rect.width(), view.height() - rect.height()) < 1.0
    assert rect.center().x() == pytest.approx(view.width() / 2)
    for x_px, y_px in ((0.0, 0.0), (cols - 1.0, rows - 1.0), q.answer_px):
        back = view.widget_to_image(view.image_to_widget(x_px, y_px))
        assert back == pytest.approx((x_px, y_px), abs=1e-6)
    # a click in the black bar beside the image is no answer
    bar = QPointF(1.0, 1.0) if rect.left() > 2 or rect.top() > 2 else None
    if bar is not None:
        assert view.widget_to_image(bar) is None
        QTest.mouseClick(
            view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(1, 1)
        )
        assert dialog.session.rows == []
    _click(dialog, *q.answer_px)
    assert dialog.session.rows[0].correct


def test_feedback_times_out_to_the_next_question(qtbot, questions, store) -> None:
    dialog = QuizDialog(store, "Ben", questions, feedback_ms=30)
    qtbot.addWidget(dialog)
    dialog.show()
    _click(dialog, *questions[0].answer_px)
    qtbot.waitUntil(lambda: dialog.progress_label.text() == "Question 2 of 3", timeout=2000)
    assert dialog.image_view.question is questions[1]
    assert not dialog.image_view.revealed


def test_closing_early_stores_an_incomplete_attempt(qtbot, questions, store) -> None:
    dialog = QuizDialog(store, "Cy", questions, feedback_ms=0)
    qtbot.addWidget(dialog)
    dialog.show()
    _click(dialog, *questions[0].answer_px)
    dialog.close()
    assert dialog.attempt_id is not None
    record = store.attempt(dialog.attempt_id)
    assert (record.mode, record.status) == ("quiz", "incomplete")
    assert len(store.samples(dialog.attempt_id)) == 1
    assert store.verify_chain() == []


def test_generated_quiz_opens_from_the_menu_function(qtbot, questions, store, monkeypatch) -> None:
    calls = []

    def fake_library_questions(n, seed):
        calls.append((n, seed))
        return questions

    monkeypatch.setattr(quiz_dialog_module, "library_questions", fake_library_questions)
    dialog = open_quiz_dialog(None, store, "Dee")
    qtbot.addWidget(dialog)
    assert dialog.isVisible() and not dialog.isModal()
    qtbot.waitUntil(lambda: dialog.ready, timeout=5000)
    assert calls and calls[0][0] == 10
    assert dialog.prompt_label.text() == questions[0].prompt
