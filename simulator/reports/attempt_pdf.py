"""The PDF report of one attempt.

Header (trainee, scene, mode, date, duration, status, integrity), the grade
(each rubric criterion with its measured value beside its threshold), every
metric, the events timeline, tip-to-target distance and tip visibility over
time, the needle path over a section of the anatomy, and a B-mode snapshot at
each injection.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from reportlab.lib import colors
from reportlab.platypus import Flowable, KeepTogether, PageBreak, Spacer

from simulator.records import RecordStore
from simulator.reports.attempt_data import AttemptData, load_attempt, load_scene_for, tip_series
from simulator.reports.formatting import (
    METRICS_DESCRIPTION,
    criteria_of,
    format_date,
    format_duration,
    format_value,
    verdict_text,
)
from simulator.reports.path_view import draw_path_view, legend_items
from simulator.reports.pdf_common import (
    FAIL_RED,
    FRAME_WIDTH_PT,
    document,
    image_from_rgb,
    markup,
    page_footer,
    para,
    table,
)
from simulator.reports.plots import Series, line_plot
from simulator.reports.snapshots import Snapshot, replay_snapshots
from simulator.rubric import METRICS

#: Caption of the distance plot (tests look for it).
DISTANCE_CAPTION = "Tip-to-target distance over time"
#: Caption of the visibility plot.
VISIBILITY_CAPTION = "Tip visibility over time"
#: Caption of the needle path view.
PATH_CAPTION = "Needle path over the anatomy"
#: Heading of the tamper warning.
TAMPER_WARNING = "WARNING: RECORD ALTERED"


def _scene_title(record_scene: str, scene: Any) -> str:
    spec = getattr(scene, "spec", None)
    title = getattr(spec, "title", "") if spec is not None else ""
    return f"{title} ({record_scene})" if title and title != record_scene else record_scene


def header_flowables(data: AttemptData, scene: Any) -> list[Flowable]:
    """Title, the attempt's identity table and the integrity line or warning."""
    r = data.record
    verdict = verdict_text(r.grade)
    colour = {"PASS": "#0d8026", "FAIL": "#cc0d0d"}.get(verdict, "#555555")
    out: list[Flowable] = [
        markup(f"Attempt {r.id}: {para_text(r.trainee)}", "title"),
        table(
            [
                ["Trainee", r.trainee, "Mode", r.mode],
                ["Scene", para(_scene_title(r.scene, scene), "small"), "Status", r.status],
                ["Date", format_date(r.started_at), "Duration", format_duration(data.duration_s)],
                ["Samples", str(len(data.samples)), "Events", str(len(data.events))],
            ],
            [60, 220, 60, 160],
            font_size=8.5,
        ),
        Spacer(1, 6),
        markup(f'Result: <font color="{colour}"><b>{verdict}</b></font>', "h2"),
    ]
    if r.status != "complete":
        out.append(
            para(
                f"This attempt is {r.status}: it was not finished (interrupted or abandoned); "
                "its metrics and grade may be missing.",
                "warning",
            )
        )
    if data.chain_ok:
        out.append(para("Record integrity: verified (hash chain intact).", "small"))
    else:
        lines = "<br/>".join(para_text(str(p)) for p in data.chain_problems)
        out.append(
            markup(
                f"<b>{TAMPER_WARNING}</b>: the stored record of this attempt does not match "
                f"the tamper-evident hash chain. Do not trust these results.<br/>{lines}",
                "warning",
            )
        )
    return out


def para_text(text: str) -> str:
    """Text escaped for reportlab markup."""
    from xml.sax.saxutils import escape

    return escape(text)


def grade_flowables(grade: dict[str, Any] | None) -> list[Flowable]:
    """The grade table: metric, measured value, requirement, PASS/FAIL, and the verdict."""
    rows = criteria_of(grade)
    if not rows:
        return [para("No grade: this attempt was not graded against a rubric.")]
    body: list[list[Any]] = [["Criterion (metric)", "Measured", "Required", "Result"]]
    for c in rows:
        name = c.metric + (" (critical)" if c.critical else "")
        body.append([para(name, "small"), c.value_text, c.requirement, c.verdict])
    t = table(body, [230, 90, 100, 60], verdict_col=3)
    score = (grade or {}).get("score")
    verdict = verdict_text(grade)
    colour = "#0d8026" if verdict == "PASS" else "#cc0d0d"
    met = sum(c.met for c in rows)
    summary = f"Overall: {verdict} ({met} of {len(rows)} criteria met"
    if isinstance(score, int | float) and math.isfinite(score):
        summary += f", score {100 * score:.0f} %"
    summary += ")"
    return [
        t,
        Spacer(1, 3),
        markup(f'<font color="{colour}"><b>{para_text(summary)}</b></font>'),
    ]


