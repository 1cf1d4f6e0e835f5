"""The rows of the instructor's results table: attempts, sortable and filterable.

:func:`result_rows` turns stored attempts and the tamper check into
:class:`ResultRow` values (plain Python, tested without a window);
:class:`ResultsTableModel` shows them in a ``QTableView`` and
:class:`ResultsFilterProxy` sorts them by value (numbers as numbers, dates
as dates) and filters them by trainee, scene, local date range, pass/fail
and free text.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QBrush, QColor, QFont

from simulator.records import AttemptRecord, ChainProblem
from simulator.reports.attempt_data import attempt_duration_s
from simulator.reports.formatting import format_duration, parse_time, passed_of

#: Colour of the rows that fail the integrity check.
TAMPERED_COLOUR = QColor(255, 90, 90)
#: Text of the integrity column for a row that fails the check.
TAMPERED_TEXT = "TAMPERED"
#: Shown for a missing value (no grade, metric not measured).
NO_VALUE = "—"
#: Item role giving the row's :class:`ResultRow`.
ROW_ROLE = int(Qt.ItemDataRole.UserRole) + 1

#: Pass/fail filter choices.
PASS_FILTERS: tuple[str, ...] = ("all", "pass", "fail")

_Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True)
class ResultRow:
    """One attempt as the results table shows it.

    Attributes
    ----------
    id : int
    started : datetime or None
        Start time, local time zone (None if unreadable).
    trainee, scene, mode : str
    status : str
        ``"complete"``, ``"incomplete"`` (interrupted: the process died),
        ``"abandoned"`` (ended by the trainee before finishing) or ``"running"``.
    passed : bool or None
        None when not graded.
    score : float
        Fraction of rubric criteria met, 0-1 (NaN without a grade).
    duration_s : float
        Session duration, s (NaN if unknown).
    tip_to_target_mm : float
        Tip-to-target distance at injection, mm (NaN if not measured).
    tip_visibility : float
        Fraction of the advancement with the tip visible, 0-1 (NaN if not measured).
    passes : float
        Needle passes (NaN if not measured).
    problems : tuple of str
        Integrity-check findings naming this attempt (empty: intact).
    record : AttemptRecord
    """

    id: int
    started: datetime | None
    trainee: str
    scene: str
    mode: str
    status: str
    passed: bool | None
    score: float
    duration_s: float
    tip_to_target_mm: float
    tip_visibility: float
    passes: float
    problems: tuple[str, ...] = ()
    record: AttemptRecord | None = field(default=None, compare=False, repr=False)

    @property
    def tampered(self) -> bool:
        """Whether the integrity check names this attempt."""
        return bool(self.problems)

    @property
    def local_date(self) -> date | None:
        """Local calendar date the attempt started."""
        return None if self.started is None else self.started.date()


def _number(value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return math.nan
    return v


def status_label(record: AttemptRecord) -> str:
    """``complete``, ``running``, ``abandoned`` (finished early: metrics stored) or
    ``incomplete`` (interrupted: nothing stored at the end)."""
    if record.status == "incomplete":
        return "abandoned" if record.metrics is not None else "incomplete"
    return record.status


def result_row(record: AttemptRecord, problems: Sequence[str] = ()) -> ResultRow:
    """The table row of one stored attempt.

    Parameters
    ----------
    record : AttemptRecord
    problems : sequence of str
        Tamper findings naming this attempt.
    """
    started = parse_time(record.started_at)
    metrics: Mapping[str, Any] = record.metrics or {}
    grade = record.grade or {}
    return ResultRow(
        id=int(record.id),
        started=None if started is None else started.astimezone(),
        trainee=record.trainee,
        scene=record.scene,
        mode=record.mode,
        status=status_label(record),
        passed=passed_of(record.grade),
        score=_number(grade.get("score")) if isinstance(grade, Mapping) else math.nan,
        duration_s=attempt_duration_s(record),
        tip_to_target_mm=_number(metrics.get("tip_to_target_at_injection_mm")),
        tip_visibility=_number(metrics.get("tip_visibility_fraction")),
        passes=_number(metrics.get("needle_passes")),
        problems=tuple(problems),
        record=record,
    )


def problems_by_id(problems: Iterable[ChainProblem]) -> dict[int | None, list[str]]:
    """Tamper findings as text, grouped by the attempt they name (None: the chain)."""
    out: dict[int | None, list[str]] = {}
    for p in problems:
        out.setdefault(p.attempt_id, []).append(p.what)
    return out


def result_rows(
    records: Iterable[AttemptRecord], problems: Iterable[ChainProblem] = ()
) -> list[ResultRow]:
    """Rows of every record, each with the tamper findings that name it."""
    grouped = problems_by_id(problems)
    return [result_row(r, grouped.get(r.id, ())) for r in records]


# ----------------------------------------------------------------- columns


def _fmt_number(value: float, fmt: str) -> str:
    return NO_VALUE if not math.isfinite(value) else fmt.format(value)


def _grade_text(row: ResultRow) -> str:
    return NO_VALUE if row.passed is None else ("PASS" if row.passed else "FAIL")


@dataclass(frozen=True)
class Column:
    """One column: header, display text and sort key of a row.

    ``key`` returns a number, a string or None (None sorts after everything,
    NaN counts as None).
    """

    name: str
    header: str
    text: Callable[[ResultRow], str]
    key: Callable[[ResultRow], Any]
    numeric: bool = False


def _nan_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


COLUMNS: tuple[Column, ...] = (
    Column("id", "Id", lambda r: str(r.id), lambda r: r.id, True),
    Column(
        "date",
        "Date",
        lambda r: "?" if r.started is None else r.started.strftime("%Y-%m-%d %H:%M"),
        lambda r: None if r.started is None else r.started.timestamp(),
        True,
    ),
    Column("trainee", "Trainee", lambda r: r.trainee, lambda r: r.trainee.casefold()),
    Column("scene", "Scene", lambda r: r.scene, lambda r: r.scene.casefold()),
    Column("mode", "Mode", lambda r: r.mode, lambda r: r.mode),
    Column("status", "Status", lambda r: r.status, lambda r: r.status),
    Column(
        "grade",
        "Grade",
        _grade_text,
        lambda r: None if r.passed is None else int(r.passed),
        True,
    ),
    Column(
        "score",
        "Score",
        lambda r: _fmt_number(100.0 * r.score, "{:.0f} %"),
        lambda r: _nan_none(r.score),
        True,
    ),
    Column(
        "duration",
        "Duration",
        lambda r: format_duration(r.duration_s) if math.isfinite(r.duration_s) else NO_VALUE,
        lambda r: _nan_none(r.duration_s),
        True,
    ),
    Column(
        "tip_to_target",
        "Tip–target at injection",
        lambda r: _fmt_number(r.tip_to_target_mm, "{:.2f} mm"),
        lambda r: _nan_none(r.tip_to_target_mm),
        True,
    ),
    Column(
        "tip_visibility",
        "Tip visible",
        lambda r: _fmt_number(100.0 * r.tip_visibility, "{:.0f} %"),
        lambda r: _nan_none(r.tip_visibility),
        True,
    ),
    Column(
        "passes",
        "Passes",
        lambda r: _fmt_number(r.passes, "{:.0f}"),
        lambda r: _nan_none(r.passes),
        True,
    ),
    Column(
        "integrity",
        "Integrity",
        lambda r: TAMPERED_TEXT if r.tampered else "ok",
        lambda r: int(r.tampered),
    ),
)

#: Column name -> index.
COLUMN_INDEX: Mapping[str, int] = {c.name: i for i, c in enumerate(COLUMNS)}


class ResultsTableModel(QAbstractTableModel):
    """The attempts as a table (one :class:`ResultRow` per row, :data:`COLUMNS`).

    Rows that fail the integrity check are red, with ``TAMPERED`` in the
    integrity column and the findings as tooltip.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[ResultRow] = []

    @property
    def rows(self) -> tuple[ResultRow, ...]:
        """Every row, in load order."""
        return tuple(self._rows)

    def set_rows(self, rows: Sequence[ResultRow]) -> None:
        """Replace the whole table."""
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row_at(self, row: int) -> ResultRow:
        """The :class:`ResultRow` at source row ``row``."""
        return self._rows[row]

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(  # noqa: N802 (Qt API)
        self,
        section: int,
        orientation: Qt.Orientation,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section].header
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        column = COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.text(row)
        if role == Qt.ItemDataRole.ForegroundRole:
            if row.tampered:
                return QBrush(TAMPERED_COLOUR)
            if column.name == "grade" and row.passed is not None:
                return QBrush(QColor(110, 220, 120) if row.passed else QColor(255, 170, 60))
            return None
        if role == Qt.ItemDataRole.ToolTipRole and row.tampered:
            return "Fails the integrity check:\n" + "\n".join(row.problems)
        if role == Qt.ItemDataRole.TextAlignmentRole and column.numeric:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.FontRole and row.tampered and column.name == "integrity":
            font = QFont()
            font.setBold(True)
            return font
        if role == ROW_ROLE:
            return row
        return None


