"""Dialogs of the modes: add an instructor, choose a trainee, instructor PIN, exam set-up.

Each dialog only collects and checks its fields; ``simulator.gui.mode_control``
verifies PINs against the records and applies the result.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

#: Shortest instructor PIN, digits or characters.
MIN_PIN_LENGTH = 4


@dataclass(frozen=True)
class ExamSetup:
    """What the instructor chose when starting an exam.

    Attributes
    ----------
    trainee : str
    instructor : str
    pin : str
        As typed (verified by the caller).
    time_limit_s : float
    """

    trainee: str
    instructor: str
    pin: str
    time_limit_s: float


def check_new_pin(name: str, pin: str, again: str) -> str:
    """Why a new instructor entry is not acceptable ("" when it is)."""
    if not name.strip():
        return "Enter the instructor's name."
    if len(pin) < MIN_PIN_LENGTH:
        return f"The PIN needs at least {MIN_PIN_LENGTH} characters."
    if pin != again:
        return "The two PINs differ."
    return ""


class _Form(QDialog):
    """A dialog with a form, an error line and OK/Cancel."""

    def __init__(self, title: str, intro: str, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setModal(True)
        layout = QVBoxLayout(self)
        if intro:
            text = QLabel(intro)
            text.setWordWrap(True)
            layout.addWidget(text)
        self.form = QFormLayout()
        layout.addLayout(self.form)
        self.error = QLabel("")
        self.error.setStyleSheet("color: #ff6e6e;")
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._try_accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def problem(self) -> str:
        """Why the fields are not acceptable ("" when they are)."""
        return ""

    def _try_accept(self) -> None:
        problem = self.problem()
        self.error.setText(problem)
        if not problem:
            self.accept()


def _pin_edit() -> QLineEdit:
    edit = QLineEdit()
    edit.setEchoMode(QLineEdit.EchoMode.Password)
    return edit


class AddInstructorDialog(_Form):
    """Name and PIN typed twice."""

    def __init__(self, parent: QWidget | None = None, first_run: bool = False) -> None:
        intro = (
            "No instructor is registered yet. Add one: exams and unlocking guidance need "
            "an instructor's PIN."
            if first_run
            else "Add an instructor."
        )
        super().__init__("Add instructor", intro, parent)
        self.name = QLineEdit()
        self.pin = _pin_edit()
        self.again = _pin_edit()
        self.form.addRow("Name", self.name)
        self.form.addRow("PIN", self.pin)
        self.form.addRow("PIN again", self.again)

    def problem(self) -> str:
        return check_new_pin(self.name.text(), self.pin.text(), self.again.text())


class TraineeDialog(_Form):
    """Pick a trainee or type a new name."""

    def __init__(self, names: list[str], current: str = "", parent: QWidget | None = None) -> None:
        super().__init__("Trainee", "Choose the trainee, or type a new name.", parent)
        self.combo = QComboBox()
        self.combo.setEditable(True)
        self.combo.addItems(names)
        self.combo.setCurrentText(current)
        self.form.addRow("Trainee", self.combo)

    def trainee(self) -> str:
        return self.combo.currentText().strip()

    def problem(self) -> str:
        return "" if self.trainee() else "Enter the trainee's name."


class PinDialog(_Form):
    """An instructor and their PIN."""

    def __init__(self, instructors: list[str], reason: str, parent: QWidget | None = None) -> None:
        super().__init__("Instructor PIN", reason, parent)
        self.instructor = QComboBox()
        self.instructor.addItems(instructors)
        self.pin = _pin_edit()
        self.form.addRow("Instructor", self.instructor)
        self.form.addRow("PIN", self.pin)

    def problem(self) -> str:
        return "" if self.pin.text() else "Enter the PIN."


class ExamSetupDialog(PinDialog):
    """Trainee, time limit, and the instructor's PIN to start an exam."""

    def __init__(
        self,
        trainees: list[str],
        instructors: list[str],
        time_limit_s: float,
        current_trainee: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            instructors,
            "Exam: guidance (labels, target, 3D view, live distance) is off, the attempt is "
            "timed, scored and saved. Only an instructor can change it.",
            parent,
        )
        self.setWindowTitle("Start exam")
        self.trainee_combo = QComboBox()
        self.trainee_combo.setEditable(True)
        self.trainee_combo.addItems(trainees)
        self.trainee_combo.setCurrentText(current_trainee)
        self.limit_min = QDoubleSpinBox()
        self.limit_min.setRange(0.5, 120.0)
        self.limit_min.setDecimals(1)
        self.limit_min.setSuffix(" min")
        self.limit_min.setValue(time_limit_s / 60.0)
        self.form.insertRow(0, "Trainee", self.trainee_combo)
        self.form.insertRow(1, "Time limit", self.limit_min)
        self.setTabOrder(self.trainee_combo, self.limit_min)
        self.setTabOrder(self.limit_min, self.instructor)
        self.setTabOrder(self.instructor, self.pin)
        self.trainee_combo.setFocus()

    def setup(self) -> ExamSetup:
        return ExamSetup(
            trainee=self.trainee_combo.currentText().strip(),
            instructor=self.instructor.currentText(),
            pin=self.pin.text(),
            time_limit_s=60.0 * self.limit_min.value(),
        )

    def problem(self) -> str:
        if not self.trainee_combo.currentText().strip():
            return "Enter the trainee's name."
        return super().problem()