def metrics_flowables(metrics: dict[str, Any] | None) -> list[Flowable]:
    """Every metric with its value, unit and description (catalogue order first)."""
    if not metrics:
        return [para("No metrics stored (the attempt was not finished).")]
    names = [n for n in METRICS if n in metrics] + [n for n in metrics if n not in METRICS]
    body: list[list[Any]] = [["Metric", "Value", "What it measures"]]
    for n in names:
        body.append(
            [
                para(n, "small"),
                format_value(n, metrics[n]),
                para(METRICS_DESCRIPTION.get(n, ""), "small"),
            ]
        )
    return [table(body, [170, 70, 240])]


def events_flowables(events: Sequence[dict[str, Any]]) -> list[Flowable]:
    """The events timeline: time, kind, structure, detail."""
    if not events:
        return [para("No events.")]
    body: list[list[Any]] = [["t (s)", "Event", "Structure", "Depth (mm)", "Detail"]]
    alert = {
        "intraneural",
        "vessel_puncture",
        "intravascular_injection",
        "high_resistance",
        "bone_contact",
        "nerve_contact",
    }
    for e in events:
        depth = e.get("depth_mm")
        body.append(
            [
                f"{float(e.get('t_s', math.nan)):.2f}",
                str(e.get("kind", "?")),
                para(str(e.get("structure") or "-"), "small"),
                "-" if depth is None else f"{float(depth):.1f}",
                para(str(e.get("detail") or ""), "small"),
            ]
        )
    t = table(body, [45, 105, 115, 55, 160], font_size=7.5)
    for i, e in enumerate(events, start=1):
        if e.get("kind") in alert:
            t.setStyle([("TEXTCOLOR", (1, i), (1, i), FAIL_RED)])
    return [t]


def plot_flowables(data: AttemptData, scene: Any) -> list[Flowable]:
    """Distance and visibility plots with their captions."""
    if not data.samples:
        return [para("No samples recorded: nothing to plot.")]
    series = tip_series(data.samples, scene)
    t = series["t_s"]
    inj = [float(e["t_s"]) for e in data.injection_events()]
    out: list[Flowable] = []
    dist = series["distance_mm"]
    if np.isfinite(dist).any():
        d = line_plot(
            [Series(t, dist, colors.Color(0.8, 0.1, 0.1), "tip to target surface")],
            width_pt=FRAME_WIDTH_PT,
            height_pt=170,
            x_label="time (s)",
            y_label="distance (mm)",
            markers_x=inj,
            marker_label="injection",
        )
        fig = [d, para(f"Figure 1. {DISTANCE_CAPTION} (0 = tip inside the target).", "caption")]
        out.append(KeepTogether(fig))
    else:
        why = "no needle in the samples" if scene is not None else "scene not available"
        out.append(para(f"{DISTANCE_CAPTION}: not available ({why}).", "caption"))
    vis = np.where(series["inserted"], series["visible"], np.nan)
    v = line_plot(
        [Series(t, vis, colors.Color(0.1, 0.45, 0.2), "tip in the imaged slice", step=True)],
        width_pt=FRAME_WIDTH_PT,
        height_pt=90,
        x_label="time (s)",
        y_label="tip visible",
        y_range=(-0.1, 1.1),
        y_tick_labels={0.0: "hidden", 1.0: "visible"},
        x_range=(float(t.min()), float(t.max())) if len(t) > 1 else None,
        markers_x=inj,
        marker_label="injection",
    )
    shown = series["visible"][series["inserted"]]
    frac = f"{100 * shown.mean():.0f} % of inserted samples" if shown.size else "needle never in"
    out.append(
        KeepTogether(
            [v, para(f"Figure 2. {VISIBILITY_CAPTION} while the needle is in ({frac}).", "caption")]
        )
    )
    return out


