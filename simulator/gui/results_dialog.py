"""The instructor's results table: every attempt, sortable, filterable, with actions.

Opened for a trainee it shows only that trainee's attempts until an
instructor types their PIN. Rows that fail the records' integrity check are
red and marked ``TAMPERED``, and a banner names the findings. The selected
attempt can be replayed, reported as a PDF or deleted (instructor PIN and a
reason); the filtered rows export as the class CSV.

Questions to the user (file names, PINs, messages) go through small methods
(:meth:`ResultsDialog.ask_save_path`, :meth:`ResultsDialog.ask_pin`,
:meth:`ResultsDialog.ask_delete`, :meth:`ResultsDialog.show_message`) that
tests replace.
"""

from __future__ import annotations

import csv
import threading
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDate, QObject, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from simulator.gui.mode_dialogs import PinDialog
from simulator.gui.results_model import (
    COLUMN_INDEX,
    PASS_FILTERS,
    ResultRow,
    ResultsFilter,
    ResultsFilterProxy,
    ResultsTableModel,
    result_rows,
)
from simulator.records import ChainProblem, RecordStore

#: Text of the trainee and scene filters' "no filter" entry.
ALL_ENTRY = "(all)"
#: Most integrity findings listed in the banner.
BANNER_MAX_FINDINGS = 4


class DeleteDialog(PinDialog):
    """Instructor, PIN and the reason for deleting an attempt."""

    def __init__(self, instructors: list[str], row: ResultRow, parent: QWidget | None = None):
        super().__init__(
            instructors,
            f"Delete attempt {row.id} ({row.trainee}, {row.scene}, {row.mode})? Its samples "
            "and events go too; the deletion is recorded in the integrity chain.",
            parent,
        )
        self.setWindowTitle("Delete attempt")
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("e.g. test run, wrong trainee")
        self.form.addRow("Reason", self.reason)

    def problem(self) -> str:
        if not self.reason.text().strip():
            return "Enter the reason for the deletion."
        return super().problem()


