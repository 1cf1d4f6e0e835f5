"""The grade of the last attempt in its own window: every criterion, nothing cut.

The Score dock has room for a few one-line rows; this window wraps each
criterion's whole description, sizes itself to show every row (up to most of
the screen) and can be left open beside the image or moved to the projector.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from simulator.gui.attempt_controller import AttemptResult
from simulator.gui.grade_table import (
    PASS_COLOUR,
    fill_grade_table,
    make_grade_table,
    table_rows,
    verdict_text,
)
from simulator.gui.theme import ERROR_COLOUR

#: Width the dialog opens at, px.
DIALOG_WIDTH_PX = 760
#: Share of the screen height it may take at most.
MAX_SCREEN_FRACTION = 0.85


class GradeDialog(QDialog):
    """A non-modal window with one attempt's grade.

    Parameters
    ----------
    parent : QWidget, optional
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setModal(False)
        self.title = QLabel("")
        self.title.setStyleSheet("font-size: 13pt;")
        self.verdict = QLabel("")
        self.verdict.setWordWrap(True)
        self.table = make_grade_table(wrap=True)
        self.table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.verdict)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
        self.attempt_id: int | None = None

    def show_result(self, result: AttemptResult) -> None:
        """Show ``result``'s grade (a result without a grade shows why)."""
        self.attempt_id = result.attempt_id
        self.setWindowTitle(f"Grade of attempt {result.attempt_id}")
        what = "complete" if result.status == "complete" else "incomplete"
        self.title.setText(f"Attempt {result.attempt_id} · {result.mode} · {what}")
        g = result.grade_dict
        if g is None:
            self.verdict.setText("Not graded")
            self.verdict.setStyleSheet("font-size: 15pt; font-weight: bold;")
        else:
            colour = PASS_COLOUR if g["passed"] else ERROR_COLOUR.name()
            self.verdict.setText(verdict_text(g))
            self.verdict.setStyleSheet(f"font-size: 15pt; font-weight: bold; color: {colour};")
        self.resize(DIALOG_WIDTH_PX, 400)  # the width the rows wrap at, before measuring
        fill_grade_table(self.table, g)
        self._fit_rows()

    def _fit_rows(self) -> None:
        """Grow the window so that every row shows (up to most of the screen)."""
        t = self.table
        t.resizeRowsToContents()
        rows_px = sum(t.rowHeight(i) for i in range(t.rowCount()))
        table_px = rows_px + t.horizontalHeader().height() + 2 * t.frameWidth() + 4
        chrome_px = self.sizeHint().height() - t.sizeHint().height()
        want_px = chrome_px + table_px
        screen = self.screen()
        if screen is not None:
            want_px = min(want_px, int(MAX_SCREEN_FRACTION * screen.availableGeometry().height()))
        self.resize(DIALOG_WIDTH_PX, max(want_px, 200))

    def rows(self) -> list[tuple[str, str, str, str]]:
        """The rows shown, as text."""
        return table_rows(self.table)

    def all_rows_visible(self) -> bool:
        """Whether every row fits in the table's viewport (no scrolling needed)."""
        t = self.table
        rows_px = sum(t.rowHeight(i) for i in range(t.rowCount()))
        return rows_px <= t.viewport().height()


__all__ = ["GradeDialog"]
