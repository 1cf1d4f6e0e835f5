"""The events of the needle and the injection, newest first, with their alerts."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from PySide6.QtCore import Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

#: Event kinds shown in red (harm) and amber (caution).
ALERT_KINDS = frozenset(
    {"intraneural", "vessel_puncture", "intravascular_injection", "high_resistance"}
)
CAUTION_KINDS = frozenset(
    {"bone_contact", "nerve_contact", "tendon_penetration", "redirect_resisted"}
)
GOOD_KINDS = frozenset({"target_reached"})
#: Events that tell where the target is: not listed while guidance is off (exam).
GUIDANCE_KINDS = frozenset({"target_reached", "target_left"})
#: Most events kept in the list (the session keeps them all).
MAX_ROWS = 500


class EventLike(Protocol):
    """What the panel reads of a ``simulator.needle_events.NeedleEvent``."""

    t_s: float
    kind: str
    depth_mm: float
    structure: str | None
    detail: str


def event_text(event: EventLike, t0_s: float = 0.0) -> str:
    """One line: time since ``t0_s``, kind, structure, depth, detail."""
    parts = [f"{event.t_s - t0_s:7.1f} s", event.kind.replace("_", " ")]
    if event.structure:
        parts.append(event.structure.replace("_", " "))
    parts.append(f"{event.depth_mm:.1f} mm in")
    if event.detail:
        parts.append(event.detail)
    return " · ".join(parts)


class EventPanel(QWidget):
    """A list of needle and injection events, newest first, alerts in colour.

    Parameters
    ----------
    parent : QWidget, optional

    Signals
    -------
    notable()
        An alert or the target was reached: the window brings the list to the front.
    """

    notable = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.alert = QLabel()
        self.alert.setWordWrap(True)
        self.alert.setStyleSheet("QLabel { color: white; background: #b3261e; padding: 4px; }")
        self.alert.hide()
        layout.addWidget(self.alert)
        self.list = QListWidget()
        self.list.setUniformItemSizes(True)
        layout.addWidget(self.list)
        self._t0_s = 0.0
        #: False in an exam: events that give the target away are not listed.
        self.guidance = True

    def clear(self, t0_s: float = 0.0) -> None:
        """Empty the list; times are shown relative to ``t0_s``."""
        self.list.clear()
        self.alert.hide()
        self._t0_s = t0_s

    def add_events(self, events: Iterable[EventLike]) -> None:
        """Prepend ``events`` (oldest first in the iterable)."""
        notable = False
        for ev in events:
            if not self.guidance and ev.kind in GUIDANCE_KINDS:
                continue
            item = QListWidgetItem(event_text(ev, self._t0_s))
            if ev.kind in ALERT_KINDS:
                item.setForeground(QBrush(QColor("#d93025")))
                self.show_alert(event_text(ev, self._t0_s))
                notable = True
            elif ev.kind in CAUTION_KINDS:
                item.setForeground(QBrush(QColor("#b26a00")))
            elif ev.kind in GOOD_KINDS:
                item.setForeground(QBrush(QColor("#188038")))
                notable = True
            self.list.insertItem(0, item)
        while self.list.count() > MAX_ROWS:
            self.list.takeItem(self.list.count() - 1)
        if notable:
            self.notable.emit()

    def show_alert(self, text: str | None) -> None:
        """Show (or with None hide) the red alert line above the list."""
        if not text:
            self.alert.hide()
            return
        self.alert.setText(text)
        self.alert.show()

    def rows(self) -> list[str]:
        """The lines shown, newest first."""
        return [self.list.item(i).text() for i in range(self.list.count())]
