"""The PDF report of one trainee: every attempt, pass rates, progress, grades."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from reportlab.lib import colors
from reportlab.platypus import Flowable, KeepTogether, PageBreak, Spacer

from simulator.records import AttemptRecord, RecordStore
from simulator.reports.attempt_data import attempt_duration_s, problems_by_attempt
from simulator.reports.attempt_pdf import TAMPER_WARNING, grade_flowables, para_text
from simulator.reports.formatting import (
    format_date,
    format_duration,
    format_value,
    passed_of,
    verdict_text,
)
from simulator.reports.pdf_common import (
    FRAME_WIDTH_PT,
    document,
    markup,
    page_footer,
    para,
    table,
)
from simulator.reports.plots import Series, line_plot

#: The headline metric plotted over attempts.
HEADLINE_METRIC = "tip_to_target_at_injection_mm"
#: Metrics shown beside each attempt in the attempts table.
KEY_METRICS = ("tip_to_target_at_injection_mm", "tip_visibility_fraction", "needle_passes")
#: Caption of the progress plot.
PROGRESS_CAPTION = "Tip-to-target distance at injection over attempts"


def _metric(record: AttemptRecord, name: str) -> float:
    try:
        return float((record.metrics or {}).get(name, math.nan))
    except (TypeError, ValueError):
        return math.nan


def attempts_table(records: list[AttemptRecord], tampered: set[int]) -> list[Flowable]:
    """Date, scene, mode, status, grade and key metrics of each attempt."""
    head = [
        "#",
        "Date (UTC)",
        "Scene",
        "Mode",
        "Status",
        "Grade",
        "Tip-target",
        "Tip seen",
        "Passes",
    ]
    body: list[list[Any]] = [head]
    for r in records:
        grade = verdict_text(r.grade)
        body.append(
            [
                str(r.id) + (" !" if r.id in tampered else ""),
                format_date(r.started_at).removesuffix(" UTC"),
                para(r.scene, "small"),
                r.mode,
                r.status,
                grade if grade != "not graded" else "-",
                *(format_value(m, _metric(r, m)) for m in KEY_METRICS),
            ]
        )
    out: list[Flowable] = [table(body, [24, 68, 114, 42, 50, 36, 52, 46, 38], verdict_col=5)]
    if tampered:
        ids = ", ".join(str(i) for i in sorted(tampered))
        out.append(
            para(
                f"{TAMPER_WARNING}: attempt(s) {ids} (marked !) do not match the "
                "tamper-evident hash chain.",
                "warning",
            )
        )
    return out


def pass_rate_table(records: list[AttemptRecord]) -> list[Flowable]:
    """Graded attempts, passes and pass rate per scene."""
    per_scene: dict[str, list[bool]] = {}
    for r in records:
        p = passed_of(r.grade)
        if p is not None:
            per_scene.setdefault(r.scene, []).append(p)
    if not per_scene:
        return [para("No graded attempt yet.")]
    body: list[list[Any]] = [["Scene", "Graded attempts", "Passed", "Pass rate"]]
    for scene, results in sorted(per_scene.items()):
        n, k = len(results), sum(results)
        body.append([scene, str(n), str(k), f"{100.0 * k / n:.0f} %"])
    return [table(body, [220, 90, 70, 70])]


def progress_plot(records: list[AttemptRecord]) -> list[Flowable]:
    """The headline metric over the trainee's attempts."""
    values = np.array([_metric(r, HEADLINE_METRIC) for r in records])
    if not np.isfinite(values).any():
        return [para(f"{PROGRESS_CAPTION}: no attempt has a value yet.", "caption")]
    x = np.arange(1, len(records) + 1, dtype=float)
    d = line_plot(
        [Series(x, values, colors.Color(0.8, 0.1, 0.1), "tip to target at injection", points=True)],
        width_pt=FRAME_WIDTH_PT,
        height_pt=160,
        x_label="attempt (in date order)",
        y_label="distance (mm)",
        x_range=(0.5, len(records) + 0.5),
        x_ticks=[float(i) for i in range(1, len(records) + 1, max(1, len(records) // 12))],
    )
    return [KeepTogether([d, para(f"Figure 1. {PROGRESS_CAPTION} (0 = inside).", "caption")])]


def write_trainee_report(store: RecordStore, trainee: str, out_path: str | Path) -> Path:
    """Write the PDF report of every attempt of a trainee.

    Parameters
    ----------
    store : RecordStore
    trainee : str
        Trainee name.
    out_path : str or Path
        The PDF to write (parent folders are created).

    Returns
    -------
    Path
        ``out_path``.

    Raises
    ------
    KeyError
        If the store has no trainee of that name.
    """
    if store.person(trainee, "trainee") is None:
        names = ", ".join(p.name for p in store.people("trainee")) or "none"
        raise KeyError(f"trainee {trainee!r}: not in records '{store.path}' (trainees: {names})")
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    records = store.attempts(trainee=trainee)
    grouped = problems_by_attempt(store.verify_chain())
    tampered = {r.id for r in records if r.id in grouped}
    graded = [p for p in (passed_of(r.grade) for r in records) if p is not None]
    summary = f"{len(records)} attempt(s), {len(graded)} graded, {sum(graded)} passed" + (
        f" ({100.0 * sum(graded) / len(graded):.0f} %)" if graded else ""
    )
    if records:
        summary += (
            f"; from {format_date(records[0].started_at)} to {format_date(records[-1].started_at)}"
        )
    story: list[Flowable] = [
        markup(f"Trainee report: {para_text(trainee)}", "title"),
        para(summary),
        Spacer(1, 4),
    ]
    if None in grouped:
        story.append(
            para(f"{TAMPER_WARNING}: the records' hash chain itself was edited.", "warning")
        )
    story += [markup("Attempts", "h2"), *attempts_table(records, tampered)]
    story += [markup("Pass rate per scene", "h2"), *pass_rate_table(records)]
    story += [markup("Progress", "h2"), *progress_plot(records)]
    for r in records:
        story += [
            PageBreak(),
            markup(f"Attempt {r.id}: {para_text(r.scene)}", "h2"),
            para(
                f"{format_date(r.started_at)}, {r.mode}, {r.status}, "
                f"duration {format_duration(attempt_duration_s(r))}, "
                f"result {verdict_text(r.grade)}"
            ),
            Spacer(1, 4),
        ]
        if r.id in tampered:
            problems = "; ".join(str(p) for p in grouped[r.id])
            story.append(para(f"{TAMPER_WARNING}: {problems}", "warning"))
        story += grade_flowables(r.grade)
    footer = page_footer(f"Trainee report: {trainee}")
    document(out, f"Trainee report: {trainee}").build(
        story, onFirstPage=footer, onLaterPages=footer
    )
    return out


__all__ = ["HEADLINE_METRIC", "KEY_METRICS", "PROGRESS_CAPTION", "write_trainee_report"]
