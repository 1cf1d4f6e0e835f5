"""The Tracking > Connect… dialog: choose a device, connect, calibrate, save its profile.

- **Device**: protocol (``hardware.registry.PROTOCOLS``), a serial port list
  (``serial.tools.list_ports``) and a free-text URL (``/dev/ttyUSB0``,
  ``/dev/pts/N``, ``socket://host:port``, ``igtl://host:port``, ``loop://``),
  baud rate, and for an NDI Polaris the tool definition (.rom) files of its
  passive tools; **Start emulator** runs the protocol's device emulator (a probe
  and needle moving along a plausible path over the current scene) and fills
  in its URL, so the app can be tried without hardware; Connect / Disconnect.
- **Status**: connection state, measured sample rate, the tools seen
  (visible / missing / frozen, quality).
- **Calibration**: needle pivot (pivot the needle tip in a divot for N
  seconds: tip offset and RMS residual), paired-point registration (touch
  the listed landmarks, given in scene coordinates, with the needle tip:
  fiducial registration error), the probe's stored face offset.
- **Profile**: save / load the device profile (``hardware.profiles``).
"""

from __future__ import annotations

import datetime as _dt
import inspect
import math
from typing import Any

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from hardware.tracker import Tracker, TrackerStatus
from simulator.app.tracked_driver import TrackingCalibration
from simulator.gui.tracking_control import (
    PROTOCOL_NAMES,
    TrackingControl,
    attach_tracking,
    tracking_of,
)

#: Baud rates offered (any other can be typed).
BAUD_RATES = (9600, 38400, 57600, 115200, 230400, 460800, 921600, 1228739)
#: Default pivot recording, s.
PIVOT_SECONDS = 10.0
#: Status refresh period, ms.
STATUS_MS = 250
#: Pivot sample collection period, ms.
COLLECT_MS = 50
#: A pivot tip closer than this to the sensor origin: the tracker reports the tip frame, mm.
TIP_AT_ORIGIN_MM = 1.0


def serial_ports() -> list[tuple[str, str]]:
    """Serial ports present: ``(device, description)``; [] without pyserial's port lister."""
    try:
        from serial.tools import list_ports
    except ImportError:
        return []
    return [(p.device, p.description or "") for p in sorted(list_ports.comports())]


def landmarks_of(window: Any) -> list[tuple[str, np.ndarray]]:
    """Registration landmarks of the window's scene: 4 points on its skin, scene mm.

    The corners of the middle half of the scene's footprint, on the skin
    surface (touch them on the phantom in this order).
    """
    session = getattr(window, "session", None)
    if session is None:
        return []
    lo, hi = session.scene.spec.bounds_min_mm, session.scene.spec.bounds_max_mm
    cx, cy = 0.5 * (lo[0] + hi[0]), 0.5 * (lo[1] + hi[1])
    hx, hy = 0.25 * (hi[0] - lo[0]), 0.25 * (hi[1] - lo[1])
    out = []
    for name, sx, sy in (("A", -1, -1), ("B", 1, -1), ("C", 1, 1), ("D", -1, 1)):
        x, y = cx + sx * hx, cy + sy * hy
        out.append((name, np.array([x, y, float(session.skin.height_mm(x, y))])))
    return out


def pose_from_offset(values: list[float]) -> np.ndarray:
    """4x4 pose from ``x y z`` (mm) and rotations ``rx ry rz`` (deg, about x then y then z)."""
    x, y, z, rx, ry, rz = values
    cx, sx = math.cos(math.radians(rx)), math.sin(math.radians(rx))
    cy, sy = math.cos(math.radians(ry)), math.sin(math.radians(ry))
    cz, sz = math.cos(math.radians(rz)), math.sin(math.radians(rz))
    r_x = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    r_y = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    r_z = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    m = np.eye(4)
    m[:3, :3] = r_z @ r_y @ r_x
    m[:3, 3] = (x, y, z)
    return m


def offset_of_pose(m: np.ndarray) -> list[float]:
    """Inverse of :func:`pose_from_offset`: ``[x, y, z, rx, ry, rz]`` (mm, deg)."""
    r = m[:3, :3]
    ry = math.degrees(math.asin(max(-1.0, min(1.0, -r[2, 0]))))
    rx = math.degrees(math.atan2(r[2, 1], r[2, 2]))
    rz = math.degrees(math.atan2(r[1, 0], r[0, 0]))
    return [float(m[0, 3]), float(m[1, 3]), float(m[2, 3]), rx, ry, rz]


