"""Dark, projector-legible look of the application."""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication

#: Base font size of the whole application, points (legible on a projector).
BASE_FONT_PT = 13

#: Accent colour (orientation notch, focus marker, highlights).
ACCENT = QColor(255, 170, 0)
#: Colour of the depth scale and overlay text.
SCALE_COLOUR = QColor(220, 220, 220)
#: Colour of error messages.
ERROR_COLOUR = QColor(255, 110, 110)

_STYLE = f"""
QGroupBox {{
    font-weight: bold;
    border: 1px solid #555;
    border-radius: 6px;
    margin-top: 14px;
    padding-top: 6px;
}}
QGroupBox::title {{
    subcontrol-origin: margin;
    left: 10px;
    padding: 0 4px;
    color: {ACCENT.name()};
}}
QStatusBar {{ font-size: {BASE_FONT_PT + 1}pt; }}
QStatusBar QLabel {{ padding: 2px 8px; }}
"""


def apply_dark_theme(app: QApplication) -> None:
    """Give ``app`` the Fusion style, a dark palette and large fonts.

    Parameters
    ----------
    app : QApplication
        The running application (changed in place).
    """
    app.setStyle("Fusion")
    pal = QPalette()
    window = QColor(32, 33, 36)
    base = QColor(22, 23, 25)
    text = QColor(230, 230, 230)
    pal.setColor(QPalette.ColorRole.Window, window)
    pal.setColor(QPalette.ColorRole.WindowText, text)
    pal.setColor(QPalette.ColorRole.Base, base)
    pal.setColor(QPalette.ColorRole.AlternateBase, window)
    pal.setColor(QPalette.ColorRole.ToolTipBase, base)
    pal.setColor(QPalette.ColorRole.ToolTipText, text)
    pal.setColor(QPalette.ColorRole.Text, text)
    pal.setColor(QPalette.ColorRole.Button, QColor(45, 46, 50))
    pal.setColor(QPalette.ColorRole.ButtonText, text)
    pal.setColor(QPalette.ColorRole.BrightText, ERROR_COLOUR)
    pal.setColor(QPalette.ColorRole.Highlight, ACCENT.darker(130))
    pal.setColor(QPalette.ColorRole.HighlightedText, QColor(0, 0, 0))
    pal.setColor(QPalette.ColorRole.PlaceholderText, QColor(140, 140, 140))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        pal.setColor(QPalette.ColorGroup.Disabled, role, QColor(120, 120, 120))
    app.setPalette(pal)
    font = QFont(app.font())
    font.setPointSize(BASE_FONT_PT)
    app.setFont(font)
    app.setStyleSheet(_STYLE)
