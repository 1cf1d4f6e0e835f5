"""Injecting at a rate, aspirating, and showing the needle's events in the window.

``InjectionControl`` is the window's part that runs in time rather than per
key press: while the trainee holds the plunger (Inject on) it pushes
``rate x elapsed`` millilitres into the session every tick, stops by itself
at high resistance or an intravascular injection (the alert says why), and
keeps frames coming for the microbubble swirl to fade. After every intent it
moves the session's new events into the event panel and the injectate
surface into the 3D views.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer

from simulator.app.scan_session import ScanSession
from simulator.gui.event_panel import EventPanel
from simulator.gui.needle_panel import DEFAULT_RATE_ML_S, NeedlePanel

#: Injection timer period, ms.
TICK_MS = 100
#: Frames keep coming this long after the last injection, for the bubbles to fade, s.
SWIRL_S = 2.0
#: Shortest time between two updates of the 3D injectate surface while injecting, s.
SURFACE_INTERVAL_S = 0.25
#: Outcomes after which the plunger stops by itself.
STOP_OUTCOMES = frozenset({"intraneural", "intratendinous", "intravascular", "blocked"})


class InjectionControl(QObject):
    """Drives injection and aspiration of one window's session.

    Parameters
    ----------
    session : callable
        Returns the window's current ``ScanSession`` (or None).
    needle_panel : NeedlePanel
    event_panel : EventPanel
    on_change : callable
        Called after the session changed (asks for a frame, updates the views).
    on_notice : callable
        Shows a one-line message to the trainee (the status bar).
    on_injectate : callable
        Receives ``Injection.fluid_box()`` when the collection changed (3D views).
    parent : QObject, optional
    """

    def __init__(
        self,
        session: Callable[[], ScanSession | None],
        needle_panel: NeedlePanel,
        event_panel: EventPanel,
        on_change: Callable[[], None],
        on_notice: Callable[[str], None],
        on_injectate: Callable[[object], None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._session = session
        self.needle_panel = needle_panel
        self.event_panel = event_panel
        self._on_change = on_change
        self._on_notice = on_notice
        self._on_injectate = on_injectate
        self.rate_ml_s = DEFAULT_RATE_ML_S
        self.injecting = False
        self._last_tick_s = 0.0
        self._swirl_until_s = 0.0
        self._events_shown = 0
        self._edit: object = None
        self._surface_t_s = -1e9
        self.timer = QTimer(self)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)
        needle_panel.rate_changed.connect(self.set_rate)

    # ----------------------------------------------------------- intents
    def set_rate(self, rate_ml_s: float) -> None:
        """Injection rate, ml/s (> 0)."""
        if not rate_ml_s > 0.0:
            raise ValueError(f"injection rate {rate_ml_s} ml/s: expected > 0")
        self.rate_ml_s = float(rate_ml_s)

    def toggle(self) -> None:
        """Start or stop injecting."""
        if self.injecting:
            self.stop()
        else:
            self.start()

    def start(self) -> None:
        """Start pushing the plunger (needs a needle in the skin)."""
        s = self._session()
        if s is None or s.kinematics is None or not s.kinematics.inserted:
            self._on_notice("Insert the needle before injecting.")
            self.refresh()
            return
        self.injecting = True
        self._last_tick_s = time.monotonic()
        self.timer.start()
        self.refresh()

    def stop(self) -> None:
        """Stop pushing (the bolus is recorded); frames continue while the bubbles fade."""
        if self.injecting:
            self.injecting = False
            self._swirl_until_s = time.monotonic() + SWIRL_S
        s = self._session()
        if s is not None:
            s.finish_injection()
        self.refresh()

    def aspirate(self) -> None:
        """Aspirate at the tip; the result goes to the events and the status bar."""
        s = self._session()
        if s is None:
            return
        result = s.aspirate()
        if result is None:
            self._on_notice("Insert the needle before aspirating.")
        elif result.blood:
            self._on_notice(
                f"Blood flash: the tip is in a {result.kind or 'vessel'}. Do not inject."
            )
        elif result.fluid:
            self._on_notice("Fluid aspirated: the tip is in a fluid collection.")
        else:
            self._on_notice("Negative aspiration.")
        self.refresh()

    def inject_ml(self, volume_ml: float) -> None:
        """Inject ``volume_ml`` at once (the tick does this at the rate)."""
        s = self._session()
        if s is None:
            return
        result = s.inject(volume_ml)
        if result is None:
            self.stop()
            return
        if result.warning:
            self._on_notice(result.warning)
        if result.outcome in STOP_OUTCOMES or result.resistance == "high":
            self.stop()
        self._swirl_until_s = time.monotonic() + SWIRL_S
        self._on_change()

    def _tick(self) -> None:
        now = time.monotonic()
        if self.injecting:
            dt = min(now - self._last_tick_s, 0.5)  # a stalled loop does not dump a bolus
            self._last_tick_s = now
            if dt > 0.0:
                self.inject_ml(self.rate_ml_s * dt)
        elif now < self._swirl_until_s or not self._settled():
            self._on_change()  # the bubbles move and fade; the last injectate gets drawn
        else:
            self.timer.stop()

    def _settled(self) -> bool:
        s = self._session()
        return s is None or s.injection_settled() or bool(s.relabel_error)

    # ----------------------------------------------------------- display
    def reset(self) -> None:
        """A new session: nothing injected, no events shown."""
        self.injecting = False
        self.timer.stop()
        self._events_shown = 0
        self._edit = None
        s = self._session()
        self.event_panel.clear(s.t0_s if s is not None else 0.0)
        self._on_injectate(None)
        self.refresh()

    def refresh(self) -> None:
        """Show the session's new events, the injected volume and the collection."""
        s = self._session()
        if s is None:
            return
        events = s.events.events
        if len(events) < self._events_shown:
            self._events_shown = 0
        self.event_panel.add_events(events[self._events_shown :])
        self._events_shown = len(events)
        if s.relabel_error:
            self._on_notice(s.relabel_error)
            s.relabel_error = ""
        inj = s.injection
        self.needle_panel.show_injection(inj.injected_ml, inj.distribution_ml(), self.injecting)
        edit = inj.tissue_edit()
        now = time.monotonic()
        # while fluid flows, the 3D surface follows a few times a second
        if edit is not self._edit and (
            not self.injecting or now - self._surface_t_s >= SURFACE_INTERVAL_S
        ):
            self._edit = edit
            self._surface_t_s = now
            self._on_injectate(inj.fluid_box())
