"""``main.py results`` and ``main.py report``: the records as a table, a CSV, PDFs.

Both take the argparse ``Namespace`` built in ``simulator.app.cli``:

- results: ``db`` (Path or None: ``simulator.records.default_db_path()``),
  ``csv`` (Path or None), ``trainee``, ``scene``, ``mode`` (filters, None for
  all), ``json`` (bool);
- report: ``db``, ``attempt`` (int or None), ``trainee`` (str or None),
  ``out`` (Path).

A user's mistake (no database, unknown attempt or trainee) raises
``simulator.app.cli.UserError`` naming what was asked and what exists.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from simulator.records import MODES, AttemptRecord, RecordStore, default_db_path
from simulator.reports.attempt_data import attempt_duration_s, problems_by_attempt
from simulator.reports.csv_export import write_class_csv
from simulator.reports.formatting import (
    format_date,
    format_duration,
    format_value,
    passed_of,
    verdict_text,
)

#: Metric shown in the results table.
TABLE_METRIC = "tip_to_target_at_injection_mm"


def _user_error(message: str) -> Exception:
    from simulator.app.cli import UserError

    return UserError(message)


def _db_path(args: argparse.Namespace) -> Path:
    path = getattr(args, "db", None)
    path = Path(path).expanduser() if path is not None else default_db_path()
    if not path.is_file():
        raise _user_error(
            f"no records database at '{path}' (give --db PATH, or set INJECTION_SIM_DB; "
            "attempts are recorded by the simulator and by 'main.py attempt')"
        )
    return path


def _open(args: argparse.Namespace) -> RecordStore:
    # recover=False: reading results must not change another running program's attempts
    return RecordStore(_db_path(args), recover=False)


def _ids_text(records: list[AttemptRecord]) -> str:
    ids = [r.id for r in records]
    if not ids:
        return "the records hold no attempt"
    shown = ", ".join(str(i) for i in ids[:20]) + (", ..." if len(ids) > 20 else "")
    return f"attempts in the records: {shown}"


def _check_trainee(store: RecordStore, trainee: str) -> None:
    if store.person(trainee, "trainee") is None:
        names = ", ".join(p.name for p in store.people("trainee")) or "none"
        raise _user_error(f"trainee {trainee!r} is not in '{store.path}' (trainees: {names})")


def _json_number(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _row_json(r: AttemptRecord, chain_ok: bool) -> dict[str, Any]:
    return {
        "id": r.id,
        "date": r.started_at,
        "trainee": r.trainee,
        "scene": r.scene,
        "mode": r.mode,
        "status": r.status,
        "passed": passed_of(r.grade),
        "duration_s": _json_number(attempt_duration_s(r)),
        "chain_ok": chain_ok,
        "metrics": {k: _json_number(v) for k, v in (r.metrics or {}).items()},
    }


def _print_table(records: list[AttemptRecord], tampered: set[int]) -> None:
    head = ("id", "date", "trainee", "scene", "mode", "status", "grade", "tip-target", "time", "")
    rows = [
        (
            str(r.id),
            format_date(r.started_at),
            r.trainee,
            r.scene,
            r.mode,
            r.status,
            verdict_text(r.grade),
            format_value(TABLE_METRIC, (r.metrics or {}).get(TABLE_METRIC)),
            format_duration(attempt_duration_s(r)),
            "ALTERED" if r.id in tampered else "",
        )
        for r in records
    ]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
    for line in (head, *rows):
        print("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())


def run_results(args: argparse.Namespace) -> int:
    """List the attempts (table or JSON), write the class CSV if asked, show tampering.

    Returns
    -------
    int
        Exit status: 0.
    """
    mode = getattr(args, "mode", None)
    if mode is not None and mode not in MODES:
        raise _user_error(f"--mode {mode!r}: expected one of {', '.join(MODES)}")
    filters = {k: getattr(args, k, None) for k in ("trainee", "scene", "mode")}
    with _open(args) as store:
        if filters["trainee"] is not None:
            _check_trainee(store, filters["trainee"])
        records = store.attempts(**{k: v for k, v in filters.items() if v is not None})
        problems = store.verify_chain()
        grouped = problems_by_attempt(problems)
        tampered = {r.id for r in records if r.id in grouped}
        chain_broken = None in grouped
        csv_path = getattr(args, "csv", None)
        n_csv = write_class_csv(store, csv_path, **filters) if csv_path is not None else None
    warn = sys.stderr if getattr(args, "json", False) else sys.stdout
    if getattr(args, "json", False):
        ok = not chain_broken
        print(json.dumps([_row_json(r, ok and r.id not in tampered) for r in records], indent=2))
    elif records:
        _print_table(records, tampered)
        graded = [p for p in (passed_of(r.grade) for r in records) if p is not None]
        print(
            f"{len(records)} attempt(s), {len(graded)} graded, {sum(graded)} passed"
            + (f" ({100.0 * sum(graded) / len(graded):.0f} %)" if graded else "")
        )
    else:
        print("no attempts match" if any(filters.values()) else "no attempts recorded yet")
    if problems:
        print(
            f"TAMPER WARNING: {len(problems)} problem(s) in the records' hash chain "
            "(rows edited or removed outside the simulator):",
            file=warn,
        )
        for p in problems:
            print(f"  {p}", file=warn)
    if n_csv is not None:
        print(f"wrote {n_csv} row(s) to {csv_path}", file=warn)
    return 0


def run_report(args: argparse.Namespace) -> int:
    """Write the PDF report of one attempt (``--attempt``) or one trainee (``--trainee``).

    Returns
    -------
    int
        Exit status: 0.
    """
    attempt_id = getattr(args, "attempt", None)
    trainee = getattr(args, "trainee", None)
    out = getattr(args, "out", None)
    if (attempt_id is None) == (trainee is None):
        raise _user_error("report: give either --attempt ID or --trainee NAME")
    if out is None:
        raise _user_error("report: give --out OUT.pdf")
    out = Path(out)
    with _open(args) as store:
        if attempt_id is not None:
            try:
                store.attempt(int(attempt_id))
            except KeyError:
                raise _user_error(
                    f"attempt {attempt_id} is not in '{store.path}' ({_ids_text(store.attempts())})"
                ) from None
            from simulator.reports.attempt_pdf import write_attempt_report

            path = write_attempt_report(store, int(attempt_id), out)
        else:
            _check_trainee(store, trainee)
            from simulator.reports.trainee_pdf import write_trainee_report

            path = write_trainee_report(store, trainee, out)
    print(path)
    return 0


__all__ = ["run_report", "run_results"]