def path_flowables(data: AttemptData, scene: Any) -> list[Flowable]:
    """The needle path over a section of the anatomy, with its legend."""
    if scene is None or not data.samples:
        return [para(f"{PATH_CAPTION}: not available (no scene or no samples).", "caption")]
    view = draw_path_view(scene, data.samples)
    img = image_from_rgb(view.rgb, FRAME_WIDTH_PT * 0.8, 330)
    legend = ", ".join(
        f'<font color="#{r:02x}{g:02x}{b:02x}">&#9632;</font> {para_text(n)}'
        for n, (r, g, b) in legend_items(scene, view.structures[:10])
    )
    caption = (
        f"Figure 3. {PATH_CAPTION}: section in the plane of the needle (through the mean "
        "entry point, along the needle and the beam axis), depth downwards. Red: tip path "
        "(projected), red dot: last tip position, black square: skin entry, green cross: "
        "target aim point (circle: target radius). Scale bar in mm."
    )
    out: list[Flowable] = [KeepTogether([img, para(caption, "caption")])]
    if legend:
        out.append(markup(f"Structures: {legend}", "small"))
    return out


def snapshot_flowables(snapshots: Sequence[Snapshot], note: str = "") -> list[Flowable]:
    """One B-mode image per injection with its caption."""
    if not snapshots:
        return [para(note or "No injection in this attempt: no B-mode snapshot.", "caption")]
    out: list[Flowable] = []
    for i, (t_s, caption, rgb) in enumerate(snapshots, start=1):
        img = image_from_rgb(np.asarray(rgb), FRAME_WIDTH_PT * 0.75, 300)
        text = f"Snapshot {i} (t = {t_s:.1f} s). {caption}"
        out.append(KeepTogether([img, para(text, "caption")]))
    return out


def write_attempt_report(
    store: RecordStore,
    attempt_id: int,
    out_path: str | Path,
    *,
    snapshots: Sequence[Snapshot] | None = None,
    scene: Any = None,
) -> Path:
    """Write the PDF report of one attempt.

    Parameters
    ----------
    store : RecordStore
    attempt_id : int
    out_path : str or Path
        The PDF to write (parent folders are created).
    snapshots : sequence of (t_s, caption, ndarray (h, w, 3) uint8), optional
        B-mode images to show; when None they are rendered at each injection
        by replaying the attempt (``simulator.app.replay``).
    scene : Scene, optional
        The attempt's loaded scene; loaded by name when None.

    Returns
    -------
    Path
        ``out_path``.

    Raises
    ------
    KeyError
        If the attempt is not in the store.
    """
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    data = load_attempt(store, attempt_id)
    r = data.record
    scene_note = ""
    if scene is None:
        scene, scene_note = load_scene_for(r.scene)
    snap_note = ""
    if snapshots is None:
        try:
            snapshots = replay_snapshots(store, attempt_id, data.events, scene=scene)
        except Exception as exc:
            snapshots, snap_note = [], f"B-mode snapshots not available: {exc}"
    story: list[Flowable] = header_flowables(data, scene)
    if scene_note:
        story.append(para(scene_note, "small"))
    story += [markup("Grade", "h2"), *grade_flowables(r.grade)]
    story += [markup("Metrics", "h2"), *metrics_flowables(r.metrics)]
    story += [PageBreak(), markup("Tip-to-target distance and tip visibility", "h2")]
    story += plot_flowables(data, scene)
    story += [markup("Needle path", "h2"), *path_flowables(data, scene)]
    story += [markup("B-mode at each injection", "h2"), *snapshot_flowables(snapshots, snap_note)]
    story += [markup("Events timeline", "h2"), *events_flowables(data.events)]
    title = f"Attempt {r.id}: {r.trainee}, {r.scene}"
    footer = page_footer(f"{title}, {r.mode}, {format_date(r.started_at)}")
    document(out, title).build(story, onFirstPage=footer, onLaterPages=footer)
    return out


__all__ = [
    "DISTANCE_CAPTION",
    "PATH_CAPTION",
    "TAMPER_WARNING",
    "VISIBILITY_CAPTION",
    "events_flowables",
    "grade_flowables",
    "header_flowables",
    "metrics_flowables",
    "write_attempt_report",
]
