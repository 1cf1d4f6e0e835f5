"""The shortcut help drawn over the window (F1 / H)."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QMouseEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import QWidget

from simulator.gui.keymap import STEP_HELP, help_groups
from simulator.gui.theme import ACCENT

#: Overlay background, RGBA.
_BACKDROP = QColor(10, 12, 16, 225)


class HelpOverlay(QWidget):
    """Translucent panel listing every shortcut, on top of its parent.

    It covers the parent, closes on a click or Escape, and takes its text
    from ``simulator.gui.keymap`` so it always matches the key handling.
    """

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, False)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.hide()

    def toggle(self) -> None:
        """Show the help over the whole parent, or hide it."""
        if self.isVisible():
            self.hide()
            return
        parent = self.parentWidget()
        if parent is not None:
            self.setGeometry(parent.rect())
        self.raise_()
        self.show()

    def lines(self) -> list[str]:
        """The help as plain lines (for tests and logs)."""
        out = [STEP_HELP]
        for group, rows in help_groups().items():
            out.append(group)
            out.extend(f"  {k}  {t}" for k, t in rows)
        return out

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        """Any click closes the help."""
        self.hide()
        event.accept()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt API)
        """Draw the groups in columns."""
        p = QPainter(self)
        p.fillRect(self.rect(), _BACKDROP)
        title = QFont(self.font())
        title.setPointSize(18)
        title.setBold(True)
        head = QFont(self.font())
        head.setPointSize(14)
        head.setBold(True)
        body = QFont(self.font())
        body.setPointSize(12)
        p.setPen(QColor(240, 240, 240))
        p.setFont(title)
        p.drawText(QRectF(30, 18, self.width() - 60, 40), "Keyboard and mouse — F1 or H closes")
        p.setFont(body)
        p.drawText(QRectF(30, 52, self.width() - 60, 24), STEP_HELP)
        groups = list(help_groups().items())
        n_cols = 3 if self.width() > 1100 else 2
        col_w = (self.width() - 60) / n_cols
        line_h = 22.0
        x, y, col = 30.0, 90.0, 0
        for group, rows in groups:
            needed = line_h * (len(rows) + 2)
            if y + needed > self.height() - 20 and y > 90.0 and col < n_cols - 1:
                col += 1
                x, y = 30.0 + col * col_w, 90.0
            p.setFont(head)
            p.setPen(ACCENT)
            p.drawText(QRectF(x, y, col_w, line_h + 4), group)
            y += line_h + 6
            p.setFont(body)
            fm = p.fontMetrics()
            key_w = max(fm.horizontalAdvance(k) for k, _ in rows) + 14
            flags = int(Qt.AlignmentFlag.AlignLeft | Qt.TextFlag.TextWordWrap)
            for keys, text in rows:
                text_rect = QRectF(x + 8 + key_w, y, col_w - key_w - 24, 10 * line_h)
                h = max(line_h, p.boundingRect(text_rect, flags, text).height())
                p.setPen(QColor(255, 255, 255))
                p.drawText(QRectF(x + 8, y, key_w, line_h), keys)
                p.setPen(QColor(200, 200, 200))
                p.drawText(QRectF(text_rect.left(), y, text_rect.width(), h), flags, text)
                y += h
            y += 10
        p.end()
