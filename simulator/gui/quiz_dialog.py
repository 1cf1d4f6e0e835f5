"""The image-recognition quiz dialog (Records > Image quiz…).

Shows each question's unlabelled B-mode image large with "Click the median
nerve"; a click answers it, the true outline is revealed with right/wrong
for ``feedback_ms`` (then the next question comes, or on "Next"); at the end
the score and the grade, and the quiz is stored as an attempt of mode
``"quiz"`` for the trainee. Closing early stores the answers given as an
incomplete attempt. Questions given are used as they are; otherwise they are
generated from the procedure library on a worker thread (``seed``).
"""

from __future__ import annotations

import html
import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QCloseEvent, QFont
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from simulator.gui.quiz_image import QuizImageView
from simulator.quiz import PASS_MARK, Answer, Question, QuizSession, library_questions

#: Number of questions of a generated quiz.
DEFAULT_N_QUESTIONS = 10
#: How long the answer's feedback shows before the next question, ms.
DEFAULT_FEEDBACK_MS = 1500


class QuizDialog(QDialog):
    """The quiz, from the first question to the stored result.

    Parameters
    ----------
    store : simulator.records.RecordStore
        Where the attempt is recorded.
    trainee : str
    questions : sequence of Question, optional
        The questions; generated from the library with ``seed`` when None.
    seed : int, optional
        Generation seed (random when None).
    n_questions : int
        Number of questions to generate.
    feedback_ms : int
        Feedback time before the next question, ms (0: wait for "Next").
    pass_mark : float
        Share of correct answers to pass, 0-1.
    clock : callable returning float
        Seconds, for the time per question.
    parent : QWidget, optional
    """

    def __init__(
        self,
        store: Any,
        trainee: str,
        questions: Sequence[Question] | None = None,
        *,
        seed: int | None = None,
        n_questions: int = DEFAULT_N_QUESTIONS,
        feedback_ms: int = DEFAULT_FEEDBACK_MS,
        pass_mark: float = PASS_MARK,
        clock: Callable[[], float] = time.monotonic,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Image quiz: {trainee}")
        self.setModal(False)
        self.resize(1000, 760)
        self._store = store
        self._trainee = trainee
        self._seed = random.randrange(2**31) if seed is None else int(seed)
        self._feedback_ms = int(feedback_ms)
        self._pass_mark = float(pass_mark)
        self._clock = clock
        self.session: QuizSession | None = None
        self.attempt_id: int | None = None
        self.last_answer: Answer | None = None
        self._awaiting_next = False
        self._future: Future | None = None
        self._executor: ThreadPoolExecutor | None = None

        self.progress_label = QLabel("")
        self.prompt_label = QLabel("Preparing questions…")
        big = QFont(self.prompt_label.font())
        big.setPointSizeF(big.pointSizeF() * 1.8)
        big.setBold(True)
        self.prompt_label.setFont(big)
        self.prompt_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.feedback_label = QLabel("")
        self.feedback_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        mid = QFont(self.feedback_label.font())
        mid.setPointSizeF(mid.pointSizeF() * 1.3)
        self.feedback_label.setFont(mid)
        self.image_view = QuizImageView()
        self.image_view.clicked.connect(self._on_click)
        self.summary_label = QLabel("")
        self.summary_label.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.summary_label.setTextFormat(Qt.TextFormat.RichText)
        self.summary_label.hide()
        self.next_button = QPushButton("Next")
        self.next_button.setEnabled(False)
        self.next_button.clicked.connect(self.next_question)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.close)

        buttons = QHBoxLayout()
        buttons.addWidget(self.progress_label)
        buttons.addStretch(1)
        buttons.addWidget(self.next_button)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.prompt_label)
        layout.addWidget(self.image_view, 1)
        layout.addWidget(self.summary_label, 1)
        layout.addWidget(self.feedback_label)
        layout.addLayout(buttons)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.next_question)
        if questions is not None:
            self._start(list(questions))
        else:
            self._generate(n_questions)

    # -- question generation --------------------------------------------------------

    def _generate(self, n: int) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="quiz")
        self._future = self._executor.submit(library_questions, n, self._seed)
        self._poll = QTimer(self)
        self._poll.timeout.connect(self._check_generated)
        self._poll.start(100)

    def _check_generated(self) -> None:
        if self._future is None or not self._future.done():
            return
        self._poll.stop()
        future, self._future = self._future, None
        self._executor.shutdown(wait=False)
        try:
            questions = future.result()
        except Exception as exc:  # shown to the user, not a traceback
            self.prompt_label.setText("Could not make the quiz")
            self.feedback_label.setText(f"error: {exc}")
            return
        self._start(questions)

    @property
    def ready(self) -> bool:
        """Whether the questions are there (generated or given)."""
        return self.session is not None

    # -- flow -----------------------------------------------------------------------

    def _start(self, questions: list[Question]) -> None:
        self.session = QuizSession(questions, clock=self._clock)
        self._show_current()

    def _show_current(self) -> None:
        session = self.session
        question = session.current
        self._awaiting_next = False
        self.next_button.setEnabled(False)
        self.feedback_label.setText("")
        self.feedback_label.setStyleSheet("")
        self.image_view.set_question(question)
        self.progress_label.setText(f"Question {session.index + 1} of {len(session.questions)}")
        self.prompt_label.setText(question.prompt)
        session.show_current()

    def _on_click(self, x_px: float, y_px: float) -> None:
        if self.session is None or self.session.done or self._awaiting_next:
            return
        answer = self.session.answer(x_px, y_px)
        self.last_answer = answer
        self.image_view.reveal(x_px, y_px, answer.correct)
        question = self.session.questions[self.session.index - 1]
        if answer.correct:
            text, colour = f"Correct: the {question.display_name}", "#50ff78"
        else:
            where = f"that is the {answer.structure_clicked}" if answer.structure_clicked else ""
            where = where or "that is no labelled structure"
            text = (
                f"Wrong: {where}; the {question.display_name} (outlined) is "
                f"{answer.distance_mm:.1f} mm away"
            )
            colour = "#ff6a6a"
        self.feedback_label.setText(text)
        self.feedback_label.setStyleSheet(f"color: {colour}")
        self._awaiting_next = True
        self.next_button.setEnabled(True)
        self.next_button.setText("Next" if not self.session.done else "See the score")
        if self._feedback_ms > 0:
            self._timer.start(self._feedback_ms)

    def next_question(self) -> None:
        """Leave the feedback: the next question, or the final score."""
        self._timer.stop()
        if self.session is None or not self._awaiting_next:
            return
        if self.session.done:
            self._finish()
        else:
            self._show_current()

    def _finish(self) -> None:
        self._awaiting_next = False
        self.next_button.setEnabled(False)
        self._record()
        m = self.session.metrics()
        grade = self.session.grade(self._pass_mark)
        verdict = "PASS" if grade["passed"] else "FAIL"
        self.prompt_label.setText(
            f"{m['n_correct']} of {m['n_questions']} correct "
            f"({m['accuracy_fraction']:.0%}): {verdict}"
        )
        self.progress_label.setText("")
        self.next_button.hide()
        self.feedback_label.setStyleSheet("")
        self.feedback_label.setText(
            f"Mean time per question {m['mean_time_s']:.1f} s; pass mark "
            f"{self._pass_mark:.0%}; saved as attempt {self.attempt_id} of {self._trainee}"
        )
        self.image_view.set_question(None)
        self.image_view.hide()
        self.summary_label.setText(self._summary_html())
        self.summary_label.show()

    def _summary_html(self) -> str:
        """One table row per question: what was asked, the answer, the time."""
        rows = []
        for r in self.session.rows:
            if r.correct:
                result = "<span style='color:#2a2'>right</span>"
            else:
                clicked = html.escape(r.structure_clicked or "nothing labelled")
                result = (
                    f"<span style='color:#d33'>wrong</span> ({clicked}, {r.distance_mm:.1f} mm off)"
                )
            rows.append(
                f"<tr><td>{r.index + 1}</td><td>{html.escape(r.display_name)}</td>"
                f"<td>{result}</td><td align='right'>{r.time_s:.1f} s</td></tr>"
            )
        return (
            "<table align='center' cellspacing='0' cellpadding='6'>"
            "<tr><th>#</th><th align='left'>structure</th><th align='left'>answer</th>"
            "<th>time</th></tr>" + "".join(rows) + "</table>"
        )

    def _record(self) -> None:
        if self.attempt_id is not None or self.session is None or not self.session.rows:
            return
        self.attempt_id = self.session.record(
            self._store,
            self._trainee,
            pass_mark=self._pass_mark,
            settings={"seed": self._seed},
        )

    @property
    def finished(self) -> bool:
        """Every question answered and the attempt stored."""
        return self.attempt_id is not None and self.session is not None and self.session.done

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt API)
        """Closing early keeps the answers given (an incomplete attempt)."""
        self._timer.stop()
        self._record()
        super().closeEvent(event)

    def reject(self) -> None:
        """Escape: as closing."""
        self._timer.stop()
        self._record()
        super().reject()


def open_quiz_dialog(parent: QWidget | None, store: Any, trainee: str) -> QuizDialog:
    """Open a generated 10-question quiz for ``trainee`` (non-modal) and return it."""
    dialog = QuizDialog(store, trainee, parent=parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
    dialog.show()
    return dialog
