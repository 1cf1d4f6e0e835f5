"""Helpers of the GUI tests (pytest-qt)."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QWidget


def dispose(win: QWidget) -> None:
    """Close and delete a window now, while the X server is still there."""
    win.close()
    win.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