@dataclass
class ResultsFilter:
    """What the table shows: every field None (or ``"all"``, ``""``) shows everything.

    Attributes
    ----------
    trainee, scene : str or None
        Exact names.
    date_from, date_to : date or None
        Inclusive range of local start dates.
    outcome : str
        One of :data:`PASS_FILTERS`.
    text : str
        Case-insensitive substring of the id, trainee, scene, mode, status or grade.
    """

    trainee: str | None = None
    scene: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    outcome: str = "all"
    text: str = ""

    def accepts(self, row: ResultRow) -> bool:
        """Whether ``row`` passes every filter."""
        if self.trainee is not None and row.trainee != self.trainee:
            return False
        if self.scene is not None and row.scene != self.scene:
            return False
        day = row.local_date
        if self.date_from is not None and (day is None or day < self.date_from):
            return False
        if self.date_to is not None and (day is None or day > self.date_to):
            return False
        if self.outcome == "pass" and row.passed is not True:
            return False
        if self.outcome == "fail" and row.passed is not False:
            return False
        text = self.text.strip().casefold()
        if text:
            hay = " ".join(
                (str(row.id), row.trainee, row.scene, row.mode, row.status, _grade_text(row))
            )
            if row.tampered:
                hay += " " + TAMPERED_TEXT
            if text not in hay.casefold():
                return False
        return True


