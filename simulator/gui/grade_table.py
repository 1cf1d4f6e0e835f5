"""The grade of an attempt as a table: each criterion, measured value, requirement, result.

One table widget is used by the Score dock (one line per criterion, the
description elided, the whole text in its tooltip) and by the grade dialog
(descriptions wrapped, every row visible).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from simulator.gui.theme import ERROR_COLOUR
from simulator.rubric import METRICS

#: Column titles.
COLUMNS = ("Criterion", "Measured", "Required", "Result")
#: Colour of a met criterion and of a pass.
PASS_COLOUR = "#4caf50"


def format_value(value: float, unit: str) -> str:
    """A metric value with its unit, as the window shows it ("–" for NaN; fractions as %)."""
    if math.isnan(value):
        return "–"
    if unit == "%":
        return f"{100 * value:.0f} %"
    if unit == "yes/no":
        return "yes" if value > 0.5 else "no"
    if unit == "count":
        return f"{value:.0f}"
    return f"{value:.1f} {unit}"


def verdict_text(grade: Mapping[str, Any]) -> str:
    """``"PASS  ·  86 % of criteria met (pass mark 75 %)"`` for a stored grade dict."""
    passed = bool(grade["passed"])
    return (
        f"{'PASS' if passed else 'FAIL'}  ·  {100 * grade['score']:.0f} % of criteria met "
        f"(pass mark {100 * grade['pass_mark']:.0f} %)"
    )


def criterion_cells(c: Mapping[str, Any]) -> tuple[str, str, str, str]:
    """The four cells of one criterion of a stored grade (``Grade.to_dict`` form)."""
    unit = METRICS[c["metric"]].unit
    name = c["description"] or c["metric"].replace("_", " ")
    if c["critical"]:
        name += " (critical)"
    return (
        name,
        format_value(c["value"], unit),
        f"{c['op']} {format_value(c['threshold'], unit)}",
        "pass" if c["met"] else "FAIL",
    )


def make_grade_table(wrap: bool, parent: QWidget | None = None) -> QTableWidget:
    """An empty, read-only grade table.

    Parameters
    ----------
    wrap : bool
        Wrap the criterion text over lines (True) or elide it on one line.
    """
    table = QTableWidget(0, len(COLUMNS), parent)
    table.setHorizontalHeaderLabels(list(COLUMNS))
    table.verticalHeader().hide()
    table.setWordWrap(wrap)
    table.setTextElideMode(Qt.TextElideMode.ElideRight)
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
    header = table.horizontalHeader()
    header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    for col in range(1, len(COLUMNS)):
        header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
    return table


def fill_grade_table(table: QTableWidget, grade: Mapping[str, Any] | None) -> None:
    """Put the criteria of a stored grade in ``table`` (none for None)."""
    rows = [] if grade is None else list(grade["criteria"])
    table.setRowCount(len(rows))
    for i, c in enumerate(rows):
        cells = criterion_cells(c)
        tip = f"{cells[0]}\n{c['metric']}: {METRICS[c['metric']].description}"
        for col, text in enumerate(cells):
            item = QTableWidgetItem(text)
            item.setToolTip(tip)
            if col == 3:
                item.setForeground(Qt.GlobalColor.green if c["met"] else ERROR_COLOUR)
            table.setItem(i, col, item)
    table.resizeRowsToContents()


def table_rows(table: QTableWidget) -> list[tuple[str, str, str, str]]:
    """The table's rows as text (criterion, measured, required, result)."""
    return [
        tuple(table.item(i, c).text() for c in range(len(COLUMNS)))  # type: ignore[misc]
        for i in range(table.rowCount())
    ]
