"""The "Score" dock: live readout of the running attempt and the grade at the end.

In practice and demo mode it shows the live numbers (tip-to-target distance,
target reached, tip visibility, passes, punctures, injected volume and where
it went, safety alerts); in exam mode only the clock (elapsed and remaining
time). After an attempt it lists every rubric criterion with the measured
value beside its threshold and pass/fail.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from simulator.gui.attempt_controller import AttemptResult, LiveReadout
from simulator.gui.grade_dialog import GradeDialog
from simulator.gui.grade_table import (
    PASS_COLOUR,
    fill_grade_table,
    make_grade_table,
    table_rows,
    verdict_text,
)
from simulator.gui.theme import ERROR_COLOUR

#: Live rows, in display order: key -> label.
LIVE_ROWS: tuple[tuple[str, str], ...] = (
    ("distance", "Tip to target"),
    ("reached", "Target reached"),
    ("visibility", "Tip visible while advancing"),
    ("passes", "Needle passes"),
    ("punctures", "Skin punctures"),
    ("injected", "Injected"),
    ("alerts", "Safety alerts"),
)


def format_clock(t_s: float, round_up: bool = False) -> str:
    """``m:ss`` of a duration in seconds (negative taken as 0); a countdown rounds up
    (``round_up``) so it shows 0:00 only at the end."""
    t = max(0, math.ceil(t_s - 1e-9) if round_up else math.floor(t_s))
    return f"{t // 60}:{t % 60:02d}"


class ScorePanel(QWidget):
    """Live readout and grade table of the window's attempt."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mode = "practice"
        self.state = QLabel("No attempt running. F9 starts one (or the first skin puncture).")
        self.state.setWordWrap(True)
        self.clock = QLabel("")
        self.clock.setStyleSheet("font-size: 16pt; font-weight: bold;")
        self.live = QWidget()
        form = QFormLayout(self.live)
        form.setContentsMargins(0, 0, 0, 0)
        self.values: dict[str, QLabel] = {}
        for key, text in LIVE_ROWS:
            label = QLabel("–")
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.values[key] = label
            form.addRow(text, label)
        self.values["alerts"].setWordWrap(True)
        self.verdict = QLabel("")
        self.verdict.setStyleSheet("font-size: 14pt; font-weight: bold;")
        # one line per criterion here; the whole text in the tooltip and the dialog
        self.table = make_grade_table(wrap=False)
        self.details = QPushButton("Whole grade…")
        self.details.setToolTip("Every criterion with its whole description, in a window")
        self.details.clicked.connect(self.open_grade_dialog)
        self.grade_dialog: GradeDialog | None = None
        self.last_result: AttemptResult | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.state)
        layout.addWidget(self.clock)
        layout.addWidget(self.live)
        layout.addWidget(self.verdict)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.details, 0, Qt.AlignmentFlag.AlignRight)
        layout.addStretch(0)
        self.table.hide()
        self.details.hide()
        self.set_mode("practice")

    # ------------------------------------------------------------------ mode
    def set_mode(self, mode: str) -> None:
        """Show (practice, demo) or hide (exam) the live numbers."""
        self.mode = mode
        self.live.setVisible(mode != "exam" and self.table.isHidden())

    def live_visible(self) -> bool:
        """Whether the live numbers are shown (not in exam mode, nor over a grade)."""
        return not self.live.isHidden()

    # ------------------------------------------------------------------ live
    def attempt_started(self, attempt_id: int) -> None:
        """A new attempt: clear the last grade."""
        self.state.setText(f"Attempt {attempt_id} ({self.mode}) running. F9 finishes it.")
        self.verdict.setText("")
        self._show_grade(None)
        for label in self.values.values():
            label.setText("–")

    def show_readout(self, r: LiveReadout) -> None:
        """Show a live readout (the numbers only outside the exam mode)."""
        if r.remaining_s is not None:
            left = format_clock(r.remaining_s, round_up=True)
            self.clock.setText(f"{left} left  ·  {format_clock(r.elapsed_s)} elapsed")
        else:
            self.clock.setText(f"{format_clock(r.elapsed_s)} elapsed")
        if self.mode == "exam":
            return
        v = self.values
        v["distance"].setText("–" if math.isnan(r.distance_mm) else f"{r.distance_mm:.1f} mm")
        v["reached"].setText("yes" if r.target_reached else "no")
        v["visibility"].setText(
            "–" if math.isnan(r.tip_visibility) else f"{100 * r.tip_visibility:.0f} %"
        )
        v["passes"].setText(str(r.passes))
        v["punctures"].setText(str(r.punctures))
        injected = f"{r.injected_ml:.2f} ml"
        if r.injected_ml > 0:
            injected += f" ({100 * r.in_target_ml / r.injected_ml:.0f} % in the target)"
        v["injected"].setText(injected)
        if r.alerts:
            text = "\n".join(f"{n.replace('_', ' ')}: {c}" for n, c in r.alerts.items())
            v["alerts"].setText(text)
            v["alerts"].setStyleSheet(f"color: {ERROR_COLOUR.name()}; font-weight: bold;")
        else:
            v["alerts"].setText("none")
            v["alerts"].setStyleSheet("")

    def live_text(self, key: str) -> str:
        """The text of one live row (``LIVE_ROWS`` key)."""
        return self.values[key].text()

    # ----------------------------------------------------------------- grade
    def show_result(self, result: AttemptResult) -> None:
        """The finished attempt: verdict and every criterion against its threshold.

        The grade takes the place of the live numbers, which are stale now.
        """
        self.last_result = result
        what = "complete" if result.status == "complete" else "incomplete (abandoned)"
        self.state.setText(f"Attempt {result.attempt_id} ({result.mode}) {what}; saved.")
        g = result.grade_dict
        if self.grade_dialog is not None and self.grade_dialog.isVisible():
            self.grade_dialog.show_result(result)  # an open window follows the last attempt
        if g is None:
            self.verdict.setText("Not graded" if result.mode != "demo" else "Demonstration")
            self.verdict.setStyleSheet("font-size: 14pt; font-weight: bold;")
            self._show_grade(None)
            return
        self.verdict.setText(verdict_text(g))
        colour = PASS_COLOUR if g["passed"] else ERROR_COLOUR.name()
        self.verdict.setStyleSheet(f"font-size: 14pt; font-weight: bold; color: {colour};")
        self._show_grade(g)

    def _show_grade(self, grade: dict | None) -> None:
        fill_grade_table(self.table, grade)
        shown = grade is not None
        self.table.setVisible(shown)
        self.details.setVisible(shown)
        self.live.setVisible(not shown and self.mode != "exam")

    def grade_rows(self) -> list[tuple[str, str, str, str]]:
        """The grade table as text rows (criterion, measured, required, result)."""
        return table_rows(self.table)

    def open_grade_dialog(self) -> GradeDialog | None:
        """Show the last grade in its own resizable window (None without a grade)."""
        result = self.last_result
        if result is None or result.grade_dict is None:
            return None
        if self.grade_dialog is None:
            self.grade_dialog = GradeDialog(self.window())
        self.grade_dialog.show_result(result)
        self.grade_dialog.show()
        self.grade_dialog.raise_()
        return self.grade_dialog
