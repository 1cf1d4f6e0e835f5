"""The B-mode image widget: the frame, a depth scale and the orientation notch."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from simulator.engine import BModeFrame
from simulator.gui.theme import ACCENT, SCALE_COLOUR
from simulator.scan_convert import ImageGeometry

#: Space left of the image for the depth scale, px.
SCALE_MARGIN_PX = 78
#: Space above the image for the notch marker, px.
TOP_MARGIN_PX = 34
#: Space right of and below the image, px.
OTHER_MARGIN_PX = 18


def to_qimage(image: np.ndarray) -> QImage:
    """Grey-level QImage of a displayed image.

    Parameters
    ----------
    image : ndarray, shape (rows, cols), float in [0, 1]

    Returns
    -------
    QImage
        ``Format_Grayscale8``, owning a copy of the pixels.
    """
    grey = np.ascontiguousarray(np.clip(image, 0.0, 1.0) * 255.0 + 0.5, dtype=np.float32)
    data = np.ascontiguousarray(grey.astype(np.uint8))
    rows, cols = data.shape
    qimg = QImage(data.data, cols, rows, cols, QImage.Format.Format_Grayscale8)
    return qimg.copy()  # detach from the numpy buffer


def depth_ticks(
    z_top_mm: float, z_bottom_mm: float, px_per_mm: float
) -> list[tuple[float, str | None]]:
    """Depths of the scale ticks and their labels.

    Ticks sit on whole millimetres: every 10 mm labelled in cm, every 5 mm,
    and every 1 mm when there is room (at least 6 px per mm).

    Parameters
    ----------
    z_top_mm, z_bottom_mm : float
        Depth range shown, mm.
    px_per_mm : float
        Screen pixels per millimetre.

    Returns
    -------
    list of (float, str or None)
        ``(depth_mm, label)``; label is the depth in cm for major ticks,
        None for minor ones.
    """
    step = 1 if px_per_mm >= 6.0 else 5
    label_every = 10 if px_per_mm * 10 >= 28 else 20
    out: list[tuple[float, str | None]] = []
    z = math.ceil(max(z_top_mm, 0.0) / step) * step
    while z <= z_bottom_mm + 1e-9:
        label = f"{z // 10}" if z % label_every == 0 else None
        out.append((float(z), label))
        z += step
    return out


class BModeImageView(QWidget):
    """Draws a B-mode frame scaled to fit, with square millimetre pixels.

    Left of the image a depth scale has ticks at the true depths of the frame
    geometry (labels in cm); above the +x edge (the side of the probe's
    orientation notch) an accent dot marks the orientation; a small triangle
    on the right edge marks the transmit focus.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 320)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAutoFillBackground(False)
        self._frame: BModeFrame | None = None
        self._qimage: QImage | None = None
        self._message = "Loading scene…"

    # ---------------------------------------------------------------- public
    @property
    def frame(self) -> BModeFrame | None:
        """The frame on display (None before the first one)."""
        return self._frame

    def set_frame(self, frame: BModeFrame) -> None:
        """Show ``frame`` (repaints)."""
        self._frame = frame
        self._qimage = to_qimage(frame.image)
        self._message = ""
        self.update()

    def clear(self, message: str = "") -> None:
        """Show no image, only ``message`` centred."""
        self._frame = None
        self._qimage = None
        self._message = message
        self.update()

    def image_rect(self) -> QRectF:
        """Where the image is drawn, widget pixels (empty without a frame)."""
        if self._frame is None:
            return QRectF()
        g = self._frame.geometry
        avail_w = self.width() - SCALE_MARGIN_PX - OTHER_MARGIN_PX
        avail_h = self.height() - TOP_MARGIN_PX - OTHER_MARGIN_PX
        if avail_w <= 0 or avail_h <= 0:
            return QRectF()
        s = min(avail_w / g.cols, avail_h / g.rows)
        w, h = g.cols * s, g.rows * s
        x = SCALE_MARGIN_PX + (avail_w - w) / 2.0
        return QRectF(x, float(TOP_MARGIN_PX), w, h)

    def depth_to_y(self, depth_mm: float) -> float:
        """Widget y of a depth (probe-frame z), using the frame geometry."""
        rect = self.image_rect()
        g = self._geometry()
        scale = rect.height() / g.rows
        return rect.top() + ((depth_mm - g.z0_mm) / g.pixel_mm + 0.5) * scale

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        """Preferred size, px."""
        return QSize(800, 800)

    # ----------------------------------------------------------------- paint
    def _geometry(self) -> ImageGeometry:
        assert self._frame is not None
        return self._frame.geometry

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt API)
        """Draw the image, depth scale, notch and focus markers."""
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(0, 0, 0))
        if self._qimage is None or self._frame is None:
            if self._message:
                p.setPen(SCALE_COLOUR)
                p.setFont(self._font(16))
                p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self._message)
            p.end()
            return
        rect = self.image_rect()
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.drawImage(rect, self._qimage)
        self._draw_depth_scale(p, rect)
        self._draw_notch(p, rect)
        self._draw_focus(p, rect)
        p.end()

    def _font(self, point_size: int, bold: bool = False) -> QFont:
        f = QFont(self.font())
        f.setPointSize(point_size)
        f.setBold(bold)
        return f

    def _draw_depth_scale(self, p: QPainter, rect: QRectF) -> None:
        g = self._geometry()
        px_per_mm = rect.height() / (g.rows * g.pixel_mm)
        z_top = g.z0_mm - 0.5 * g.pixel_mm
        z_bottom = g.z0_mm + (g.rows - 0.5) * g.pixel_mm
        x_axis = rect.left() - 8.0
        p.setPen(QPen(SCALE_COLOUR, 2))
        p.drawLine(
            QPointF(x_axis, self.depth_to_y(max(z_top, 0.0))), QPointF(x_axis, rect.bottom())
        )
        p.setFont(self._font(14, bold=True))
        fm = p.fontMetrics()
        for z, label in depth_ticks(z_top, z_bottom, px_per_mm):
            y = self.depth_to_y(z)
            major = z % 10 == 0
            length = 16.0 if major else (10.0 if z % 5 == 0 else 5.0)
            p.drawLine(QPointF(x_axis - length, y), QPointF(x_axis, y))
            if label is not None:
                w = fm.horizontalAdvance(label)
                p.drawText(QPointF(x_axis - length - 6 - w, y + fm.ascent() / 2.6), label)
        p.setFont(self._font(12))
        p.drawText(QPointF(4.0, rect.top() - 10.0), "cm")

    def _draw_notch(self, p: QPainter, rect: QRectF) -> None:
        # +x (the notch side) is to the right: column index grows with x
        r = 9.0
        centre = QPointF(rect.right() - r - 2.0, rect.top() - r - 6.0)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(ACCENT)
        p.drawEllipse(centre, r, r)
        p.setBrush(Qt.BrushStyle.NoBrush)

    def _draw_focus(self, p: QPainter, rect: QRectF) -> None:
        focus = self._frame.settings.focus_mm if self._frame is not None else None
        if focus is None:
            return
        y = self.depth_to_y(focus)
        if not rect.top() <= y <= rect.bottom():
            return
        x = rect.right() + 3.0
        tri = QPainterPath()
        tri.moveTo(x, y)
        tri.lineTo(x + 12.0, y - 7.0)
        tri.lineTo(x + 12.0, y + 7.0)
        tri.closeSubpath()
        p.setPen(Qt.PenStyle.NoPen)
        p.fillPath(tri, ACCENT)
