"""The class CSV: one row per attempt, every metric in its own column."""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from simulator.records import AttemptRecord, RecordStore
from simulator.reports.attempt_data import attempt_duration_s, problems_by_attempt
from simulator.reports.formatting import passed_of
from simulator.rubric import METRICS

#: The columns before the metrics.
BASE_COLUMNS: tuple[str, ...] = (
    "id",
    "date",
    "trainee",
    "scene",
    "mode",
    "status",
    "passed",
    "duration_s",
)


def _cell(value: Any) -> str:
    """CSV text: floats exactly (``repr``), NaN/None empty, booleans ``true``/``false``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ""
    return str(value)


def csv_columns(records: Sequence[AttemptRecord]) -> list[str]:
    """Header: ``BASE_COLUMNS``, every ``METRICS`` name in catalogue order, then any
    other metric the attempts carry (quiz metrics, sorted), then ``chain_ok``."""
    extra = sorted({k for r in records for k in (r.metrics or {}) if k not in METRICS})
    return [*BASE_COLUMNS, *METRICS, *extra, "chain_ok"]


def csv_rows(store: RecordStore, records: Sequence[AttemptRecord]) -> list[dict[str, str]]:
    """One dict of CSV cells per attempt (keys of :func:`csv_columns`)."""
    tampered = problems_by_attempt(store.verify_chain())
    chain_broken = None in tampered
    rows = []
    for r in records:
        metrics = r.metrics or {}
        row = {
            "id": _cell(r.id),
            "date": r.started_at,
            "trainee": r.trainee,
            "scene": r.scene,
            "mode": r.mode,
            "status": r.status,
            "passed": _cell(passed_of(r.grade)),
            "duration_s": _cell(attempt_duration_s(r)),
            "chain_ok": _cell(r.id not in tampered and not chain_broken),
        }
        for name, value in metrics.items():
            row[name] = _cell(float(value) if isinstance(value, int | float) else value)
        rows.append(row)
    return rows


def write_class_csv(store: RecordStore, out_path: str | Path, **filters: Any) -> int:
    """Write the class CSV of every attempt matching ``filters``.

    Parameters
    ----------
    store : RecordStore
    out_path : str or Path
        The CSV to write (UTF-8, comma-separated, header row first).
    **filters
        ``RecordStore.attempts`` filters: ``trainee``, ``scene``, ``mode``,
        ``status``, ``since``, ``until`` (None values are ignored).

    Returns
    -------
    int
        Number of attempt rows written (the header not counted).

    Notes
    -----
    Floats are written exactly (``repr``: they read back bit-identical);
    missing and NaN values are empty cells; ``passed`` and ``chain_ok`` are
    ``true``/``false`` (``passed`` empty when not graded); ``date`` is the
    ISO-8601 UTC start time; ``duration_s`` is the session time
    (``total_time_s``) or, when unknown, the wall-clock time.
    """
    records = store.attempts(**{k: v for k, v in filters.items() if v is not None})
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    columns = csv_columns(records)
    rows = csv_rows(store, records)
    with out.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns, restval="", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


__all__ = ["BASE_COLUMNS", "csv_columns", "csv_rows", "write_class_csv"]
