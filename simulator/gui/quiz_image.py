"""The quiz image: a B-mode picture fitted to the widget, clicked to answer.

The image keeps its aspect ratio (square millimetre pixels), centred with
black bars; a click maps to fractional image pixels ``(x_px, y_px)`` (column,
row; pixel centres at integers). After an answer the asked structure's
outline and the click mark can be shown.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from simulator.gui.image_view import rgba_to_qimage
from simulator.label_outlines import structure_outlines
from simulator.quiz import Question

#: Colour of a right / a wrong click mark.
RIGHT_COLOUR = QColor(80, 255, 120)
WRONG_COLOUR = QColor(255, 90, 90)


def _grey_qimage(image: np.ndarray) -> QImage:
    data = np.ascontiguousarray(image, dtype=np.uint8)
    rows, cols = data.shape
    return QImage(data.data, cols, rows, cols, QImage.Format.Format_Grayscale8).copy()


class QuizImageView(QWidget):
    """Shows a question's image; emits ``clicked(x_px, y_px)`` on a left click.

    Signals
    -------
    clicked(float, float)
        Image column and row of a left click inside the image.
    """

    clicked = Signal(float, float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 200)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self._question: Question | None = None
        self._image: QImage | None = None
        self._outline: QImage | None = None
        self._mark: tuple[float, float, bool] | None = None

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        return QSize(900, 560)

    @property
    def question(self) -> Question | None:
        """The question shown."""
        return self._question

    def set_question(self, question: Question | None) -> None:
        """Show a question's image, no outline, no mark."""
        self._question = question
        self._image = None if question is None else _grey_qimage(question.image)
        self._outline = None
        self._mark = None
        self.update()

    def reveal(self, x_px: float, y_px: float, correct: bool) -> None:
        """Outline the asked structure and mark the click at image ``(x_px, y_px)``."""
        q = self._question
        if q is None:
            return
        outlines = structure_outlines(
            q.region.astype(np.uint8), {1: q.colour}, q.geometry.pixel_mm, min_area_mm2=0.0
        )
        rgba = outlines.rgba
        # thicken the one-pixel outline so it shows at any zoom
        thick = rgba.copy()
        for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            shifted = np.roll(rgba, (dr, dc), axis=(0, 1))
            take = (shifted[..., 3] > 0) & (thick[..., 3] == 0)
            thick[take] = shifted[take]
        self._outline = rgba_to_qimage(thick)
        self._mark = (float(x_px), float(y_px), bool(correct))
        self.update()

    @property
    def revealed(self) -> bool:
        """Whether the outline is shown."""
        return self._outline is not None

    # -- geometry -----------------------------------------------------------------

    def image_rect(self) -> QRectF:
        """Where the image is drawn in widget coordinates (aspect ratio kept)."""
        if self._question is None:
            return QRectF()
        rows, cols = self._question.image.shape
        scale = min(self.width() / cols, self.height() / rows)
        w, h = cols * scale, rows * scale
        return QRectF((self.width() - w) / 2.0, (self.height() - h) / 2.0, w, h)

    def widget_to_image(self, pos: QPointF) -> tuple[float, float] | None:
        """Fractional image ``(x_px, y_px)`` of a widget point, None outside the image."""
        rect = self.image_rect()
        if rect.isEmpty() or not rect.contains(pos):
            return None
        scale = rect.width() / self._question.image.shape[1]
        return (pos.x() - rect.left()) / scale - 0.5, (pos.y() - rect.top()) / scale - 0.5

    def image_to_widget(self, x_px: float, y_px: float) -> QPointF:
        """Widget point of the centre of image pixel ``(x_px, y_px)``."""
        rect = self.image_rect()
        cols = self._question.image.shape[1]
        scale = rect.width() / cols
        return QPointF(rect.left() + (x_px + 0.5) * scale, rect.top() + (y_px + 0.5) * scale)

    # -- Qt events ----------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt API)
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(0, 0, 0))
        if self._image is not None:
            rect = self.image_rect()
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            painter.drawImage(rect, self._image)
            if self._outline is not None:
                painter.drawImage(rect, self._outline)
            if self._mark is not None:
                x, y, correct = self._mark
                centre = self.image_to_widget(x, y)
                pen = QPen(RIGHT_COLOUR if correct else WRONG_COLOUR, 3)
                painter.setPen(pen)
                r = 10.0
                painter.drawLine(centre + QPointF(-r, -r), centre + QPointF(r, r))
                painter.drawLine(centre + QPointF(-r, r), centre + QPointF(r, -r))
        painter.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        if event.button() != Qt.MouseButton.LeftButton:
            return super().mousePressEvent(event)
        where = self.widget_to_image(event.position())
        if where is not None:
            self.clicked.emit(*where)
        event.accept()
        return None
