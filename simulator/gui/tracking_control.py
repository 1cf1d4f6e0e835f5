"""A tracker driving the window: poll, apply to the session, render, show the status.

``TrackingControl`` polls ``tracker.latest()`` on a ~60 Hz timer, applies each
new sample to the window's session through ``TrackedDriver`` (probe pose,
needle, inject / aspirate / freeze buttons) and then takes the same path as
a keyboard move (the window's pose refresh: pose panel, 3D probe and needle,
a frame request). A permanent status-bar label reads, e.g.,
``Tracking: DIY 99 Hz``, ``Tracking: disconnected — pose frozen`` or
``Tracking: DIY 98 Hz — needle missing — pose held``.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QLabel

from hardware.tracker import Tracker, TrackerStatus
from simulator.app.tracked_driver import DriveResult, TrackedDriver, TrackingCalibration
from simulator.gui.injection_control import SWIRL_S

#: Poll period of the tracker, ms (about 60 Hz).
POLL_MS = 16
#: Status label refresh period (the sample rate), ms.
LABEL_MS = 500
#: Display names of the protocols.
PROTOCOL_NAMES = {"diy": "DIY", "ndi": "NDI", "igtl": "OpenIGTLink"}
#: Colours of the label by state.
_STYLE = {"ok": "color: #2e7d32;", "warn": "color: #c62828; font-weight: bold;", "idle": ""}


class TrackingControl(QObject):
    """Drives one window's session from a tracker.

    Parameters
    ----------
    window : MainWindow
        The window (``session``, ``statusBar()``, ``toggle_freeze()``,
        ``injection_control``, and its pose-refresh method).
    tracker : hardware.tracker.Tracker
        Started (or to be started) by the caller; ``close()`` closes it.
    calibration : TrackingCalibration or device profile, optional
        Registration and tool calibrations (default identity).
    protocol : str
        Protocol name for the label (``"diy"``, ``"ndi"``, ``"igtl"``).
    poll_ms : int
        Poll period, ms.

    Signals
    -------
    status_changed(str)
        The label's text changed.
    """

    status_changed = Signal(str)

    def __init__(
        self,
        window: Any,
        tracker: Tracker,
        calibration: TrackingCalibration | Any | None = None,
        protocol: str = "",
        poll_ms: int = POLL_MS,
    ) -> None:
        super().__init__(window)
        self.setObjectName("tracking_control")
        self.window = window
        self.tracker = tracker
        self.protocol = protocol
        self.calibration = (
            calibration
            if isinstance(calibration, TrackingCalibration)
            else TrackingCalibration()
            if calibration is None
            else TrackingCalibration.from_profile(calibration)
        )
        self.driver: TrackedDriver | None = None
        self.last = DriveResult()
        self.samples_applied = 0
        self.label = QLabel("Tracking: connecting…")
        self.label.setObjectName("tracking_status")
        window.statusBar().addPermanentWidget(self.label)
        self.timer = QTimer(self)
        self.timer.setInterval(poll_ms)
        self.timer.timeout.connect(self.poll)
        self._label_timer = QTimer(self)
        self._label_timer.setInterval(LABEL_MS)
        self._label_timer.timeout.connect(self._show_status)
        self._text = ""
        self._swirl_until_s = 0.0  # frames keep coming while the bubbles of an injection fade

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Start polling (the tracker must be started by the caller)."""
        self.timer.start()
        self._label_timer.start()
        self._show_status()

    def stop(self) -> None:
        """Stop polling; the session keeps the last pose."""
        self.timer.stop()
        self._label_timer.stop()
        if self.driver is not None:
            self.driver.session.finish_injection()

    def close(self) -> None:
        """Stop polling, close the tracker, remove the label."""
        self.stop()
        self.tracker.close()
        self.window.statusBar().removeWidget(self.label)
        self.label.deleteLater()
        self.setParent(None)
        self.deleteLater()

    def set_calibration(self, calibration: TrackingCalibration | Any) -> None:
        """Use a new registration / tool calibration from the next sample on."""
        if not isinstance(calibration, TrackingCalibration):
            calibration = TrackingCalibration.from_profile(calibration)
        self.calibration = calibration
        self.driver = None

    @property
    def running(self) -> bool:
        """The poll timer is running."""
        return self.timer.isActive()

    # ---------------------------------------------------------------- poll
    def poll(self) -> DriveResult | None:
        """Apply the tracker's newest sample to the window's session (one timer tick)."""
        session = getattr(self.window, "session", None)
        if session is None:
            return None
        if self.driver is None or self.driver.session is not session:
            if self.driver is not None:  # a new scene: nothing carries over
                self.driver.session.finish_injection()
            self.driver = TrackedDriver(session, self.calibration)
        control = getattr(self.window, "injection_control", None)
        if control is not None:
            self.driver.inject_rate_ml_s = control.rate_ml_s
        before = self.last
        result = self.driver.apply(self.tracker.latest())
        self.last = result
        if result.freeze_toggled:
            self.window.toggle_freeze()
        now = time.monotonic()
        if result.injected_ml > 0.0:
            self._swirl_until_s = now + SWIRL_S
        if result.changed:
            self.samples_applied += 1
        if (
            result.changed
            or now < self._swirl_until_s
            or not (session.injection_settled() or session.relabel_error)
        ):
            self._refresh_window()
        if result.aspiration is not None or (result.message and not before.message):
            self.window.statusBar().showMessage(result.message, 4000)
        if (result.stale, result.missing, result.message) != (
            before.stale,
            before.missing,
            before.message,
        ):
            self._show_status()
        return result

    def _refresh_window(self) -> None:
        """The keyboard-move path: pose panel, 3D probe and needle, events, a frame."""
        refresh = getattr(self.window, "refresh_pose", None) or self.window._pose_changed
        refresh()

    # -------------------------------------------------------------- status
    def status_text(self) -> str:
        """The label's text for the tracker's state and the last sample."""
        status = self.tracker.status
        name = PROTOCOL_NAMES.get(self.protocol, self.protocol.upper() or "tracker")
        if status == TrackerStatus.DISCONNECTED or self.last.stale:
            return "Tracking: disconnected — pose frozen"
        if status == TrackerStatus.ERROR:
            detail = self.tracker.status_message or "error"
            return f"Tracking: error — {detail}"
        if status == TrackerStatus.STOPPED:
            return "Tracking: off"
        if status == TrackerStatus.CONNECTING or self.tracker.latest() is None:
            return f"Tracking: {name} connecting…"
        text = f"Tracking: {name} {self.tracker.rate_hz():.0f} Hz"
        if self.last.message:
            text += f" — {self.last.message}"
        return text

    def _show_status(self) -> None:
        text = self.status_text()
        warn = "disconnected" in text or "error" in text or "missing" in text
        self.label.setStyleSheet(_STYLE["warn" if warn else "ok"])
        if text != self._text:
            self._text = text
            self.label.setText(text)
            self.status_changed.emit(text)


def tracking_of(window: Any) -> TrackingControl | None:
    """The window's tracking control, if one is attached."""
    return window.findChild(TrackingControl, "tracking_control")


def attach_tracking(
    window: Any,
    tracker: Tracker,
    profile: TrackingCalibration | Any | None = None,
    protocol: str = "",
) -> TrackingControl:
    """Drive ``window`` from ``tracker`` (started here if it is stopped).

    A tracking control already attached is closed first (its tracker too).

    Parameters
    ----------
    window : MainWindow
    tracker : hardware.tracker.Tracker
    profile : TrackingCalibration or hardware.profiles.DeviceProfile, optional
        Registration and calibrations; its ``protocol`` names the label when
        ``protocol`` is not given.
    protocol : str
        Protocol name for the status label.

    Returns
    -------
    TrackingControl
        Polling already.
    """
    old = tracking_of(window)
    if old is not None:
        old.close()
    if not protocol:
        protocol = str(getattr(profile, "protocol", "") or tracker.device_info.get("protocol", ""))
    control = TrackingControl(window, tracker, profile, protocol=protocol)
    if tracker.status == TrackerStatus.STOPPED:
        tracker.start()
    control.start()
    return control
