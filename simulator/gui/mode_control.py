"""Practice, exam and demo modes, the trainee, and the instructor PIN lock.

``ModeControl`` decides whether a mode change or a guidance toggle is
allowed: in exam mode guidance is locked and every change needs an
instructor's PIN (verified against the records, where only a salted hash is
kept). Entering an exam needs a trainee and an instructor PIN; when no
instructor exists yet, the first-run "Add instructor" dialog comes first.
The dialogs open through ``ModePrompts`` (tests replace its methods).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QComboBox, QWidget

from simulator.gui.attempt_controller import DEFAULT_EXAM_LIMIT_S, AttemptController
from simulator.gui.mode_dialogs import (
    AddInstructorDialog,
    ExamSetup,
    ExamSetupDialog,
    PinDialog,
    TraineeDialog,
)

#: Mode -> title in the mode chooser.
MODE_TITLES: dict[str, str] = {"practice": "Practice", "exam": "Exam", "demo": "Demo"}
#: What a refused guidance toggle says.
LOCKED_MESSAGE = "exam: guidance locked (instructor PIN)"


class ModePrompts:
    """Opens the mode dialogs modally; each returns None when cancelled.

    Parameters
    ----------
    parent : QWidget
    """

    def __init__(self, parent: QWidget) -> None:
        self.parent = parent

    def add_instructor(self, first_run: bool) -> tuple[str, str] | None:
        """(name, PIN) of a new instructor."""
        d = AddInstructorDialog(self.parent, first_run)
        if d.exec() != AddInstructorDialog.DialogCode.Accepted:
            return None
        return d.name.text().strip(), d.pin.text()

    def choose_trainee(self, names: list[str], current: str) -> str | None:
        """A trainee name (existing or new)."""
        d = TraineeDialog(names, current, self.parent)
        return d.trainee() if d.exec() == TraineeDialog.DialogCode.Accepted else None

    def instructor_pin(self, instructors: list[str], reason: str) -> tuple[str, str] | None:
        """(instructor, PIN) as typed."""
        d = PinDialog(instructors, reason, self.parent)
        if d.exec() != PinDialog.DialogCode.Accepted:
            return None
        return d.instructor.currentText(), d.pin.text()

    def exam_setup(
        self, trainees: list[str], instructors: list[str], time_limit_s: float, current: str
    ) -> ExamSetup | None:
        """Trainee, time limit, instructor and PIN of a new exam."""
        d = ExamSetupDialog(trainees, instructors, time_limit_s, current, self.parent)
        return d.setup() if d.exec() == ExamSetupDialog.DialogCode.Accepted else None


class ModeControl(QObject):
    """The mode of the window and the exam's guidance lock.

    Parameters
    ----------
    controller : AttemptController
        Its store holds the people; its mode, trainee and time limit are set here.
    notify : callable
        Shows a one-line message (the status bar).
    parent : QWidget
        Parent of the dialogs.

    Signals
    -------
    mode_changed(str)
        The new mode, after it was accepted.
    """

    mode_changed = Signal(str)

    def __init__(
        self, controller: AttemptController, notify: Callable[[str], None], parent: QWidget
    ) -> None:
        super().__init__(parent)
        self.controller = controller
        self.notify = notify
        self.prompts = ModePrompts(parent)
        self.unlocked_by: str | None = None
        self.default_time_limit_s = DEFAULT_EXAM_LIMIT_S
        self.combo = QComboBox()
        self.combo.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.combo.setToolTip("Mode: practice (guidance), exam (timed, no guidance), demo")
        for key, title in MODE_TITLES.items():
            self.combo.addItem(title, key)
        self.combo.activated.connect(lambda i: self._on_combo(self.combo.itemData(i)))

    # ------------------------------------------------------------------ state
    @property
    def mode(self) -> str:
        return self.controller.mode

    @property
    def locked(self) -> bool:
        """Whether guidance and exam settings need an instructor PIN now."""
        return self.mode == "exam" and self.unlocked_by is None

    def _sync_combo(self) -> None:
        self.combo.setCurrentIndex(self.combo.findData(self.mode))

    def _on_combo(self, mode: str) -> None:
        self.request_mode(mode)
        self._sync_combo()

    # ------------------------------------------------------------- instructor
    def instructors(self) -> list[str]:
        return [p.name for p in self.controller.store.people("instructor")]

    def ensure_instructor(self) -> bool:
        """At least one instructor exists (asks for one at the first run)."""
        if self.instructors():
            return True
        entry = self.prompts.add_instructor(True)
        if entry is None:
            self.notify("An instructor is needed first (name and PIN).")
            return False
        try:
            self.controller.store.add_instructor(*entry)
        except ValueError as exc:
            self.notify(str(exc))
            return False
        self.notify(f"Instructor {entry[0]} added.")
        return True

    def add_instructor(self) -> str | None:
        """Add another instructor (the menu); returns the name."""
        entry = self.prompts.add_instructor(not self.instructors())
        if entry is None:
            return None
        try:
            self.controller.store.add_instructor(*entry)
        except ValueError as exc:
            self.notify(str(exc))
            return None
        self.notify(f"Instructor {entry[0]} added.")
        return entry[0]

    def check_pin(self, reason: str) -> str | None:
        """Ask for an instructor PIN; the instructor's name if it is right."""
        if not self.ensure_instructor():
            return None
        typed = self.prompts.instructor_pin(self.instructors(), reason)
        if typed is None:
            return None
        instructor, pin = typed
        if not self.controller.store.verify_pin(instructor, pin):
            self.notify(f"{LOCKED_MESSAGE}: wrong PIN for {instructor}")
            return None
        return instructor

    # -------------------------------------------------------------- guidance
    def allow_guidance(self, what: str) -> bool:
        """Whether a guidance change (``what``) may happen; in a locked exam it asks
        for an instructor PIN, and a right one unlocks guidance for this exam."""
        if not self.locked:
            return True
        self.notify(LOCKED_MESSAGE)
        instructor = self.check_pin(f"Exam in progress: an instructor's PIN unlocks {what}.")
        if instructor is None:  # cancelled (LOCKED_MESSAGE shows) or wrong PIN (said so)
            return False
        self.unlocked_by = instructor
        self.notify(f"exam: guidance unlocked by {instructor}")
        return True

    # ------------------------------------------------------------------ modes
    def request_mode(self, mode: str) -> bool:
        """Change to ``mode`` if allowed (dialogs as needed); True when changed."""
        if mode not in MODE_TITLES:
            raise ValueError(f"mode {mode!r}: expected one of {', '.join(MODE_TITLES)}")
        if mode == self.mode:
            return True
        if self.locked and not self.allow_guidance("leaving the exam"):
            self._sync_combo()
            return False
        if mode == "exam":
            if not self.ensure_instructor():
                self._sync_combo()
                return False
            trainees = [p.name for p in self.controller.store.people("trainee")]
            current = self.controller.trainee if self.controller.trainee in trainees else ""
            setup = self.prompts.exam_setup(
                trainees, self.instructors(), self.default_time_limit_s, current
            )
            if setup is None:
                self._sync_combo()
                return False
            if not setup.trainee or not self.controller.store.verify_pin(
                setup.instructor, setup.pin
            ):
                self.notify(f"exam not started: wrong PIN for {setup.instructor}")
                self._sync_combo()
                return False
            self.controller.time_limit_s = float(setup.time_limit_s)
            self.controller.set_mode("exam", setup.trainee)
        else:
            self.controller.time_limit_s = None
            self.controller.set_mode(mode)
        self.unlocked_by = None
        self._sync_combo()
        self.mode_changed.emit(mode)
        return True

    def choose_trainee(self) -> str | None:
        """Pick or add the trainee of the next attempts (locked during an exam)."""
        if self.locked and not self.allow_guidance("changing the trainee"):
            return None
        names = [p.name for p in self.controller.store.people("trainee")]
        name = self.prompts.choose_trainee(names, self.controller.trainee)
        if not name:
            return None
        if self.controller.running:
            self.controller.finish("incomplete")
        self.controller.trainee = name
        self.notify(f"Trainee: {name}")
        return name
