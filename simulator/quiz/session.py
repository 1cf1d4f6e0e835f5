"""A running quiz: answers, time per question, metrics, grade, and its record.

A quiz is stored like any attempt (:class:`simulator.records.RecordStore`,
mode ``"quiz"``, scene ``QUIZ_SCENE``): one sample and one event
(``kind = "quiz_answer"``) per answer, at the session time of the click, the
metrics of :meth:`QuizSession.metrics` and a grade on the share of correct
answers.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from simulator.quiz.question import Answer, Question
from simulator.rubric import Criterion, Grade, Rubric

#: Share of correct answers needed to pass.
PASS_MARK = 0.8
#: Scene name under which quizzes are recorded (they span several scenes).
QUIZ_SCENE = "image_quiz"
#: Metric graded.
ACCURACY_METRIC = "accuracy_fraction"


@dataclass(frozen=True)
class QuizRow:
    """One answered question.

    Attributes
    ----------
    index : int
        Question number, from 0.
    scene, structure, display_name : str
        What was asked.
    x_px, y_px : float
        Image column and row of the click.
    lateral_mm, depth_mm : float
        Probe-frame position of the click, mm.
    correct : bool
    structure_clicked : str or None
        Display name of the structure under the click.
    distance_mm : float
        Click to the asked structure, mm (0 when correct).
    time_s : float
        From the question being shown to the click, s.
    t_s : float
        Session time of the click (from the start of the quiz), s.
    """

    index: int
    scene: str
    structure: str
    display_name: str
    x_px: float
    y_px: float
    lateral_mm: float
    depth_mm: float
    correct: bool
    structure_clicked: str | None
    distance_mm: float
    time_s: float
    t_s: float

    def to_dict(self) -> dict[str, Any]:
        """Plain types (for the records store)."""
        return asdict(self)


def quiz_rubric(pass_mark: float = PASS_MARK) -> Rubric:
    """The quiz rubric: one criterion, ``accuracy_fraction >= pass_mark``."""
    return Rubric(
        (
            Criterion(
                ACCURACY_METRIC,
                ">=",
                float(pass_mark),
                description=f"At least {pass_mark:.0%} of the structures found",
            ),
        ),
        pass_mark=1.0,
    )


def quiz_grade(metrics: Mapping[str, float], pass_mark: float = PASS_MARK) -> dict[str, Any]:
    """Grade quiz metrics as the records store keeps grades.

    Returns
    -------
    dict
        ``passed``, ``score`` (0-1), ``pass_mark`` (0-1) and ``criteria`` (one
        dict with ``metric``, ``op``, ``threshold``, ``critical``,
        ``description``, ``unit``, ``value``, ``met``), the shape of the
        other attempts' grades.
    """
    rubric = quiz_rubric(pass_mark)
    grade: Grade = rubric.grade(metrics)
    stored = grade.to_dict()
    stored["pass_mark"] = float(pass_mark)  # the share of structures to find
    stored["criteria"][0]["unit"] = "%"
    return stored


class QuizSession:
    """Questions asked in turn; each click answers the current one.

    Parameters
    ----------
    questions : sequence of Question
    clock : callable returning float, optional
        Seconds (``time.monotonic`` by default; tests pass a fake).

    Notes
    -----
    A question's time runs from when it is shown: the start of the quiz for
    the first, the previous answer for the next, unless the view calls
    :meth:`show_current` when it actually shows it (after a feedback pause).
    """

    def __init__(
        self, questions: Sequence[Question], clock: Callable[[], float] = time.monotonic
    ) -> None:
        if not questions:
            raise ValueError("quiz: no questions")
        self.questions: tuple[Question, ...] = tuple(questions)
        self._clock = clock
        self._t0 = clock()
        self._shown = self._t0
        self.rows: list[QuizRow] = []

    @property
    def index(self) -> int:
        """Number of the current question (== ``len(questions)`` when done)."""
        return len(self.rows)

    @property
    def done(self) -> bool:
        """Every question answered."""
        return self.index >= len(self.questions)

    @property
    def current(self) -> Question | None:
        """The question to answer, None when done."""
        return None if self.done else self.questions[self.index]

    def elapsed_s(self) -> float:
        """Time since the start of the quiz, s."""
        return self._clock() - self._t0

    def show_current(self) -> None:
        """Start the current question's time now (it has just been shown)."""
        self._shown = self._clock()

    def answer(self, x_px: float, y_px: float) -> Answer:
        """Answer the current question by a click at image ``(x_px, y_px)``.

        Raises
        ------
        RuntimeError
            If every question has been answered.
        """
        question = self.current
        if question is None:
            raise RuntimeError("quiz: every question has been answered")
        now = self._clock()
        result = question.check(x_px, y_px)
        lateral_mm, depth_mm = question.pixel_mm(x_px, y_px)
        self.rows.append(
            QuizRow(
                index=self.index,
                scene=question.scene,
                structure=question.structure,
                display_name=question.display_name,
                x_px=float(x_px),
                y_px=float(y_px),
                lateral_mm=float(lateral_mm),
                depth_mm=float(depth_mm),
                correct=result.correct,
                structure_clicked=result.structure_clicked,
                distance_mm=result.distance_mm,
                time_s=now - self._shown,
                t_s=now - self._t0,
            )
        )
        self._shown = now
        return result

    def metrics(self) -> dict[str, Any]:
        """The quiz metrics.

        Returns
        -------
        dict
            ``n_questions``, ``n_answered``, ``n_correct``,
            ``accuracy_fraction`` (correct / questions, 0-1), ``mean_time_s``
            and ``total_time_s`` (over the answers; NaN before any),
            ``mean_miss_distance_mm`` (over wrong answers inside the image;
            NaN without any). Numbers only (the per-question rows are
            :attr:`rows` / :meth:`row_dicts`).
        """
        times = [r.time_s for r in self.rows]
        misses = [
            r.distance_mm for r in self.rows if not r.correct and math.isfinite(r.distance_mm)
        ]
        n_correct = sum(r.correct for r in self.rows)
        return {
            "n_questions": len(self.questions),
            "n_answered": len(self.rows),
            "n_correct": n_correct,
            "accuracy_fraction": n_correct / len(self.questions),
            "mean_time_s": sum(times) / len(times) if times else math.nan,
            "total_time_s": sum(times) if times else math.nan,
            "mean_miss_distance_mm": sum(misses) / len(misses) if misses else math.nan,
        }

    def row_dicts(self) -> list[dict[str, Any]]:
        """One dict per answer (:class:`QuizRow` fields)."""
        return [r.to_dict() for r in self.rows]

    def grade(self, pass_mark: float = PASS_MARK) -> dict[str, Any]:
        """The grade of the answers so far (see :func:`quiz_grade`)."""
        return quiz_grade(self.metrics(), pass_mark)

    def record(
        self,
        store: Any,
        trainee: str,
        *,
        pass_mark: float = PASS_MARK,
        settings: Mapping[str, Any] | None = None,
    ) -> int:
        """Store the quiz as a finished attempt (mode ``"quiz"``).

        Parameters
        ----------
        store : simulator.records.RecordStore
        trainee : str
            Added if new.
        pass_mark : float
            Share of correct answers needed to pass, 0-1.
        settings : mapping, optional
            Extra settings to keep (e.g. the generation seed).

        Returns
        -------
        int
            The attempt id. An unfinished quiz is stored ``"incomplete"``.
        """
        all_settings = {
            "questions": [
                {
                    "scene": q.scene,
                    "structure": q.structure,
                    "probe2world": q.probe2world.tolist(),
                }
                for q in self.questions
            ],
            "scenes": sorted({q.scene for q in self.questions}),
            "pass_mark": float(pass_mark),
        }
        all_settings.update(settings or {})
        attempt_id = store.start_attempt(trainee, QUIZ_SCENE, "quiz", all_settings)
        rows = self.row_dicts()
        store.add_samples(attempt_id, rows)
        store.add_events(attempt_id, [{"kind": "quiz_answer", **r} for r in rows])
        status = "complete" if self.done else "incomplete"
        store.finish_attempt(attempt_id, self.metrics(), self.grade(pass_mark), status=status)
        return attempt_id
