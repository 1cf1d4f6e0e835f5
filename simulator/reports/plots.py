"""Line plots for the reports, drawn as vector graphics (``reportlab.graphics``).

A small axis-and-polyline plotter: NaN values break a line into segments (no
needle, no value), vertical markers show events (injections).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from reportlab.graphics.shapes import Circle, Drawing, Line, PolyLine, String
from reportlab.lib import colors

#: Plot frame margins inside the drawing, points.
LEFT_PT, RIGHT_PT, BOTTOM_PT, TOP_PT = 48.0, 10.0, 30.0, 16.0


@dataclass(frozen=True)
class Series:
    """One line of a plot.

    Attributes
    ----------
    x, y : ndarray, shape (n,)
        Data coordinates; NaN in ``y`` breaks the line.
    colour : reportlab Color
    label : str
        Legend text.
    step : bool
        Draw as a step function (held until the next x).
    points : bool
        Also mark each point with a dot.
    """

    x: np.ndarray
    y: np.ndarray
    colour: colors.Color
    label: str = ""
    step: bool = False
    points: bool = False


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values covering ``[lo, hi]``."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / max(n, 1)
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = []
    v = first
    while v <= hi + 1e-9 * step:
        ticks.append(round(v, 10))
        v += step
    return ticks


def _fmt_tick(v: float) -> str:
    return f"{v:.0f}" if float(v).is_integer() else f"{v:g}"


def _segments(x: np.ndarray, y: np.ndarray, step: bool) -> list[list[tuple[float, float]]]:
    segs: list[list[tuple[float, float]]] = []
    cur: list[tuple[float, float]] = []
    for i in range(len(x)):
        if not math.isfinite(y[i]):
            if cur:
                segs.append(cur)
            cur = []
            continue
        if step and cur:
            cur.append((float(x[i]), cur[-1][1]))
        cur.append((float(x[i]), float(y[i])))
    if cur:
        segs.append(cur)
    return segs


def line_plot(
    series: Sequence[Series],
    *,
    width_pt: float,
    height_pt: float,
    x_label: str,
    y_label: str,
    y_range: tuple[float, float] | None = None,
    x_range: tuple[float, float] | None = None,
    markers_x: Sequence[float] = (),
    marker_label: str = "",
    y_tick_labels: dict[float, str] | None = None,
    x_ticks: Sequence[float] | None = None,
) -> Drawing:
    """A line plot with axes, ticks, legend and vertical event markers.

    Parameters
    ----------
    series : sequence of Series
    width_pt, height_pt : float
        Drawing size, points.
    x_label, y_label : str
        Axis titles (with units).
    y_range, x_range : (float, float), optional
        Axis limits; from the data by default (y from 0).
    markers_x : sequence of float
        x of vertical dashed markers (e.g. injection times).
    marker_label : str
        Legend text of the markers.
    y_tick_labels : dict of float to str, optional
        Fixed y ticks and their text (e.g. ``{0: "hidden", 1: "visible"}``).
    x_ticks : sequence of float, optional
        Fixed x ticks (e.g. attempt numbers); round values by default.

    Returns
    -------
    Drawing
    """
    d = Drawing(width_pt, height_pt)
    xs = [v for s in series for v in np.asarray(s.x, float) if math.isfinite(v)]
    ys = [v for s in series for v in np.asarray(s.y, float) if math.isfinite(v)]
    x0, x1 = x_range if x_range else ((min(xs), max(xs)) if xs else (0.0, 1.0))
    if x1 <= x0:
        x1 = x0 + 1.0
    y0, y1 = y_range if y_range else (0.0, max(ys) * 1.05 if ys and max(ys) > 0 else 1.0)
    if y1 <= y0:
        y1 = y0 + 1.0
    pw, ph = width_pt - LEFT_PT - RIGHT_PT, height_pt - BOTTOM_PT - TOP_PT

    def px(x: float) -> float:
        return LEFT_PT + (x - x0) / (x1 - x0) * pw

    def py(y: float) -> float:
        return BOTTOM_PT + (min(max(y, y0), y1) - y0) / (y1 - y0) * ph

    grey = colors.Color(0.75, 0.75, 0.75)
    yt = y_tick_labels or {v: _fmt_tick(v) for v in nice_ticks(y0, y1)}
    for v, text in yt.items():
        d.add(Line(LEFT_PT, py(v), LEFT_PT + pw, py(v), strokeColor=grey, strokeWidth=0.3))
        d.add(String(LEFT_PT - 3, py(v) - 3, text, fontSize=7, textAnchor="end"))
    for v in x_ticks if x_ticks is not None else nice_ticks(x0, x1, 8):
        d.add(Line(px(v), BOTTOM_PT, px(v), BOTTOM_PT - 3, strokeWidth=0.5))
        d.add(String(px(v), BOTTOM_PT - 11, _fmt_tick(v), fontSize=7, textAnchor="middle"))
    d.add(Line(LEFT_PT, BOTTOM_PT, LEFT_PT + pw, BOTTOM_PT, strokeWidth=0.8))
    d.add(Line(LEFT_PT, BOTTOM_PT, LEFT_PT, BOTTOM_PT + ph, strokeWidth=0.8))
    d.add(String(LEFT_PT + pw / 2, 2, x_label, fontSize=8, textAnchor="middle"))
    d.add(String(4, BOTTOM_PT + ph + 5, y_label, fontSize=8))
    marker_colour = colors.Color(0.2, 0.35, 0.9)
    for mx in markers_x:
        if x0 <= mx <= x1:
            d.add(
                Line(
                    px(mx),
                    BOTTOM_PT,
                    px(mx),
                    BOTTOM_PT + ph,
                    strokeColor=marker_colour,
                    strokeWidth=0.8,
                    strokeDashArray=[3, 2],
                )
            )
    for s in series:
        for seg in _segments(np.asarray(s.x, float), np.asarray(s.y, float), s.step):
            pts = [c for x, y in seg for c in (px(x), py(y))]
            if len(seg) == 1:
                d.add(Circle(pts[0], pts[1], 1.2, fillColor=s.colour, strokeColor=None))
            else:
                d.add(PolyLine(pts, strokeColor=s.colour, strokeWidth=1.2))
            if s.points:
                for x, y in seg:
                    d.add(Circle(px(x), py(y), 2.0, fillColor=s.colour, strokeColor=None))
    # legend, top right
    legend = [(s.colour, s.label, False) for s in series if s.label]
    if marker_label and markers_x:
        legend.append((marker_colour, marker_label, True))
    lx = LEFT_PT + pw
    for colour, text, dashed in reversed(legend):
        w = 6.0 + 4.2 * len(text)
        lx -= w + 18
        d.add(
            Line(
                lx,
                height_pt - 6,
                lx + 12,
                height_pt - 6,
                strokeColor=colour,
                strokeWidth=1.2,
                strokeDashArray=[3, 2] if dashed else None,
            )
        )
        d.add(String(lx + 15, height_pt - 9, text, fontSize=7))
    return d


__all__ = ["Series", "line_plot", "nice_ticks"]
