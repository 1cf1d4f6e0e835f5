"""Image-recognition quiz: generated B-mode views, click the named structure.

``../shared/SCORING.md`` ("Image recognition"): the simulator shows a scene at
its canonical probe pose with the labels hidden and asks the trainee to click
a named structure; a click inside that structure's section in that image
counts. Time and accuracy are recorded like any attempt (mode ``"quiz"``).

No Qt here: :mod:`simulator.gui.quiz_dialog` is the view.
"""

from simulator.quiz.generate import (
    library_questions,
    make_question,
    make_questions,
    procedure_scene_names,
)
from simulator.quiz.question import Answer, Question, display_name_of
from simulator.quiz.session import PASS_MARK, QuizRow, QuizSession, quiz_grade

__all__ = [
    "PASS_MARK",
    "Answer",
    "Question",
    "QuizRow",
    "QuizSession",
    "display_name_of",
    "library_questions",
    "make_question",
    "make_questions",
    "procedure_scene_names",
    "quiz_grade",
]