class ResultsFilterProxy(QSortFilterProxyModel):
    """Sorts by each column's value and keeps the rows a :class:`ResultsFilter` accepts.

    Missing values (None, NaN) sort after all others in ascending order.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._filter = ResultsFilter()

    @property
    def results_filter(self) -> ResultsFilter:
        """The filter in force (a copy: change it with :meth:`set_filter`)."""
        return ResultsFilter(**vars(self._filter))

    def set_filter(self, flt: ResultsFilter) -> None:
        """Apply ``flt``."""
        self.beginFilterChange()
        self._filter = ResultsFilter(**vars(flt))
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def _source(self) -> ResultsTableModel:
        model = self.sourceModel()
        assert isinstance(model, ResultsTableModel)
        return model

    def filterAcceptsRow(self, source_row: int, source_parent: _Index) -> bool:  # noqa: N802
        return self._filter.accepts(self._source().row_at(source_row))

    def lessThan(self, left: _Index, right: _Index) -> bool:  # noqa: N802 (Qt API)
        column = COLUMNS[left.column()]
        model = self._source()
        a = column.key(model.row_at(left.row()))
        b = column.key(model.row_at(right.row()))
        if a is None or b is None:
            return a is not None and b is None
        if a == b:
            return model.row_at(left.row()).id < model.row_at(right.row()).id
        return a < b

    def row_at(self, proxy_row: int) -> ResultRow:
        """The :class:`ResultRow` shown at ``proxy_row``."""
        source = self.mapToSource(self.index(proxy_row, 0))
        return self._source().row_at(source.row())

    def visible_rows(self) -> list[ResultRow]:
        """The rows shown, in display order."""
        return [self.row_at(i) for i in range(self.rowCount())]


__all__ = [
    "COLUMNS",
    "COLUMN_INDEX",
    "NO_VALUE",
    "PASS_FILTERS",
    "ROW_ROLE",
    "TAMPERED_COLOUR",
    "TAMPERED_TEXT",
    "Column",
    "ResultRow",
    "ResultsFilter",
    "ResultsFilterProxy",
    "ResultsTableModel",
    "problems_by_id",
    "result_row",
    "result_rows",
    "status_label",
]
