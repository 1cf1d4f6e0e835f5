"""Text of the reports: metric values with their units, grades, dates and durations.

One place formats a metric value, so the PDF tables, the console table and
the tests agree on the exact text (``"1.25 mm"``, ``"85.0 %"``, ``"yes"``).
A stored grade is a plain dict (``AttemptRecord.grade``); ``Grade.to_dict``
writes one from a :class:`simulator.rubric.Grade` and :func:`criteria_of`
reads one back, tolerating the older ``max``/``min`` form.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from simulator.rubric import METRICS

#: Text shown for a metric without a value (NaN, missing).
NO_VALUE = "n/a"


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def metric_unit(metric: str) -> str:
    """Display unit of a catalogue metric (``""`` for unknown names)."""
    m = METRICS.get(metric)
    return m.unit if m is not None else ""


def format_value(metric: str, value: Any) -> str:
    """A metric value as shown in the reports, with its unit.

    Parameters
    ----------
    metric : str
        Name in ``simulator.rubric.METRICS`` (others are shown as plain numbers).
    value : float or None
        Measured value in the metric's unit; fractions (unit ``%``) are 0-1.

    Returns
    -------
    str
        ``"1.25 mm"``, ``"85.0 %"``, ``"yes"``/``"no"``, ``"3"`` (counts),
        ``"n/a"`` for NaN or None.
    """
    v = _number(value)
    if not math.isfinite(v):
        return NO_VALUE
    unit = metric_unit(metric)
    if unit == "%":
        return f"{100.0 * v:.1f} %"
    if unit == "yes/no":
        return "yes" if v >= 0.5 else "no"
    if unit == "count":
        return f"{v:.0f}" if float(v).is_integer() else f"{v:.2f}"
    if unit == "":
        return f"{v:.4g}"
    return f"{v:.2f} {unit}"


def format_criterion(op: str, metric: str, threshold: Any) -> str:
    """The requirement of a criterion, e.g. ``"<= 2.00 mm"``."""
    return f"{op} {format_value(metric, threshold)}"


@dataclass(frozen=True)
class CriterionRow:
    """One line of a grade table, as text and numbers.

    Attributes
    ----------
    metric : str
    value : float
        Measured value (NaN when missing).
    value_text : str
        ``format_value(metric, value)``.
    requirement : str
        ``"<= 2.00 mm"``.
    met : bool
    critical : bool
    description : str
    """

    metric: str
    value: float
    value_text: str
    requirement: str
    met: bool
    critical: bool
    description: str

    @property
    def verdict(self) -> str:
        """``"PASS"`` or ``"FAIL"``."""
        return "PASS" if self.met else "FAIL"


def criteria_of(grade: Mapping[str, Any] | None) -> list[CriterionRow]:
    """The criteria of a stored grade dict, in order (empty without a grade).

    Accepts the ``Grade.to_dict`` form and the older ``max``/``min`` form
    (``{"metric", "value", "max", "met"}``); ``passed`` is read for ``met``.
    """
    if not grade:
        return []
    rows = []
    for c in grade.get("criteria") or ():
        if not isinstance(c, Mapping):
            continue
        metric = str(c.get("metric", "?"))
        op, threshold = c.get("op"), c.get("threshold")
        if threshold is None:
            for key, key_op in (("max", "<="), ("min", ">="), ("equals", "==")):
                if key in c:
                    op, threshold = key_op, c[key]
                    break
        requirement = format_criterion(str(op or "?"), metric, threshold)
        met = c.get("met", c.get("passed", False))
        value = _number(c.get("value"))
        rows.append(
            CriterionRow(
                metric=metric,
                value=value,
                value_text=format_value(metric, value),
                requirement=requirement,
                met=bool(met),
                critical=bool(c.get("critical", False)),
                description=str(c.get("description", "") or METRICS_DESCRIPTION.get(metric, "")),
            )
        )
    return rows


#: Metric name -> its one-sentence description.
METRICS_DESCRIPTION: Mapping[str, str] = {n: m.description for n, m in METRICS.items()}


def passed_of(grade: Mapping[str, Any] | None) -> bool | None:
    """Whether a stored grade passed; None without a grade."""
    if not grade or "passed" not in grade:
        return None
    return bool(grade["passed"])


def verdict_text(grade: Mapping[str, Any] | None) -> str:
    """``"PASS"``, ``"FAIL"`` or ``"not graded"``."""
    passed = passed_of(grade)
    return "not graded" if passed is None else ("PASS" if passed else "FAIL")


def parse_time(iso: str | None) -> datetime | None:
    """An ISO-8601 time of the records, or None."""
    if not iso:
        return None
    try:
        return datetime.fromisoformat(iso)
    except ValueError:
        return None


def format_date(iso: str | None) -> str:
    """``"2025-03-01 09:00 UTC"`` from a stored ISO time (``"?"`` if unknown)."""
    t = parse_time(iso)
    return "?" if t is None else t.strftime("%Y-%m-%d %H:%M UTC")


def duration_s(started_at: str | None, ended_at: str | None) -> float:
    """Wall-clock duration of an attempt, s (NaN while running or unknown)."""
    a, b = parse_time(started_at), parse_time(ended_at)
    if a is None or b is None:
        return math.nan
    return (b - a).total_seconds()


def format_duration(seconds: float) -> str:
    """``"2 min 05 s"``, ``"42.0 s"`` or ``"?"``."""
    if not math.isfinite(seconds):
        return "?"
    if seconds < 60.0:
        return f"{seconds:.1f} s"
    m, s = divmod(round(seconds), 60)
    return f"{m} min {s:02d} s"


__all__ = [
    "METRICS_DESCRIPTION",
    "NO_VALUE",
    "CriterionRow",
    "criteria_of",
    "duration_s",
    "format_criterion",
    "format_date",
    "format_duration",
    "format_value",
    "metric_unit",
    "parse_time",
    "passed_of",
    "verdict_text",
]