class _Task(QObject):
    """A function run on a thread; ``done(result, error)`` comes back on the GUI thread."""

    done = Signal(object, str)

    def __init__(self, fn: Callable[[], Any], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._fn = fn
        self.thread = threading.Thread(target=self._run, name="results-task", daemon=True)

    def _run(self) -> None:
        try:
            result = self._fn()
        except Exception as exc:  # reported to the user in a message, not as a traceback
            self.done.emit(False, f"{type(exc).__name__}: {exc}")
            return
        self.done.emit(True if result is None else result, "")


def _qdate(day: date) -> QDate:
    return QDate(day.year, day.month, day.day)


def _pydate(qd: QDate) -> date:
    return date(qd.year(), qd.month(), qd.day())


class ResultsDialog(QDialog):
    """The results table over a records store.

    Parameters
    ----------
    store : RecordStore
    trainee : str, optional
        The trainee the dialog is opened for: with ``unlocked`` False only
        their attempts are shown (none when None).
    unlocked : bool
        Show everyone's attempts (the instructor already typed their PIN).
    parent : QWidget, optional

    Attributes
    ----------
    model : ResultsTableModel
    proxy : ResultsFilterProxy
    view : QTableView
    banner : QLabel
        The integrity warning (hidden when every shown record is intact).
    messages : list of (str, str)
        Every (title, text) shown with :meth:`show_message` (for tests and logs).
    """

    def __init__(
        self,
        store: RecordStore,
        trainee: str | None = None,
        unlocked: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.store = store
        self.trainee = trainee
        self._unlocked = bool(unlocked)
        self.messages: list[tuple[str, str]] = []
        self.replay_windows: list[QWidget] = []
        self._tasks: list[_Task] = []
        self.problems: list[ChainProblem] = []
        self.setWindowTitle("Results")
        self.resize(1200, 560)
        self.setModal(False)

        layout = QVBoxLayout(self)
        self.banner = QLabel("")
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet(
            "background: #5a1414; color: #ffdede; padding: 6px; border-radius: 4px;"
        )
        self.banner.hide()
        layout.addWidget(self.banner)

        bar = QHBoxLayout()
        self.trainee_combo = QComboBox()
        self.scene_combo = QComboBox()
        self.from_check = QCheckBox("From")
        self.date_from = QDateEdit()
        self.to_check = QCheckBox("to")
        self.date_to = QDateEdit()
        for edit in (self.date_from, self.date_to):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setEnabled(False)
        self.outcome_combo = QComboBox()
        self.outcome_combo.addItems([s.capitalize() for s in PASS_FILTERS])
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search…")
        self.search.setClearButtonEnabled(True)
        for label, widget in (
            ("Trainee", self.trainee_combo),
            ("Scene", self.scene_combo),
        ):
            bar.addWidget(QLabel(label))
            bar.addWidget(widget)
        for widget in (self.from_check, self.date_from, self.to_check, self.date_to):
            bar.addWidget(widget)
        bar.addWidget(QLabel("Grade"))
        bar.addWidget(self.outcome_combo)
        bar.addWidget(self.search, 1)
        layout.addLayout(bar)

        self.model = ResultsTableModel(self)
        self.proxy = ResultsFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.view = QTableView()
        self.view.setModel(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(COLUMN_INDEX["date"], Qt.SortOrder.DescendingOrder)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setAlternatingRowColors(True)
        self.view.verticalHeader().hide()
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.doubleClicked.connect(lambda _i: self.replay_selected())
        layout.addWidget(self.view, 1)

        self.count_label = QLabel("")
        layout.addWidget(self.count_label)

        buttons = QHBoxLayout()
        self.buttons: dict[str, QPushButton] = {}
        for key, text, slot in (
            ("replay", "Replay…", self.replay_selected),
            ("report", "Report PDF…", self.report_selected),
            ("trainee_report", "Trainee report…", self.trainee_report),
            ("csv", "Export CSV…", self.export_csv),
            ("delete", "Delete…", self.delete_selected),
            ("instructor", "Instructor…", self.ask_unlock),
            ("refresh", "Refresh", self.reload),
        ):
            button = QPushButton(text)
            button.clicked.connect(lambda _c=False, s=slot: s())
            buttons.addWidget(button)
            self.buttons[key] = button
        buttons.addStretch(1)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        buttons.addWidget(close)
        layout.addLayout(buttons)

        for combo in (self.trainee_combo, self.scene_combo, self.outcome_combo):
            combo.currentIndexChanged.connect(self._apply_filter)
        for check, edit in ((self.from_check, self.date_from), (self.to_check, self.date_to)):
            check.toggled.connect(edit.setEnabled)
            check.toggled.connect(self._apply_filter)
            edit.dateChanged.connect(self._apply_filter)
        self.search.textChanged.connect(self._apply_filter)
        self.view.selectionModel().selectionChanged.connect(self._update_buttons)
        self.reload()

    # ------------------------------------------------------------ state

    @property
    def unlocked(self) -> bool:
        """Whether everyone's attempts are shown (instructor PIN given)."""
        return self._unlocked

    def unlock(self, instructor: str, pin: str) -> bool:
        """Show everyone's attempts if ``pin`` is ``instructor``'s PIN.

        Returns
        -------
        bool
            Whether the PIN was right (a wrong one is refused with a message).
        """
        if not self.store.verify_pin(instructor, pin):
            self.show_message("Wrong PIN", f"Wrong PIN for instructor {instructor!r}.", error=True)
            return False
        self._unlocked = True
        self.reload()
        return True

    def reload(self) -> None:
        """Read the attempts and the integrity check from the store again."""
        selected = self.selected_row()
        if self._unlocked:
            records = self.store.attempts()
        elif self.trainee:
            records = self.store.attempts(trainee=self.trainee)
        else:
            records = []
        problems = self.store.verify_chain()
        shown_ids = {r.id for r in records}
        if self._unlocked:
            self.problems = list(problems)
        else:  # a trainee sees the findings about their own attempts and the chain's
            self.problems = [
                p for p in problems if p.attempt_id is None or p.attempt_id in shown_ids
            ]
        rows = result_rows(records, problems)
        self.model.set_rows(rows)
        self._fill_combos(rows)
        self._update_banner()
        self._apply_filter()
        if selected is not None:
            self.select_attempt(selected.id)
        title = "Results — all trainees" if self._unlocked else f"Results — {self.trainee or '?'}"
        self.setWindowTitle(title)
        self.buttons["instructor"].setEnabled(not self._unlocked)
        self._update_buttons()

    def _fill_combos(self, rows: list[ResultRow]) -> None:
        for combo, values in (
            (self.trainee_combo, sorted({r.trainee for r in rows}, key=str.casefold)),
            (self.scene_combo, sorted({r.scene for r in rows}, key=str.casefold)),
        ):
            current = combo.currentText()
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(ALL_ENTRY)
            combo.addItems(values)
            index = combo.findText(current)
            combo.setCurrentIndex(max(index, 0))
            combo.blockSignals(False)
        locked = not self._unlocked
        self.trainee_combo.setEnabled(not locked)
        days = [r.local_date for r in rows if r.local_date is not None]
        if days and not self.from_check.isChecked():
            self.date_from.setDate(_qdate(min(days)))
        if days and not self.to_check.isChecked():
            self.date_to.setDate(_qdate(max(days)))

    def _update_banner(self) -> None:
        if not self.problems:
            self.banner.hide()
            self.banner.setText("")
            return
        ids = {p.attempt_id for p in self.problems}
        n = len(ids)
        findings = [str(p) for p in self.problems[:BANNER_MAX_FINDINGS]]
        more = len(self.problems) - len(findings)
        text = (
            f"⚠ {n} record{'s' if n != 1 else ''} fail{'s' if n == 1 else ''} the integrity "
            f"check: {'; '.join(findings)}"
        )
        if more > 0:
            text += f"; and {more} more"
        self.banner.setText(text + ". The rows are shown in red (TAMPERED).")
        self.banner.show()

    def current_filter(self) -> ResultsFilter:
        """The filter the widgets describe."""
        trainee = self.trainee_combo.currentText()
        scene = self.scene_combo.currentText()
        return ResultsFilter(
            trainee=None if trainee in ("", ALL_ENTRY) else trainee,
            scene=None if scene in ("", ALL_ENTRY) else scene,
            date_from=_pydate(self.date_from.date()) if self.from_check.isChecked() else None,
            date_to=_pydate(self.date_to.date()) if self.to_check.isChecked() else None,
            outcome=PASS_FILTERS[max(self.outcome_combo.currentIndex(), 0)],
            text=self.search.text(),
        )

    def _apply_filter(self, *_args: object) -> None:
        self.proxy.set_filter(self.current_filter())
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        if not self._unlocked and not self.trainee:
            self.count_label.setText("Type an instructor's PIN (Instructor…) to see the results.")
        else:
            self.count_label.setText(f"{shown} of {total} attempts shown")
        self._update_buttons()

    def selected_row(self) -> ResultRow | None:
        """The selected attempt's row (None without a selection)."""
        if not hasattr(self, "view"):
            return None
        indexes = self.view.selectionModel().selectedRows()
        if not indexes:
            return None
        return self.proxy.row_at(indexes[0].row())

    def select_attempt(self, attempt_id: int) -> bool:
        """Select the row of ``attempt_id``; False if it is not shown."""
        for i in range(self.proxy.rowCount()):
            if self.proxy.row_at(i).id == attempt_id:
                self.view.selectRow(i)
                return True
        self.view.clearSelection()
        return False

    def _update_buttons(self, *_args: object) -> None:
        has = self.selected_row() is not None
        for key in ("replay", "report", "trainee_report", "delete"):
            self.buttons[key].setEnabled(has)
        self.buttons["csv"].setEnabled(self.proxy.rowCount() > 0)

    # ------------------------------------------------------------ questions (tests replace)

    def ask_save_path(self, caption: str, suggested: str, name_filter: str) -> Path | None:
        """Ask where to save a file; None if cancelled."""
        path, _ = QFileDialog.getSaveFileName(self, caption, suggested, name_filter)
        return Path(path) if path else None

    def _instructors(self) -> list[str]:
        return [p.name for p in self.store.people("instructor")]

    def ask_pin(self, reason: str) -> tuple[str, str] | None:
        """Ask an instructor and their PIN; None if cancelled."""
        dialog = PinDialog(self._instructors(), reason, self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        return dialog.instructor.currentText(), dialog.pin.text()

    def ask_delete(self, row: ResultRow) -> tuple[str, str, str] | None:
        """Ask an instructor, their PIN and a reason to delete ``row``; None if cancelled."""
        dialog = DeleteDialog(self._instructors(), row, self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        return dialog.instructor.currentText(), dialog.pin.text(), dialog.reason.text().strip()

    def show_message(self, title: str, text: str, error: bool = False) -> None:
        """Tell the user something (recorded in :attr:`messages`)."""
        self.messages.append((title, text))
        if error:
            QMessageBox.warning(self, title, text)
        else:
            QMessageBox.information(self, title, text)

    # ------------------------------------------------------------ actions

    def ask_unlock(self) -> bool:
        """Ask an instructor's PIN and show everyone's attempts if it is right."""
        if self._unlocked:
            return True
        if not self._instructors():
            self.show_message("No instructor", "No instructor is registered.", error=True)
            return False
        answer = self.ask_pin("An instructor's PIN shows every trainee's results.")
        if answer is None:
            return False
        return self.unlock(*answer)

    def replay_selected(self) -> QWidget | None:
        """Open the replay window of the selected attempt."""
        row = self.selected_row()
        if row is None:
            return None
        from simulator.gui.replay_window import open_replay_window

        window = open_replay_window(self, self.store, row.id)
        self.replay_windows.append(window)
        return window

    def _run_task(self, what: str, fn: Callable[[], Any], done_text: str) -> _Task:
        task = _Task(fn, self)
        self._tasks.append(task)
        QApplication.setOverrideCursor(Qt.CursorShape.BusyCursor)

        def finished(_result: object, error: str) -> None:
            QApplication.restoreOverrideCursor()
            self._tasks.remove(task)
            if error:
                self.show_message(f"{what} failed", f"{what} failed: {error}", error=True)
            else:
                self.show_message(what, done_text)

        task.done.connect(finished)
        task.thread.start()
        return task

    def wait_tasks(self, timeout_s: float = 60.0) -> None:
        """Wait for background reports to finish (tests, closing)."""
        for task in list(self._tasks):
            task.thread.join(timeout_s)

    def report_selected(self) -> Path | None:
        """Write the PDF report of the selected attempt (in the background)."""
        row = self.selected_row()
        if row is None:
            return None
        path = self.ask_save_path(
            "Attempt report", f"attempt_{row.id}_{row.trainee}.pdf", "PDF (*.pdf)"
        )
        if path is None:
            return None
        from simulator.reports import write_attempt_report

        store, attempt_id = self.store, row.id
        self._run_task(
            "Attempt report",
            lambda: write_attempt_report(store, attempt_id, path),
            f"Attempt {attempt_id}'s report written to {path}.",
        )
        return path

    def trainee_report(self) -> Path | None:
        """Write the PDF report of the selected attempt's trainee (in the background)."""
        row = self.selected_row()
        if row is None:
            return None
        path = self.ask_save_path("Trainee report", f"trainee_{row.trainee}.pdf", "PDF (*.pdf)")
        if path is None:
            return None
        from simulator.reports import write_trainee_report

        store, trainee = self.store, row.trainee
        self._run_task(
            "Trainee report",
            lambda: write_trainee_report(store, trainee, path),
            f"{trainee}'s report written to {path}.",
        )
        return path

    def export_csv(self) -> Path | None:
        """Write the class CSV of the rows shown (the current filters)."""
        rows = self.proxy.visible_rows()
        if not rows:
            return None
        path = self.ask_save_path("Export class CSV", "results.csv", "CSV (*.csv)")
        if path is None:
            return None
        from simulator.reports.csv_export import csv_columns, csv_rows

        records = [r.record for r in sorted(rows, key=lambda r: r.id) if r.record is not None]
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("w", newline="", encoding="utf-8") as f:
                writer = csv.DictWriter(
                    f, fieldnames=csv_columns(records), restval="", extrasaction="ignore"
                )
                writer.writeheader()
                writer.writerows(csv_rows(self.store, records))
        except OSError as exc:
            self.show_message("Export failed", f"Cannot write {path}: {exc.strerror}", error=True)
            return None
        return path

    def delete_selected(self) -> bool:
        """Delete the selected attempt after an instructor's PIN and a reason."""
        row = self.selected_row()
        if row is None:
            return False
        if not self._instructors():
            self.show_message("No instructor", "No instructor is registered.", error=True)
            return False
        answer = self.ask_delete(row)
        if answer is None:
            return False
        instructor, pin, reason = answer
        try:
            self.store.delete_attempt(row.id, instructor, pin, reason)
        except PermissionError:
            self.show_message("Wrong PIN", f"Wrong PIN for instructor {instructor!r}.", error=True)
            return False
        except ValueError as exc:
            self.show_message("Cannot delete", str(exc), error=True)
            return False
        self.reload()
        return True

    def closeEvent(self, event: Any) -> None:  # noqa: N802 (Qt API)
        for window in self.replay_windows:
            window.close()
        super().closeEvent(event)


def open_results_dialog(
    parent: QWidget | None,
    store: RecordStore,
    trainee: str | None,
    unlocked: bool = False,
) -> ResultsDialog:
    """Open (show, non-modal) the results table.

    Parameters
    ----------
    parent : QWidget or None
    store : RecordStore
    trainee : str or None
        The current trainee: without ``unlocked`` only their attempts show.
    unlocked : bool
        The instructor is already authenticated: show everyone's.

    Returns
    -------
    ResultsDialog
    """
    dialog = ResultsDialog(store, trainee, unlocked, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
    dialog.show()
    dialog.raise_()
    return dialog


__all__ = ["ALL_ENTRY", "DeleteDialog", "ResultsDialog", "open_results_dialog"]
