"""The B-mode image widget: the ultrasound screen of a scanner.

The frame at its true aspect ratio with a depth scale in cm, the orientation
notch and the focus marker; a settings readout; the freeze badge with the
cine position; distance calipers in image millimetres; and the teaching
overlay of structure outlines and names. Mouse drags and wheel turns outside
caliper mode are only reported (signals); the window decides what they do.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QImage,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPen,
    QWheelEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from simulator.engine import BModeFrame
from simulator.gui.theme import ACCENT, SCALE_COLOUR
from simulator.label_outlines import LabelOverlay, Outlines, structure_outlines
from simulator.scan_convert import ImageGeometry

#: Space left of the image for the depth scale, px.
SCALE_MARGIN_PX = 78
#: Space above the image for the notch marker, px.
TOP_MARGIN_PX = 34
#: Space right of and below the image, px.
OTHER_MARGIN_PX = 18
#: Point size of the readout, caliper and label text at text scale 1.
TEXT_PT = 13
#: Gap between the image and a readout drawn right of it (focus marker room), px.
READOUT_GAP_PX = 20
#: Gap between the image and a readout drawn below it (room for the cine bar), px.
READOUT_BELOW_GAP_PX = 26
#: Colour of the calipers.
CALIPER_COLOUR = QColor(80, 255, 140)
#: Colour of the freeze badge.
FROZEN_COLOUR = QColor(90, 200, 255)
#: Dark halo drawn under overlay text.
HALO_COLOUR = QColor(0, 0, 0, 230)
#: Wheel angle of one step, 1/8 degree (Qt's standard notch).
WHEEL_STEP = 120


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


def rgba_to_qimage(rgba: np.ndarray) -> QImage:
    """QImage of an RGBA picture.

    Parameters
    ----------
    rgba : ndarray, shape (rows, cols, 4), uint8

    Returns
    -------
    QImage
        ``Format_RGBA8888``, owning a copy of the pixels.
    """
    data = np.ascontiguousarray(rgba, dtype=np.uint8)
    rows, cols = data.shape[:2]
    return QImage(data.data, cols, rows, 4 * cols, QImage.Format.Format_RGBA8888).copy()


def _overlap(a: QRectF, taken: Sequence[QRectF]) -> bool:
    return any(a.intersects(t) for t in taken)


class BModeImageView(QWidget):
    """The ultrasound screen: a B-mode frame with its scanner overlays.

    The frame is scaled to fit with square millimetre pixels. Left of the
    image a depth scale has ticks at the true depths of the frame geometry
    (labels in cm); above the +x edge (the side of the probe's orientation
    notch) an accent dot marks the orientation; a small triangle right of the
    image marks the transmit focus. Optional layers: a readout of settings
    (:meth:`set_readout`), the freeze badge and cine position
    (:meth:`set_frozen`), calipers (:meth:`set_caliper_mode`) and structure
    outlines with names (:meth:`set_labels`). :meth:`set_text_scale` enlarges
    every text and marker (projector).

    Signals
    -------
    caliper_changed(object)
        The caliper distance in mm (float) after point B is placed, or None
        when a measurement is started or cleared.
    drag_mm(float, float)
        Outside caliper mode, a left-button drag moved by (lateral, depth) mm
        of image since the previous move event.
    wheel_steps(int, object)
        Outside caliper mode, the wheel turned by whole steps (positive: away
        from the user), with the ``Qt.KeyboardModifiers`` held.
    frame_painted(float)
        A newly set frame reached the screen; carries its ``timestamp_s``
        (the request time, ``time.monotonic()`` in the application), for
        latency measurements. Emitted once per frame.
    """

    caliper_changed = Signal(object)
    drag_mm = Signal(float, float)
    wheel_steps = Signal(int, object)
    frame_painted = Signal(float)

    #: Outlines last computed by any view: ((labels, inside, colours), Outlines, QImage).
    _last_outlines: tuple[tuple, Outlines, QImage] | None = None

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 320)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAutoFillBackground(False)
        self._frame: BModeFrame | None = None
        self._qimage: QImage | None = None
        self._message = "Loading scene…"
        self._text_scale = 1.0
        self._readout: tuple[str, ...] = ()
        self._readout_below = False
        self._rect_key: tuple | None = None
        self._rect = QRectF()
        self._readout_size_key: tuple | None = None
        self._readout_size_px = (0.0, 0.0)
        self._frozen = False
        self._cine: tuple[int, int] | None = None
        self._caliper_mode = False
        self._calipers: list[tuple[float, float]] = []
        self._drag_from: QPointF | None = None
        self._wheel_rest = 0
        self._labels: np.ndarray | None = None
        self._names: dict[int, tuple[str, tuple[float, float, float]]] = {}
        self._labels_visible = True
        self._outlines: Outlines | None = None
        self._label_geometry: ImageGeometry | None = None
        self._labels_for: ImageGeometry | None = None
        self._outline_image: QImage | None = None
        self._unpainted = False

    # ---------------------------------------------------------------- frame
    @property
    def frame(self) -> BModeFrame | None:
        """The frame on display (None before the first one)."""
        return self._frame

    def set_frame(self, frame: BModeFrame) -> None:
        """Show ``frame`` (repaints).

        Structure labels set earlier stay while the image keeps their shape
        (the window sends the new frame's labels next); otherwise they are
        dropped.
        """
        self._frame = frame
        self._qimage = to_qimage(frame.image)
        self._message = ""
        self._unpainted = True
        if self._labels is not None and self._labels_for != frame.geometry:
            self._drop_labels()
        self.update()

    def clear(self, message: str = "") -> None:
        """Show no image, only ``message`` centred (labels are dropped)."""
        self._frame = None
        self._qimage = None
        self._message = message
        self._drop_labels()
        self.update()

    def image_rect(self) -> QRectF:
        """Where the image is drawn, widget pixels (empty without a frame)."""
        if self._frame is None:
            return QRectF()
        g = self._frame.geometry
        key = (self.width(), self.height(), g, self._readout, self._text_scale)
        if key != self._rect_key:  # painting asks dozens of times per frame
            self._rect_key = key
            self._rect = self._layout_image_rect(g)
        return QRectF(self._rect)

    def _layout_image_rect(self, g: ImageGeometry) -> QRectF:
        left, top, other = self._margins()
        avail_w = self.width() - left - other
        avail_h = self.height() - top - other
        if avail_w <= 0 or avail_h <= 0:
            return QRectF()
        s = min(avail_w / g.cols, avail_h / g.rows)
        self._readout_below = False
        if self._readout:
            # the readout goes right of the image or below it, whichever leaves the
            # image larger (a shallow, wide image keeps its width; a deep one its height)
            rw, rh = self._readout_size()
            k = self._text_scale
            s_right = min((avail_w - rw - READOUT_GAP_PX * k) / g.cols, avail_h / g.rows)
            s_below = min(avail_w / g.cols, (avail_h - rh - READOUT_BELOW_GAP_PX * k) / g.rows)
            self._readout_below = s_below > s_right
            s = max(min(max(s_right, s_below), s), 1e-6)
        w, h = g.cols * s, g.rows * s
        x = left + (avail_w - w) / 2.0
        if self._readout and not self._readout_below:
            x = left + max(0.0, (avail_w - w - rw - READOUT_GAP_PX * k) / 2.0)
        return QRectF(x, float(top), w, h)

    def depth_to_y(self, depth_mm: float) -> float:
        """Widget y of a depth (probe-frame z), using the frame geometry."""
        rect = self.image_rect()
        g = self._geometry()
        scale = rect.height() / g.rows
        return rect.top() + ((depth_mm - g.z0_mm) / g.pixel_mm + 0.5) * scale

    def widget_to_image_mm(self, pos: QPointF) -> tuple[float, float] | None:
        """Probe-frame (x_mm, z_mm) under a widget point.

        Parameters
        ----------
        pos : QPointF
            Widget coordinates, px.

        Returns
        -------
        tuple of 2 float or None
            (lateral, depth) mm; None without a frame or outside the image.
        """
        rect = self.image_rect()
        if self._frame is None or rect.isEmpty() or not rect.contains(QPointF(pos)):
            return None
        g = self._frame.geometry
        s = rect.width() / g.cols
        col = (pos.x() - rect.left()) / s - 0.5
        row = (pos.y() - rect.top()) / s - 0.5
        x_mm, z_mm = g.position_of(row, col)
        return float(x_mm), float(z_mm)

    def image_mm_to_widget(self, x_mm: float, z_mm: float) -> QPointF:
        """Widget point of a probe-frame (lateral, depth) position in mm.

        Raises
        ------
        RuntimeError
            Without a frame on display.
        """
        if self._frame is None:
            raise RuntimeError("no frame on display: image millimetres have no widget position")
        rect = self.image_rect()
        g = self._frame.geometry
        s = rect.width() / g.cols
        row, col = g.pixel_of(x_mm, z_mm)
        return QPointF(rect.left() + (col + 0.5) * s, rect.top() + (row + 0.5) * s)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        """Preferred size, px."""
        return QSize(800, 800)

    # -------------------------------------------------------------- readout
    @property
    def text_scale(self) -> float:
        """Size factor of every text and marker (1 on a desktop screen)."""
        return self._text_scale

    def set_text_scale(self, factor: float) -> None:
        """Enlarge (factor > 1) or shrink every text, marker and margin.

        Parameters
        ----------
        factor : float
            Size factor, 0.5 to 4 (2 for a projector).

        Raises
        ------
        ValueError
            If ``factor`` is outside 0.5 to 4.
        """
        if not 0.5 <= factor <= 4.0:
            raise ValueError(f"text scale must be between 0.5 and 4, got {factor}")
        self._text_scale = float(factor)
        self.update()

    @property
    def readout(self) -> tuple[str, ...]:
        """Lines of the settings readout."""
        return self._readout

    def set_readout(self, lines: Sequence[str]) -> None:
        """Show a block of text lines (frequency, depth, gain, rate, preset, probe).

        Drawn right of the image when there is room there, else over the
        image's top-right corner on a dark backing.
        """
        readout = tuple(str(line) for line in lines)
        if readout != self._readout:
            self._readout = readout
            self.update()

    # --------------------------------------------------------------- freeze
    @property
    def frozen(self) -> bool:
        """Whether the freeze badge is shown."""
        return self._frozen

    def set_frozen(
        self, frozen: bool, cine_index: int | None = None, cine_count: int | None = None
    ) -> None:
        """Show or hide the "FROZEN" badge and the cine position.

        Parameters
        ----------
        frozen : bool
        cine_index : int, optional
            Frame under review, 0-based (shown 1-based: "cine 12/64").
        cine_count : int, optional
            Frames in the cine memory.
        """
        self._frozen = bool(frozen)
        if frozen and cine_index is not None and cine_count:
            self._cine = (int(cine_index), int(cine_count))
        else:
            self._cine = None
        self.update()

    # ------------------------------------------------------------- calipers
    @property
    def caliper_mode(self) -> bool:
        """Whether left clicks place caliper points."""
        return self._caliper_mode

    def set_caliper_mode(self, on: bool) -> None:
        """Turn caliper placement on or off (points already placed stay drawn)."""
        self._caliper_mode = bool(on)
        self._drag_from = None
        cursor = Qt.CursorShape.CrossCursor if on else Qt.CursorShape.ArrowCursor
        self.setCursor(cursor)

    @property
    def caliper_points_mm(self) -> tuple[tuple[float, float], ...]:
        """Placed caliper points, probe-frame (lateral, depth) mm (0, 1 or 2)."""
        return tuple(self._calipers)

    @property
    def caliper_distance_mm(self) -> float | None:
        """Distance between the two caliper points, mm (None until both are placed)."""
        if len(self._calipers) < 2:
            return None
        (xa, za), (xb, zb) = self._calipers
        return math.hypot(xb - xa, zb - za)

    def clear_calipers(self) -> None:
        """Remove the caliper points (emits ``caliper_changed(None)``)."""
        self._calipers = []
        self.caliper_changed.emit(None)
        self.update()

    def add_caliper_point(self, x_mm: float, z_mm: float) -> None:
        """Place the next caliper point, as a click in caliper mode does.

        The first point starts a measurement, the second completes it, a
        third starts a new one.
        """
        if len(self._calipers) >= 2:
            self._calipers = []
        self._calipers.append((float(x_mm), float(z_mm)))
        self.caliper_changed.emit(self.caliper_distance_mm)
        self.update()

    # --------------------------------------------------------------- labels
    @property
    def labels(self) -> np.ndarray | None:
        """The structure label image of the frame on display, (rows, cols) uint8, or None."""
        return self._labels

    @property
    def labels_visible(self) -> bool:
        """Whether structure outlines and names are drawn."""
        return self._labels_visible

    def set_labels_visible(self, visible: bool) -> None:
        """Show or hide the structure outlines and names."""
        self._labels_visible = bool(visible)
        self.update()

    def set_labels(
        self,
        labels: np.ndarray | None,
        names: Mapping[int, tuple[str, tuple[float, float, float]]],
    ) -> None:
        """Set the structure label image of the frame on display.

        Parameters
        ----------
        labels : ndarray, shape (rows, cols), uint8, or None
            Structure label per image pixel (0: background), the shape of
            ``frame.image`` (``simulator.image_labels.label_image``); None
            removes the overlay.
        names : mapping of int to (str, tuple of 3 float)
            Structures to outline and name: label -> (display text, RGB in
            [0, 1]); other labels are not drawn.

        Raises
        ------
        ValueError
            If ``labels`` is not 2-D or not the shape of the frame's image.
        """
        if labels is None:
            self._drop_labels()
            self.update()
            return
        labels = np.asarray(labels)
        if labels.ndim != 2:
            raise ValueError(f"labels must be a (rows, cols) image, got shape {labels.shape}")
        if self._frame is not None and labels.shape != self._frame.image.shape:
            raise ValueError(
                f"labels have shape {labels.shape} but the frame on display has "
                f"shape {self._frame.image.shape}"
            )
        self._labels = labels
        self._label_geometry = self._frame.geometry if self._frame is not None else None
        self._labels_for = self._label_geometry
        self._names = {int(k): (str(v[0]), tuple(v[1])) for k, v in names.items()}  # type: ignore[misc]
        self._outlines = None
        self._outline_image = None
        self.update()

    def set_overlay(
        self,
        overlay: LabelOverlay | None,
        names: Mapping[int, tuple[str, tuple[float, float, float]]],
    ) -> None:
        """Set the frame's teaching overlay, computed off the GUI thread.

        Parameters
        ----------
        overlay : LabelOverlay or None
            Labels and outlines of the frame on display
            (``simulator.label_outlines.make_overlay``, possibly on a coarser
            pixel grid); None removes the overlay.
        names : mapping of int to (str, tuple of 3 float)
            Label -> (display text, RGB in [0, 1]).
        """
        if overlay is None:
            self._drop_labels()
            self.update()
            return
        self._labels = overlay.labels
        self._label_geometry = overlay.geometry
        self._labels_for = self._frame.geometry if self._frame is not None else None
        self._names = {int(k): (str(v[0]), tuple(v[1])) for k, v in names.items()}  # type: ignore[misc]
        self._outlines = overlay.outlines
        self._outline_image = rgba_to_qimage(overlay.outlines.rgba)
        self.update()

    def _drop_labels(self) -> None:
        self._labels = None
        self._label_geometry = None
        self._labels_for = None
        self._outlines = None
        self._outline_image = None

    def _ensure_outlines(self) -> Outlines | None:
        """Outlines of the current labels (computed on first use)."""
        if self._labels is None or self._frame is None:
            return None
        if self._labels_for != self._frame.geometry:
            return None
        if self._outlines is None:
            colours = {k: colour for k, (_, colour) in self._names.items()}
            key = (self._labels, self._frame.inside, tuple(colours.items()))
            cached = BModeImageView._last_outlines
            # the same label array shown in two views (main + presentation): compute once
            if (
                cached is not None
                and cached[0][0] is key[0]
                and cached[0][1] is key[1]
                and cached[0][2] == key[2]
            ):
                self._outlines, self._outline_image = cached[1], cached[2]
            else:
                self._outlines = structure_outlines(
                    self._labels, colours, self._frame.geometry.pixel_mm, self._frame.inside
                )
                self._outline_image = rgba_to_qimage(self._outlines.rgba)
                BModeImageView._last_outlines = (key, self._outlines, self._outline_image)
        return self._outlines

    # ----------------------------------------------------------------- save
    def save_png(self, path: str | Path) -> Path:
        """Save exactly what the widget shows as a PNG file.

        Parameters
        ----------
        path : str or Path
            File to write (its folder must exist).

        Returns
        -------
        Path
            The file written.

        Raises
        ------
        OSError
            If the file cannot be written.
        """
        path = Path(path)
        if not path.parent.is_dir():
            raise OSError(f"cannot save image '{path}': folder '{path.parent}' does not exist")
        if not self.grab().save(str(path), "PNG"):
            raise OSError(
                f"cannot save image '{path}': the PNG file could not be written "
                "(permissions, disk space, or a folder of that name?)"
            )
        return path

    # ---------------------------------------------------------------- mouse
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        """Place a caliper point, or start a drag."""
        if event.button() != Qt.MouseButton.LeftButton:
            super().mousePressEvent(event)
            return
        self.setFocus()
        pos = event.position()
        if self._caliper_mode:
            mm = self.widget_to_image_mm(pos)
            if mm is not None:
                self.add_caliper_point(*mm)
        else:
            self._drag_from = QPointF(pos)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        """Report a left-button drag in image millimetres."""
        if self._drag_from is None or not event.buttons() & Qt.MouseButton.LeftButton:
            super().mouseMoveEvent(event)
            return
        pos = QPointF(event.position())
        rect = self.image_rect()
        if self._frame is not None and not rect.isEmpty():
            mm_per_px = self._frame.geometry.pixel_mm * self._frame.geometry.cols / rect.width()
            dx = (pos.x() - self._drag_from.x()) * mm_per_px
            dz = (pos.y() - self._drag_from.y()) * mm_per_px
            if dx or dz:
                self.drag_mm.emit(dx, dz)
        self._drag_from = pos
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        """End a drag."""
        if event.button() == Qt.MouseButton.LeftButton:
            self._drag_from = None
        super().mouseReleaseEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 (Qt API)
        """Report whole wheel steps with the modifiers held."""
        if self._caliper_mode:
            event.ignore()
            return
        delta = event.angleDelta()
        # with Alt held, X11 reports a vertical wheel as horizontal
        self._wheel_rest += delta.y() if delta.y() else delta.x()
        steps = int(self._wheel_rest / WHEEL_STEP)
        if steps:
            self._wheel_rest -= steps * WHEEL_STEP
            self.wheel_steps.emit(steps, event.modifiers())
        event.accept()

    # ----------------------------------------------------------------- paint
    def _geometry(self) -> ImageGeometry:
        assert self._frame is not None
        return self._frame.geometry

    def _margins(self) -> tuple[float, float, float]:
        k = self._text_scale
        return SCALE_MARGIN_PX * k, TOP_MARGIN_PX * k, OTHER_MARGIN_PX * k

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt API)
        """Draw the image and every overlay."""
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
        if self._labels_visible:
            self._draw_labels(p, rect)
        self._draw_calipers(p)
        self._draw_depth_scale(p, rect)
        self._draw_notch(p, rect)
        self._draw_focus(p, rect)
        self._draw_readout(p, rect)
        self._draw_frozen(p, rect)
        p.end()
        if self._unpainted:
            self._unpainted = False
            self.frame_painted.emit(float(self._frame.timestamp_s))

    def _font(self, point_size: float, bold: bool = False) -> QFont:
        f = QFont(self.font())
        f.setPointSizeF(point_size * self._text_scale)
        f.setBold(bold)
        return f

    def _halo_text(self, p: QPainter, origin: QPointF, text: str, colour: QColor) -> None:
        """Text with a dark outline, legible over any grey level."""
        path = QPainterPath()
        path.addText(origin, p.font(), text)
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.strokePath(path, QPen(HALO_COLOUR, 3.0 * self._text_scale))
        p.fillPath(path, colour)

    def _draw_depth_scale(self, p: QPainter, rect: QRectF) -> None:
        g = self._geometry()
        k = self._text_scale
        px_per_mm = rect.height() / (g.rows * g.pixel_mm)
        z_top = g.z0_mm - 0.5 * g.pixel_mm
        z_bottom = g.z0_mm + (g.rows - 0.5) * g.pixel_mm
        x_axis = rect.left() - 8.0 * k
        p.setPen(QPen(SCALE_COLOUR, 2 * k))
        p.drawLine(
            QPointF(x_axis, self.depth_to_y(max(z_top, 0.0))), QPointF(x_axis, rect.bottom())
        )
        p.setFont(self._font(14, bold=True))
        fm = p.fontMetrics()
        for z, label in depth_ticks(z_top, z_bottom, px_per_mm):
            y = self.depth_to_y(z)
            major = z % 10 == 0
            length = (16.0 if major else (10.0 if z % 5 == 0 else 5.0)) * k
            p.drawLine(QPointF(x_axis - length, y), QPointF(x_axis, y))
            if label is not None:
                w = fm.horizontalAdvance(label)
                p.drawText(QPointF(x_axis - length - 6 * k - w, y + fm.ascent() / 2.6), label)
        p.setFont(self._font(12))
        p.drawText(
            QPointF(max(rect.left() - SCALE_MARGIN_PX * k, 0.0) + 4.0 * k, rect.top() - 10.0 * k),
            "cm",
        )

    def _draw_notch(self, p: QPainter, rect: QRectF) -> None:
        # +x (the notch side) is to the right: column index grows with x
        k = self._text_scale
        r = 9.0 * k
        centre = QPointF(rect.right() - r - 2.0 * k, rect.top() - r - 6.0 * k)
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
        k = self._text_scale
        x = rect.right() + 3.0 * k
        tri = QPainterPath()
        tri.moveTo(x, y)
        tri.lineTo(x + 12.0 * k, y - 7.0 * k)
        tri.lineTo(x + 12.0 * k, y + 7.0 * k)
        tri.closeSubpath()
        p.setPen(Qt.PenStyle.NoPen)
        p.fillPath(tri, ACCENT)

    def _readout_size(self) -> tuple[float, float]:
        """Width and height of the readout block, px."""
        key = (self._readout, self._text_scale)
        if key != self._readout_size_key:
            fm = QFontMetricsF(self._font(TEXT_PT))
            pad = 6.0 * self._text_scale
            w = max(fm.horizontalAdvance(line) for line in self._readout) + 2 * pad
            self._readout_size_key = key
            self._readout_size_px = (w, fm.lineSpacing() * len(self._readout) + 2 * pad)
        return self._readout_size_px

    def _readout_rect(self, rect: QRectF) -> QRectF:
        """Where the readout block goes: right of the image or below it (see image_rect)."""
        k = self._text_scale
        w, h = self._readout_size()
        if self._readout_below:
            return QRectF(rect.left(), rect.bottom() + READOUT_BELOW_GAP_PX * k, w, h)
        x_free = rect.right() + READOUT_GAP_PX * k  # clear of the focus marker
        if self.width() - x_free >= w:
            return QRectF(x_free, rect.top(), w, h)
        return QRectF(rect.right() - w - 4.0 * k, rect.top() + 4.0 * k, w, h)

    def _draw_readout(self, p: QPainter, rect: QRectF) -> None:
        if not self._readout:
            return
        box = self._readout_rect(rect)
        k = self._text_scale
        if box.intersects(rect):
            p.fillRect(box, QColor(0, 0, 0, 170))
        p.setFont(self._font(TEXT_PT))
        fm = QFontMetricsF(p.font())
        p.setPen(SCALE_COLOUR)
        y = box.top() + 6.0 * k + fm.ascent()
        for line in self._readout:
            p.drawText(QPointF(box.left() + 6.0 * k, y), line)
            y += fm.lineSpacing()

    def _draw_frozen(self, p: QPainter, rect: QRectF) -> None:
        if not self._frozen:
            return
        k = self._text_scale
        text = "FROZEN"
        if self._cine is not None:
            i, n = self._cine
            text += f"   cine {i + 1}/{n}"
        p.setFont(self._font(TEXT_PT, bold=True))
        fm = QFontMetricsF(p.font())
        w = fm.horizontalAdvance(text) + 16.0 * k
        h = fm.height() + 6.0 * k
        top = max(rect.top() - h - 6.0 * k, 2.0)
        badge = QRectF(rect.left() + 4.0 * k, top, w, h)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(FROZEN_COLOUR)
        p.drawRoundedRect(badge, 5.0 * k, 5.0 * k)
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.setPen(QColor(0, 0, 0))
        p.drawText(badge, Qt.AlignmentFlag.AlignCenter, text)
        if self._cine is not None and self._cine[1] > 1:
            # cine bar under the image: the review position in the memory
            i, n = self._cine
            y = rect.bottom() + 7.0 * k
            p.setPen(
                QPen(QColor(90, 90, 90), 3.0 * k, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)
            )
            p.drawLine(QPointF(rect.left(), y), QPointF(rect.right(), y))
            x = rect.left() + rect.width() * min(max(i, 0), n - 1) / (n - 1)
            p.setPen(QPen(FROZEN_COLOUR, 4.0 * k, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
            p.drawLine(QPointF(x, y - 5.0 * k), QPointF(x, y + 5.0 * k))

    def _draw_calipers(self, p: QPainter) -> None:
        if not self._calipers:
            return
        k = self._text_scale
        pts = [self.image_mm_to_widget(x, z) for x, z in self._calipers]
        if len(pts) == 2:
            p.setPen(QPen(HALO_COLOUR, 3.5 * k))
            p.drawLine(pts[0], pts[1])
            p.setPen(QPen(CALIPER_COLOUR, 1.5 * k, Qt.PenStyle.DashLine))
            p.drawLine(pts[0], pts[1])
        arm = 8.0 * k
        for pt in pts:
            for pen in (QPen(HALO_COLOUR, 4.0 * k), QPen(CALIPER_COLOUR, 2.0 * k)):
                p.setPen(pen)
                p.drawLine(QPointF(pt.x() - arm, pt.y()), QPointF(pt.x() + arm, pt.y()))
                p.drawLine(QPointF(pt.x(), pt.y() - arm), QPointF(pt.x(), pt.y() + arm))
        distance = self.caliper_distance_mm
        if distance is None:
            return
        text = f"{distance:.1f} mm"
        p.setFont(self._font(TEXT_PT, bold=True))
        fm = QFontMetricsF(p.font())
        a, b = pts
        mid = (a + b) / 2.0
        dx, dy = b.x() - a.x(), b.y() - a.y()
        length = math.hypot(dx, dy) or 1.0
        nx, ny = -dy / length, dx / length  # unit normal to the line
        if ny > 0 or (ny == 0 and nx > 0):
            nx, ny = -nx, -ny  # put the label above/left of the line
        w, h = fm.horizontalAdvance(text), fm.ascent()
        off = 10.0 * k + 0.5 * abs(nx) * w + 0.5 * abs(ny) * h
        centre = QPointF(mid.x() + nx * off, mid.y() + ny * off)
        rect = self.image_rect()
        x = min(max(centre.x() - w / 2.0, rect.left() + 2.0), rect.right() - w - 2.0)
        y = min(max(centre.y() + h / 2.0, rect.top() + h + 2.0), rect.bottom() - 2.0)
        self._halo_text(p, QPointF(x, y), text, CALIPER_COLOUR)

    def _draw_labels(self, p: QPainter, rect: QRectF) -> None:
        outlines = self._ensure_outlines()
        if outlines is None or self._outline_image is None:
            return
        p.save()
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        p.drawImage(rect, self._outline_image)
        p.restore()
        k = self._text_scale
        p.setFont(self._font(TEXT_PT - 1, bold=True))
        fm = QFontMetricsF(p.font())
        g = self._label_geometry or self._geometry()
        taken: list[QRectF] = []
        # small structures first: they get the spot right on them
        for anchor in sorted(outlines.anchors, key=lambda a: a.area_mm2):
            text, colour = self._names[anchor.label]
            if not text:
                continue
            at = self.image_mm_to_widget(*g.position_of(anchor.row, anchor.col))
            w, h = fm.horizontalAdvance(text) + 4.0 * k, fm.height()
            box = self._place(QRectF(at.x() - w / 2, at.y() - h / 2, w, h), rect, taken)
            taken.append(box)
            qc = QColor.fromRgbF(*colour)
            if not box.contains(at):
                p.setPen(QPen(HALO_COLOUR, 3.0 * k))
                p.drawLine(at, box.center())
                p.setPen(QPen(qc, 1.2 * k))
                p.drawLine(at, box.center())
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(qc)
                p.drawEllipse(at, 2.5 * k, 2.5 * k)
                p.setBrush(Qt.BrushStyle.NoBrush)
            self._halo_text(p, QPointF(box.left() + 2.0 * k, box.top() + fm.ascent()), text, qc)

    @staticmethod
    def _place(box: QRectF, bounds: QRectF, taken: Sequence[QRectF]) -> QRectF:
        """``box`` moved inside ``bounds`` and off the ``taken`` boxes (greedy shifts)."""

        def clamped(b: QRectF) -> QRectF:
            x = min(max(b.left(), bounds.left()), bounds.right() - b.width())
            y = min(max(b.top(), bounds.top()), bounds.bottom() - b.height())
            return QRectF(x, y, b.width(), b.height())

        h = box.height() + 2.0
        offsets = [(0.0, 0.0)]
        for j in range(1, 6):
            offsets += [(0.0, j * h), (0.0, -j * h)]
        offsets += [(0.6 * box.width(), 0.0), (-0.6 * box.width(), 0.0)]
        for dx, dy in offsets:
            candidate = clamped(box.translated(dx, dy))
            if not _overlap(candidate, taken):
                return candidate
        return clamped(box)
