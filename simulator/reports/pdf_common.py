"""Shared PDF building blocks: page template, styles, tables, images from arrays."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import numpy as np
from PIL import Image as PILImage
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Image, Paragraph, SimpleDocTemplate, Table, TableStyle

PAGE = A4
#: Usable width between the margins, points.
FRAME_WIDTH_PT = PAGE[0] - 36 * mm
PASS_GREEN = colors.Color(0.05, 0.5, 0.15)
FAIL_RED = colors.Color(0.8, 0.05, 0.05)
HEAD_GREY = colors.Color(0.86, 0.88, 0.92)

_base = getSampleStyleSheet()
STYLES: dict[str, ParagraphStyle] = {
    "title": ParagraphStyle("title", parent=_base["Title"], fontSize=17, spaceAfter=6),
    "h2": ParagraphStyle("h2", parent=_base["Heading2"], fontSize=12.5, spaceBefore=8),
    "body": ParagraphStyle("body", parent=_base["BodyText"], fontSize=9, leading=11.5),
    "small": ParagraphStyle("small", parent=_base["BodyText"], fontSize=7.5, leading=9),
    "caption": ParagraphStyle(
        "caption",
        parent=_base["BodyText"],
        fontSize=8.5,
        leading=10.5,
        spaceAfter=8,
        textColor=colors.Color(0.2, 0.2, 0.2),
    ),
    "warning": ParagraphStyle(
        "warning",
        parent=_base["BodyText"],
        fontSize=10.5,
        leading=13,
        textColor=FAIL_RED,
        borderColor=FAIL_RED,
        borderWidth=1.5,
        borderPadding=6,
        spaceBefore=6,
        spaceAfter=10,
        backColor=colors.Color(1.0, 0.92, 0.92),
    ),
}


def para(text: str, style: str = "body") -> Paragraph:
    """A paragraph of plain text (escaped; use :func:`markup` for tags)."""
    return Paragraph(escape(text), STYLES[style])


def markup(text: str, style: str = "body") -> Paragraph:
    """A paragraph of reportlab mini-markup (``<b>``, ``<font color>``)."""
    return Paragraph(text, STYLES[style])


def document(out_path: Path, title: str) -> SimpleDocTemplate:
    """An A4 document with 18 mm margins and page numbers."""
    return SimpleDocTemplate(
        str(out_path),
        pagesize=PAGE,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        title=title,
        author="Injection simulator",
    )


def page_footer(text: str) -> Any:
    """An ``onPage`` callback drawing ``text`` and the page number at the bottom."""

    def draw(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7.5)
        canvas.setFillColor(colors.grey)
        canvas.drawString(18 * mm, 9 * mm, text)
        canvas.drawRightString(PAGE[0] - 18 * mm, 9 * mm, f"page {doc.page}")
        canvas.restoreState()

    return draw


def table(
    rows: Sequence[Sequence[Any]],
    col_widths_pt: Sequence[float] | None = None,
    *,
    verdict_col: int | None = None,
    font_size: float = 8.0,
) -> Table:
    """A table with a grey header row; PASS/FAIL cells coloured in ``verdict_col``.

    Cells may be strings or flowables (wrapped paragraphs).
    """
    t = Table([list(r) for r in rows], colWidths=col_widths_pt, repeatRows=1)
    style = [
        ("FONT", (0, 0), (-1, -1), "Helvetica", font_size),
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", font_size),
        ("BACKGROUND", (0, 0), (-1, 0), HEAD_GREY),
        ("GRID", (0, 0), (-1, -1), 0.3, colors.Color(0.7, 0.7, 0.7)),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
    if verdict_col is not None:
        for i, r in enumerate(rows[1:], start=1):
            cell = r[verdict_col]
            if cell in ("PASS", "FAIL"):
                colour = PASS_GREEN if cell == "PASS" else FAIL_RED
                style.append(("TEXTCOLOR", (verdict_col, i), (verdict_col, i), colour))
                style.append(("FONT", (verdict_col, i), (verdict_col, i), "Helvetica-Bold"))
    t.setStyle(TableStyle(style))
    return t


def image_from_rgb(rgb: np.ndarray, max_width_pt: float, max_height_pt: float) -> Flowable:
    """A PDF image of an RGB (or grey) uint8 array, scaled to fit, aspect kept.

    Parameters
    ----------
    rgb : ndarray, shape (h, w, 3) or (h, w), uint8
    max_width_pt, max_height_pt : float
        Box to fit in, points.
    """
    a = np.asarray(rgb)
    if a.dtype != np.uint8 or a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)):
        raise ValueError(
            f"report image: expected a uint8 array of shape (h, w, 3), got {a.dtype} {a.shape}"
        )
    buf = io.BytesIO()
    PILImage.fromarray(a).save(buf, format="PNG")
    buf.seek(0)
    h, w = a.shape[:2]
    s = min(max_width_pt / w, max_height_pt / h)
    return Image(buf, width=w * s, height=h * s)


__all__ = [
    "FAIL_RED",
    "FRAME_WIDTH_PT",
    "PASS_GREEN",
    "STYLES",
    "document",
    "image_from_rgb",
    "markup",
    "page_footer",
    "para",
    "table",
]