def tracker_options(protocol: str, baudrate: int) -> dict[str, Any]:
    """The protocol's tracker options for a baud rate (none for a socket protocol)."""
    from hardware.registry import tracker_class

    params = inspect.signature(tracker_class(protocol)).parameters
    for name in ("baudrate", "baudrate_target"):
        if name in params:
            return {name: int(baudrate)}
    return {}


class TrackerDialog(QDialog):
    """Connect a tracker to the window, calibrate it, save its profile.

    Parameters
    ----------
    window : MainWindow
        The window the tracker drives (its ``session`` gives the scene for
        the emulator's path and the registration landmarks).
    parent : QWidget, optional
        Default ``window``.

    Attributes
    ----------
    emulator : object or None
        The emulator started from the dialog (``.url``, ``.unplug()``...).
    pivot : hardware.calibration.PivotResult or None
    registration : hardware.calibration.Registration or None
    """

    def __init__(self, window: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent if parent is not None else window)
        self.setWindowTitle("Tracking — connect a tracked probe and needle")
        self.setObjectName("tracker_dialog")
        self.window_ = window
        self.emulator: Any = None
        self._emulator_protocol = ""
        self.pivot: Any = None
        self.registration: Any = None
        self._tip2tool = np.eye(4)
        self._tracker2world = np.eye(4)
        self._sensor2face = np.eye(4)
        self._calibrated: dict[str, str] = {}
        self._tip_mm: list[float] | None = None  # pivot-calibrated tip in the needle sensor
        self._pivot_rms_mm: float | None = None
        self._fre_mm: float | None = None
        self._pivot_poses: list[np.ndarray] = []
        self._pivot_seq = 0
        self._pivot_end_s = 0.0
        self._touched: dict[int, np.ndarray] = {}
        self._landmarks: list[tuple[str, np.ndarray]] = []

        layout = QVBoxLayout(self)
        layout.addWidget(self._build_device())
        layout.addWidget(self._build_status())
        layout.addWidget(self._build_calibration())
        layout.addWidget(self._build_profile())
        self.message_label = QLabel("")
        self.message_label.setObjectName("tracker_message")
        self.message_label.setWordWrap(True)
        layout.addWidget(self.message_label)

        self.status_timer = QTimer(self)
        self.status_timer.setInterval(STATUS_MS)
        self.status_timer.timeout.connect(self.refresh_status)
        self.status_timer.start()
        self.pivot_timer = QTimer(self)
        self.pivot_timer.setInterval(COLLECT_MS)
        self.pivot_timer.timeout.connect(self._collect_pivot)
        self.refresh_ports()
        self.refresh_landmarks()
        self.refresh_profiles()
        self._on_protocol()
        self.refresh_status()

    # ------------------------------------------------------------- layout
    def _build_device(self) -> QGroupBox:
        from hardware.registry import PROTOCOLS

        box = QGroupBox("Device")
        form = QFormLayout(box)
        self.protocol_combo = QComboBox()
        for name in PROTOCOLS:
            self.protocol_combo.addItem(f"{PROTOCOL_NAMES.get(name, name)} ({name})", name)
        self.protocol_combo.currentIndexChanged.connect(self._on_protocol)
        form.addRow("Protocol", self.protocol_combo)
        ports = QHBoxLayout()
        self.port_combo = QComboBox()
        self.port_combo.activated.connect(self._on_port_chosen)
        self.refresh_ports_button = QPushButton("Refresh")
        self.refresh_ports_button.clicked.connect(self.refresh_ports)
        ports.addWidget(self.port_combo, 1)
        ports.addWidget(self.refresh_ports_button)
        form.addRow("Serial port", ports)
        self.url_edit = QLineEdit()
        self.url_edit.setPlaceholderText("/dev/ttyUSB0, /dev/pts/N, socket://host:port, loop://")
        form.addRow("URL", self.url_edit)
        self.baud_combo = QComboBox()
        self.baud_combo.setEditable(True)
        for b in BAUD_RATES:
            self.baud_combo.addItem(str(b))
        self.baud_combo.setCurrentText("115200")
        form.addRow("Baud", self.baud_combo)
        roms = QHBoxLayout()
        self.roms_edit = QLineEdit()
        self.roms_edit.setPlaceholderText("passive tools: [name=]file.rom; …")
        self.roms_edit.setToolTip(
            "Tool definition files of passive (wireless) Polaris tools, separated by ';'. "
            "Name a tool 'probe=' or 'needle=' before its file; unnamed ones take the "
            "roles left in handle order."
        )
        self.add_rom_button = QPushButton("Add .rom…")
        self.add_rom_button.clicked.connect(self._on_add_rom)
        roms.addWidget(self.roms_edit, 1)
        roms.addWidget(self.add_rom_button)
        self.roms_label = QLabel("Tool files")
        form.addRow(self.roms_label, roms)
        buttons = QHBoxLayout()
        self.emulator_button = QPushButton("Start emulator")
        self.emulator_button.setToolTip(
            "Run a software device that moves a probe and needle over this scene, "
            "and fill in its URL: try tracking without hardware"
        )
        self.emulator_button.clicked.connect(self._on_emulator_button)
        self.connect_button = QPushButton("Connect")
        self.connect_button.setDefault(True)
        self.connect_button.clicked.connect(self.connect_tracker)
        self.disconnect_button = QPushButton("Disconnect")
        self.disconnect_button.clicked.connect(self.disconnect_tracker)
        for b in (self.emulator_button, self.connect_button, self.disconnect_button):
            buttons.addWidget(b)
        form.addRow(buttons)
        return box

    def _build_status(self) -> QGroupBox:
        box = QGroupBox("Status")
        v = QVBoxLayout(box)
        row = QHBoxLayout()
        self.status_label = QLabel("Not connected")
        self.status_label.setObjectName("tracker_status")
        self.rate_label = QLabel("")
        row.addWidget(self.status_label, 1)
        row.addWidget(self.rate_label)
        v.addLayout(row)
        self.tools_table = QTableWidget(0, 4)
        self.tools_table.setHorizontalHeaderLabels(["Tool", "Kind", "State", "Quality"])
        self.tools_table.verticalHeader().hide()
        self.tools_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.tools_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.tools_table.setMaximumHeight(110)
        v.addWidget(self.tools_table)
        return box

    def _build_calibration(self) -> QGroupBox:
        box = QGroupBox("Calibration")
        v = QVBoxLayout(box)
        pivot = QHBoxLayout()
        pivot.addWidget(QLabel("Needle pivot:"))
        self.pivot_seconds = QDoubleSpinBox()
        self.pivot_seconds.setRange(1.0, 60.0)
        self.pivot_seconds.setValue(PIVOT_SECONDS)
        self.pivot_seconds.setSuffix(" s")
        pivot.addWidget(self.pivot_seconds)
        self.pivot_button = QPushButton("Record pivot")
        self.pivot_button.setToolTip(
            "Rest the needle tip in a divot and tilt the needle in every direction"
        )
        self.pivot_button.clicked.connect(lambda: self.start_pivot())
        pivot.addWidget(self.pivot_button)
        self.pivot_label = QLabel("not calibrated")
        pivot.addWidget(self.pivot_label, 1)
        v.addLayout(pivot)

        v.addWidget(QLabel("Registration: touch each landmark on the phantom with the needle tip"))
        self.landmark_table = QTableWidget(0, 3)
        self.landmark_table.setHorizontalHeaderLabels(
            ["Landmark", "Scene point (mm)", "Touched (tracker, mm)"]
        )
        self.landmark_table.verticalHeader().hide()
        self.landmark_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.landmark_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.landmark_table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.landmark_table.setMaximumHeight(140)
        v.addWidget(self.landmark_table)
        reg = QHBoxLayout()
        self.touch_button = QPushButton("Touch selected")
        self.touch_button.clicked.connect(lambda: self.touch_landmark())
        self.register_button = QPushButton("Register")
        self.register_button.clicked.connect(self.register)
        self.fre_label = QLabel("not registered")
        reg.addWidget(self.touch_button)
        reg.addWidget(self.register_button)
        reg.addWidget(self.fre_label, 1)
        v.addLayout(reg)

        probe = QHBoxLayout()
        probe.addWidget(QLabel("Probe face in sensor frame:"))
        self.probe_offset_edit = QLineEdit("0 0 0 0 0 0")
        self.probe_offset_edit.setToolTip(
            "Where the centre of the probe face is in the probe sensor's frame: "
            "x y z (mm), then rotations rx ry rz (degrees, about x, then y, then z)"
        )
        self.probe_offset_edit.editingFinished.connect(lambda: self.set_probe_offset())
        probe.addWidget(self.probe_offset_edit, 1)
        v.addLayout(probe)
        return box

    def _build_profile(self) -> QGroupBox:
        box = QGroupBox("Device profile")
        h = QHBoxLayout(box)
        self.profile_name_edit = QLineEdit("my-rig")
        self.profile_combo = QComboBox()
        self.profile_combo.setMinimumWidth(120)
        self.load_button = QPushButton("Load")
        self.load_button.clicked.connect(lambda: self.load_profile())
        self.save_button = QPushButton("Save profile")
        self.save_button.clicked.connect(lambda: self.save_profile())
        h.addWidget(QLabel("Name"))
        h.addWidget(self.profile_name_edit, 1)
        h.addWidget(self.save_button)
        h.addWidget(self.profile_combo)
        h.addWidget(self.load_button)
        return box

    # ------------------------------------------------------------- device
    @property
    def protocol(self) -> str:
        """The chosen protocol name."""
        return str(self.protocol_combo.currentData())

    @property
    def control(self) -> TrackingControl | None:
        """The window's tracking control, if connected."""
        return tracking_of(self.window_)

    @property
    def tracker(self) -> Tracker | None:
        """The connected tracker."""
        control = self.control
        return None if control is None else control.tracker

    def set_protocol(self, name: str) -> None:
        """Choose a protocol by name."""
        index = self.protocol_combo.findData(name)
        if index < 0:
            raise ValueError(f"tracker protocol {name!r}: not in the protocol list")
        self.protocol_combo.setCurrentIndex(index)

    def _on_protocol(self) -> None:
        from hardware.registry import tracker_accepts

        serial_like = self.protocol != "igtl"
        self.baud_combo.setEnabled(serial_like)
        passive = tracker_accepts(self.protocol, "roms")
        for w in (self.roms_edit, self.add_rom_button):
            w.setEnabled(passive)
        if self.protocol == "igtl" and not self.url_edit.text():
            self.url_edit.setPlaceholderText("igtl://127.0.0.1:18944")

    def refresh_ports(self) -> None:
        """List the serial ports present."""
        self.port_combo.clear()
        ports = serial_ports()
        for device, description in ports:
            self.port_combo.addItem(f"{device} — {description}" if description else device, device)
        if not ports:
            self.port_combo.addItem("(no serial ports found: type a URL)", "")

    def _on_port_chosen(self, index: int) -> None:
        device = self.port_combo.itemData(index)
        if device:
            self.url_edit.setText(str(device))

    def _on_add_rom(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Passive tool definition", "", "NDI tool definitions (*.rom);;All files (*)"
        )
        if path:
            self.add_rom(path)

    def add_rom(self, path: str, name: str | None = None) -> None:
        """Append a passive tool's .rom file (with an optional tool name) to the list."""
        entry = f"{name}={path}" if name else path
        current = self.rom_entries()
        self.roms_edit.setText("; ".join([*current, entry]))

    def rom_entries(self) -> list[str]:
        """The ``[name=]file`` entries typed or added, in order."""
        return [e.strip() for e in self.roms_edit.text().split(";") if e.strip()]

    def _rom_options(self) -> dict[str, Any]:
        from hardware.ndi_tracker import parse_rom_option
        from hardware.registry import tracker_accepts

        entries = self.rom_entries()
        if not entries or not tracker_accepts(self.protocol, "roms"):
            return {}
        roms: list[Any] = []
        for entry in entries:
            name, path = parse_rom_option(entry)
            roms.append(path if name is None else (name, path))
        return {"roms": roms}

    def _baud(self) -> int:
        text = self.baud_combo.currentText().strip()
        if not text.isdigit() or int(text) <= 0:
            raise ValueError(f"baud rate {text!r}: expected a positive whole number")
        return int(text)

    def _on_emulator_button(self) -> None:
        if self.emulator is None:
            self.start_emulator()
        else:
            self.stop_emulator()

    def start_emulator(self, **options: Any) -> str:
        """Start the chosen protocol's emulator over the scene; fills in and returns its URL."""
        from hardware.motion import plausible_path
        from hardware.registry import make_emulator

        self.stop_emulator()
        session = getattr(self.window_, "session", None)
        centre = (
            tuple(float(v) for v in session.start_handle().probe2world(session.skin)[:3, 3])
            if session is not None
            else (0.0, 0.0, 0.0)
        )
        options.setdefault("path", lambda t_s: plausible_path(t_s, centre))
        try:
            emulator = make_emulator(self.protocol, **options)
            url = str(emulator.start())
        except (ImportError, OSError, ValueError) as exc:
            self._say(f"Could not start the {self.protocol} emulator: {exc}", error=True)
            return ""
        self.emulator = emulator
        self._emulator_protocol = self.protocol
        self.url_edit.setText(url)
        self.emulator_button.setText("Stop emulator")
        self._say(f"Emulator running at {url}: press Connect.")
        return url

    def stop_emulator(self) -> None:
        """Stop the emulator started here (if any)."""
        if self.emulator is not None:
            self.emulator.stop()
            self.emulator = None
            self.emulator_button.setText("Start emulator")

    def connect_tracker(self) -> TrackingControl | None:
        """Open the tracker on the URL and drive the window with it.

        Returns
        -------
        TrackingControl or None
            None (with the reason shown in the dialog) when the URL, baud rate
            or protocol is not usable.
        """
        from hardware.registry import open_tracker

        url = self.url_edit.text().strip()
        if not url:
            self._say("Choose a serial port or type a URL first.", error=True)
            return None
        try:
            options = tracker_options(self.protocol, self._baud()) if self.protocol else {}
            options.update(self._rom_options())
            tracker = open_tracker(self.protocol, url, **options)
        except (ImportError, OSError, ValueError, TypeError) as exc:
            self._say(f"Could not open {url}: {exc}", error=True)
            return None
        try:
            control = attach_tracking(self.window_, tracker, self.calibration(), self.protocol)
        except (OSError, ValueError, RuntimeError) as exc:
            tracker.close()
            self._say(f"Could not start the tracker on {url}: {exc}", error=True)
            return None
        self._say(f"Connecting to {url}…")
        self.refresh_status()
        return control

    def disconnect_tracker(self) -> None:
        """Stop tracking and close the tracker (the session keeps the last pose)."""
        control = self.control
        if control is not None:
            control.close()
            self._say("Disconnected.")
        self.refresh_status()

    def shutdown(self) -> None:
        """Disconnect and stop the emulator (call when the window closes)."""
        self.pivot_timer.stop()
        self.status_timer.stop()
        self.disconnect_tracker()
        self.stop_emulator()

    # ------------------------------------------------------------- status
    def refresh_status(self) -> None:
        """Show the tracker's state, rate and tools."""
        from hardware.registry import tracker_accepts

        tracker = self.tracker
        connected = tracker is not None
        self.connect_button.setEnabled(not connected)
        self.disconnect_button.setEnabled(connected)
        for w in (self.protocol_combo, self.url_edit, self.port_combo):
            w.setEnabled(not connected)
        passive = tracker_accepts(self.protocol, "roms")
        for w in (self.roms_edit, self.add_rom_button):
            w.setEnabled(passive and not connected)
        self.baud_combo.setEnabled(not connected and self.protocol != "igtl")
        if tracker is None:
            self.status_label.setText("Not connected")
            self.rate_label.setText("")
            self.tools_table.setRowCount(0)
            return
        status = tracker.status
        detail = tracker.status_message
        text = {
            TrackerStatus.TRACKING: "Tracking",
            TrackerStatus.CONNECTING: "Connecting…",
            TrackerStatus.DISCONNECTED: "Disconnected — pose frozen",
            TrackerStatus.ERROR: "Error",
            TrackerStatus.STOPPED: "Stopped",
        }.get(status, str(status))
        self.status_label.setText(f"{text} ({detail})" if detail else text)
        if status == TrackerStatus.TRACKING and self.message_label.text().startswith("Connecting"):
            self._say("Connected: the tracked probe and needle drive the simulator.")
        self.rate_label.setText(f"{tracker.rate_hz():.0f} samples/s")
        self._show_tools(tracker)

    def _show_tools(self, tracker: Tracker) -> None:
        sample = tracker.latest()
        names = [(t.name, t.kind) for t in tracker.tools()]
        if sample is not None:
            known = {n for n, _ in names}
            names += [(n, "") for n in (*sample.tools, *sample.missing) if n not in known]
        self.tools_table.setRowCount(len(names))
        for row, (name, kind) in enumerate(names):
            tool = sample.tools.get(name) if sample is not None else None
            if tool is None:
                state, quality = "missing", ""
            elif tool.stale:
                state, quality = "frozen", f"{tool.quality:.2f}"
            else:
                state = "visible" if tool.visible else "missing"
                if tool.orientation_only:
                    state += " (orientation)"
                if tool.depth_mm is not None:
                    state += f", depth {tool.depth_mm:.1f} mm"
                quality = f"{tool.quality:.2f}"
            for col, value in enumerate((name, kind, state, quality)):
                self.tools_table.setItem(row, col, QTableWidgetItem(value))

    def _say(self, text: str, error: bool = False) -> None:
        self.message_label.setStyleSheet("color: #c62828;" if error else "")
        self.message_label.setText(text)

    # -------------------------------------------------------- calibration
    def calibration(self) -> TrackingCalibration:
        """The calibration the dialog holds (registration, probe face, needle tip)."""
        return TrackingCalibration(
            tracker2world=self._tracker2world,
            probe_sensor2face=self._sensor2face,
            needle_tip2tool=self._tip2tool,
        )

    def _apply_calibration(self) -> None:
        control = self.control
        if control is not None:
            control.set_calibration(self.calibration())

    def start_pivot(self, seconds: float | None = None) -> bool:
        """Record needle poses for ``seconds`` (default the spin box), then calibrate."""
        tracker = self.tracker
        if tracker is None:
            self._say("Connect the tracker before the pivot calibration.", error=True)
            return False
        self._pivot_poses = []
        _, self._pivot_seq = tracker.samples_since(0)
        duration = float(self.pivot_seconds.value() if seconds is None else seconds)
        self._pivot_end_s = tracker.clock() + duration
        self.pivot_button.setEnabled(False)
        self.pivot_label.setText(f"recording {duration:.0f} s: pivot the needle about its tip…")
        self.pivot_timer.start()
        return True

    @property
    def pivoting(self) -> bool:
        """A pivot recording is going on."""
        return self.pivot_timer.isActive()

    def _collect_pivot(self) -> None:
        tracker = self.tracker
        if tracker is None:
            self.pivot_timer.stop()
            self.pivot_button.setEnabled(True)
            self.pivot_label.setText("pivot cancelled: disconnected")
            return
        samples, self._pivot_seq = tracker.samples_since(self._pivot_seq)
        needle = self.calibration().needle_tool
        for s in samples:
            tool = s.tools.get(needle)
            if (
                tool is not None
                and tool.visible
                and not tool.stale
                and tool.pose2tracker is not None
            ):
                self._pivot_poses.append(tool.pose2tracker)
        if tracker.clock() >= self._pivot_end_s:
            self.pivot_timer.stop()
            self.pivot_button.setEnabled(True)
            self.finish_pivot(self._pivot_poses)

    def finish_pivot(self, poses: list[np.ndarray] | np.ndarray) -> Any:
        """Pivot-calibrate from needle sensor poses (N, 4, 4); shows the tip and residual.

        Returns
        -------
        hardware.calibration.PivotResult or None
            None (reason shown) when the poses cannot give a calibration.
        """
        from hardware.calibration import CalibrationError, needle_tip2tool, pivot_calibration

        try:
            result = pivot_calibration(np.asarray(poses, dtype=np.float64).reshape(-1, 4, 4))
        except CalibrationError as exc:
            self.pivot_label.setText("failed")
            self._say(f"Pivot calibration: {exc}", error=True)
            return None
        tip = result.tip_in_tool_mm
        if np.linalg.norm(tip) < TIP_AT_ORIGIN_MM:  # the device already reports the tip frame
            self._tip2tool = np.eye(4)
            self._tip2tool[:3, 3] = tip
        else:
            self._tip2tool = needle_tip2tool(tip)
        self.pivot = result
        self._tip_mm = [float(v) for v in tip]
        self._pivot_rms_mm = float(result.rms_residual_mm)
        self._calibrated["pivot"] = _dt.date.today().isoformat()
        self.pivot_label.setText(
            f"tip ({tip[0]:.1f}, {tip[1]:.1f}, {tip[2]:.1f}) mm, "
            f"residual {result.rms_residual_mm:.2f} mm RMS ({result.n_poses} poses)"
        )
        self._say("Needle pivot calibrated.")
        self._apply_calibration()
        return result

    def refresh_landmarks(self) -> None:
        """List the scene's registration landmarks."""
        self._landmarks = landmarks_of(self.window_)
        self._touched = {}
        self.landmark_table.setRowCount(len(self._landmarks))
        for row, (name, point) in enumerate(self._landmarks):
            self.landmark_table.setItem(row, 0, QTableWidgetItem(name))
            self.landmark_table.setItem(row, 1, QTableWidgetItem(_fmt(point)))
            self.landmark_table.setItem(row, 2, QTableWidgetItem("—"))
        if self._landmarks:
            self.landmark_table.selectRow(0)

    def needle_tip_in_tracker_mm(self) -> np.ndarray | None:
        """The calibrated needle tip in the tracker frame now, shape (3,), or None."""
        tracker = self.tracker
        sample = None if tracker is None else tracker.latest()
        cal = self.calibration()
        tool = None if sample is None else sample.tools.get(cal.needle_tool)
        if tool is None or tool.pose2tracker is None or not tool.visible or tool.stale:
            return None
        return (tool.pose2tracker @ cal.needle_tip2tool)[:3, 3].copy()

    def touch_landmark(self, row: int | None = None, point_mm: np.ndarray | None = None) -> bool:
        """Record the needle tip (or ``point_mm``, tracker frame) for landmark ``row``."""
        if row is None:
            row = self.landmark_table.currentRow()
        if not 0 <= row < len(self._landmarks):
            self._say("Select a landmark first.", error=True)
            return False
        point = self.needle_tip_in_tracker_mm() if point_mm is None else np.asarray(point_mm)
        if point is None:
            self._say("The needle is not tracked: cannot record the touch.", error=True)
            return False
        self._touched[row] = np.asarray(point, dtype=np.float64)
        self.landmark_table.setItem(row, 2, QTableWidgetItem(_fmt(self._touched[row])))
        if row + 1 < len(self._landmarks):
            self.landmark_table.selectRow(row + 1)
        return True

    def register(self) -> Any:
        """Paired-point registration of the touched landmarks; shows the FRE.

        Returns
        -------
        hardware.calibration.Registration or None
        """
        from hardware.calibration import CalibrationError, paired_point_registration

        rows = sorted(self._touched)
        if len(rows) < 3:
            self._say(f"Touch at least 3 landmarks ({len(rows)} touched).", error=True)
            return None
        tracker_pts = np.array([self._touched[r] for r in rows])
        scene_pts = np.array([self._landmarks[r][1] for r in rows])
        try:
            result = paired_point_registration(tracker_pts, scene_pts)
        except CalibrationError as exc:
            self._say(f"Registration: {exc}", error=True)
            return None
        self.registration = result
        self._tracker2world = result.tracker2world
        self._fre_mm = float(result.fre_mm)
        self._calibrated["registration"] = _dt.date.today().isoformat()
        self.fre_label.setText(f"FRE {result.fre_mm:.2f} mm ({len(rows)} landmarks)")
        self._say("Tracker registered to the scene.")
        self._apply_calibration()
        return result

    def set_probe_offset(self, text: str | None = None) -> bool:
        """Set the probe face offset from ``x y z rx ry rz`` (mm, deg; the face in the sensor)."""
        text = self.probe_offset_edit.text() if text is None else text
        try:
            values = [float(v) for v in text.replace(",", " ").split()]
        except ValueError:
            values = []
        if len(values) != 6 or not all(math.isfinite(v) for v in values):
            self._say(
                f"Probe face offset {text!r}: expected 6 numbers, x y z (mm) rx ry rz (degrees)",
                error=True,
            )
            return False
        self.probe_offset_edit.setText(" ".join(f"{v:g}" for v in values))
        self._sensor2face = np.linalg.inv(pose_from_offset(values))
        self._calibrated["probe_face"] = _dt.date.today().isoformat()
        self._apply_calibration()
        return True

    # ------------------------------------------------------------ profile
    def profile(self) -> Any:
        """The device profile of the dialog's settings (``hardware.profiles.DeviceProfile``)."""
        from hardware.profiles import DeviceProfile

        try:
            baud = self._baud()
        except ValueError:
            baud = 115200
        return DeviceProfile(
            name=self.profile_name_edit.text().strip(),
            protocol=self.protocol,
            url=self.url_edit.text().strip(),
            baudrate=baud,
            needle_tip_in_tool_mm=self._tip_mm,
            probe_sensor2face=self._sensor2face.tolist(),
            tracker2world=self._tracker2world.tolist(),
            pivot_rms_mm=self._pivot_rms_mm,
            registration_fre_mm=self._fre_mm,
            calibrated=dict(self._calibrated),
        )

    def save_profile(self) -> Any:
        """Save the device profile; returns its path, or None (reason shown)."""
        from hardware.profiles import ProfileError, save_profile

        try:
            path = save_profile(self.profile())
        except (ProfileError, OSError, ValueError) as exc:
            self._say(f"Could not save the profile: {exc}", error=True)
            return None
        self._say(f"Saved {path}")
        self.refresh_profiles()
        return path

    def refresh_profiles(self) -> None:
        """List the saved device profiles."""
        from hardware.profiles import list_profiles

        self.profile_combo.clear()
        try:
            names = list_profiles()
        except OSError:
            names = []
        self.profile_combo.addItems(names)
        self.load_button.setEnabled(bool(names))

    def load_profile(self, name: str | None = None) -> bool:
        """Fill the dialog from a saved profile (the connection is not changed)."""
        from hardware.calibration import needle_tip2tool
        from hardware.profiles import ProfileError
        from hardware.profiles import load_profile as load

        name = self.profile_combo.currentText() if name is None else name
        try:
            p = load(name)
        except ProfileError as exc:
            self._say(str(exc), error=True)
            return False
        self.profile_name_edit.setText(p.name)
        self.set_protocol(p.protocol)
        self.url_edit.setText(p.url)
        self.baud_combo.setCurrentText(str(p.baudrate))
        self._tracker2world = p.matrix("tracker2world") if p.tracker2world else np.eye(4)
        self._sensor2face = p.matrix("probe_sensor2face") if p.probe_sensor2face else np.eye(4)
        self.probe_offset_edit.setText(
            " ".join(f"{v:.6g}" for v in offset_of_pose(np.linalg.inv(self._sensor2face)))
        )
        tip = p.needle_tip_in_tool_mm
        self._tip_mm = None if tip is None else [float(v) for v in tip]
        self._pivot_rms_mm, self._fre_mm = p.pivot_rms_mm, p.registration_fre_mm
        if tip is None or np.linalg.norm(tip) < TIP_AT_ORIGIN_MM:
            self._tip2tool = np.eye(4)
            if tip is not None:
                self._tip2tool[:3, 3] = tip
        else:
            axis = None if p.needle_axis_in_tool is None else np.asarray(p.needle_axis_in_tool)
            self._tip2tool = needle_tip2tool(np.asarray(tip), axis)
        self.pivot_label.setText(
            "not calibrated" if p.pivot_rms_mm is None else f"residual {p.pivot_rms_mm:.2f} mm RMS"
        )
        self.fre_label.setText(
            "not registered"
            if p.registration_fre_mm is None
            else f"FRE {p.registration_fre_mm:.2f} mm"
        )
        self._calibrated = dict(p.calibrated)
        self._apply_calibration()
        self._say(f"Loaded profile {p.name}.")
        return True

    def closeEvent(self, event: Any) -> None:  # noqa: N802 (Qt API)
        """Closing hides the dialog; tracking and the emulator go on."""
        self.pivot_timer.stop()
        super().closeEvent(event)


def _fmt(point: np.ndarray) -> str:
    return "  ".join(f"{float(v):.1f}" for v in point)


def open_tracker_dialog(window: Any) -> TrackerDialog:
    """Show the window's tracker dialog (made once, kept as a child of the window)."""
    dialog = window.findChild(TrackerDialog, "tracker_dialog")
    if dialog is None:
        dialog = TrackerDialog(window)
    else:
        dialog.refresh_landmarks()
        dialog.refresh_ports()
    dialog.show()
    dialog.raise_()
    dialog.activateWindow()
    return dialog
