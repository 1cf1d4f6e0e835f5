"""Side-panel controls: imaging settings, TGC sliders and the probe pose."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QLabel,
    QSlider,
    QWidget,
)

from simulator.probe import N_TGC_BANDS, ImagingSettings, ProbeModel, probe_pose

#: TGC slider range, dB (the engine accepts -40..40).
TGC_RANGE_DB = 20


@dataclass(frozen=True)
class ProbePoseState:
    """The probe pose as the user edits it.

    Attributes
    ----------
    position_mm : tuple of 3 float
        Transducer face centre in the scene frame, mm.
    yaw_deg, tilt_deg, rock_deg : float
        Clinical angles (see ``simulator.probe.rotation_deg``), degrees.
    """

    position_mm: tuple[float, float, float] = (0.0, 0.0, 0.0)
    yaw_deg: float = 0.0
    tilt_deg: float = 0.0
    rock_deg: float = 0.0

    def probe2world(self) -> np.ndarray:
        """The 4x4 float64 ``probe2world`` transform, mm."""
        return probe_pose(self.position_mm, self.yaw_deg, self.tilt_deg, self.rock_deg)

    def moved(self, dx_mm: float = 0.0, dy_mm: float = 0.0) -> ProbePoseState:
        """Copy slid on the skin by ``(dx_mm, dy_mm)`` in the scene frame."""
        x, y, z = self.position_mm
        return replace(self, position_mm=(round(x + dx_mm, 6), round(y + dy_mm, 6), z))

    def with_field(self, name: str, value: float) -> ProbePoseState:
        """Copy with ``x_mm``, ``y_mm``, ``yaw_deg``, ``tilt_deg`` or ``rock_deg`` set."""
        x, y, z = self.position_mm
        if name == "x_mm":
            return replace(self, position_mm=(float(value), y, z))
        if name == "y_mm":
            return replace(self, position_mm=(x, float(value), z))
        if name in ("yaw_deg", "tilt_deg", "rock_deg"):
            return replace(self, **{name: float(value)})
        raise KeyError(
            f"unknown pose field {name!r}: expected x_mm, y_mm, yaw_deg, tilt_deg, rock_deg"
        )


class SpinBox(QDoubleSpinBox):
    """A double spin box that hands Escape to its window (back to the image)."""

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt API)
        """Let Escape through to the window; everything else as usual."""
        if event.key() == Qt.Key.Key_Escape:
            event.ignore()
            return
        super().keyPressEvent(event)


def _spin(lo: float, hi: float, step: float, decimals: int, suffix: str) -> SpinBox:
    s = SpinBox()
    s.setRange(lo, hi)
    s.setSingleStep(step)
    s.setDecimals(decimals)
    s.setSuffix(f" {suffix}")
    s.setKeyboardTracking(False)  # apply typed values on Enter / focus out
    s.setAlignment(Qt.AlignmentFlag.AlignRight)
    s.setMinimumWidth(130)
    return s


class ImagingPanel(QGroupBox):
    """Depth, gain, frequency, focus and the TGC sliders.

    Signals
    -------
    setting_changed(str, object)
        The user changed one field of ``ImagingSettings`` (name, new value;
        ``tgc_db`` comes as a tuple of 8 floats).
    """

    setting_changed = Signal(str, object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Imaging", parent)
        form = QFormLayout(self)
        self.depth = _spin(5.0, 60.0, 5.0, 0, "mm")
        self.gain = _spin(-60.0, 60.0, 1.0, 0, "dB")
        self.freq = _spin(5.0, 13.0, 0.5, 1, "MHz")
        self.focus = _spin(1.0, 60.0, 1.0, 0, "mm")
        for label, box, name in (
            ("Depth", self.depth, "depth_mm"),
            ("Gain", self.gain, "gain_db"),
            ("Frequency", self.freq, "freq_mhz"),
            ("Focus", self.focus, "focus_mm"),
        ):
            form.addRow(label, box)
            box.valueChanged.connect(lambda v, n=name: self.setting_changed.emit(n, float(v)))
        tgc_box = QWidget()
        grid = QGridLayout(tgc_box)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setVerticalSpacing(2)
        self.tgc: list[QSlider] = []
        self._tgc_labels: list[QLabel] = []
        for i in range(N_TGC_BANDS):
            sl = QSlider(Qt.Orientation.Horizontal)
            sl.setRange(-TGC_RANGE_DB, TGC_RANGE_DB)
            sl.setPageStep(5)
            sl.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
            sl.setToolTip(f"TGC band {i + 1} of {N_TGC_BANDS} (shallow to deep), dB")
            lab = QLabel("0 dB")
            lab.setMinimumWidth(60)
            lab.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            sl.valueChanged.connect(self._on_tgc)
            grid.addWidget(sl, i, 0)
            grid.addWidget(lab, i, 1)
            self.tgc.append(sl)
            self._tgc_labels.append(lab)
        form.addRow(QLabel("TGC (shallow → deep)"))
        form.addRow(tgc_box)

    def tgc_db(self) -> tuple[float, ...]:
        """The 8 TGC slider values, shallow to deep, dB."""
        return tuple(float(s.value()) for s in self.tgc)

    def _on_tgc(self, _value: int) -> None:
        for s, lab in zip(self.tgc, self._tgc_labels, strict=True):
            lab.setText(f"{s.value():+d} dB" if s.value() else "0 dB")
        self.setting_changed.emit("tgc_db", self.tgc_db())

    def show_settings(self, settings: ImagingSettings, probe: ProbeModel) -> None:
        """Display ``settings`` with ranges fitted to ``probe`` (emits nothing)."""
        widgets: list[QWidget] = [self.depth, self.gain, self.freq, self.focus, *self.tgc]
        for w in widgets:
            w.blockSignals(True)
        try:
            self.depth.setRange(5.0, probe.max_depth_mm)
            self.focus.setRange(1.0, probe.max_depth_mm)
            self.freq.setRange(probe.freq_min_mhz, probe.freq_max_mhz)
            self.depth.setValue(settings.depth_mm)
            self.gain.setValue(settings.gain_db)
            self.freq.setValue(settings.freq_mhz)
            self.focus.setValue(settings.focus_mm)
            for s, v in zip(self.tgc, settings.tgc_db, strict=True):
                s.setValue(round(v))
        finally:
            for w in widgets:
                w.blockSignals(False)
        for s, lab in zip(self.tgc, self._tgc_labels, strict=True):
            lab.setText(f"{s.value():+d} dB" if s.value() else "0 dB")


class PosePanel(QGroupBox):
    """Probe position on the skin and its angles.

    Signals
    -------
    pose_changed(str, float)
        The user changed ``x_mm``, ``y_mm``, ``yaw_deg``, ``tilt_deg`` or
        ``rock_deg``.
    """

    pose_changed = Signal(str, float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Probe", parent)
        form = QFormLayout(self)
        self.x = _spin(-500.0, 500.0, 0.5, 1, "mm")
        self.y = _spin(-500.0, 500.0, 0.5, 1, "mm")
        self.yaw = _spin(-180.0, 180.0, 1.0, 1, "°")
        self.tilt = _spin(-60.0, 60.0, 1.0, 1, "°")
        self.rock = _spin(-60.0, 60.0, 1.0, 1, "°")
        self.yaw.setWrapping(True)
        self._boxes = {
            "x_mm": self.x,
            "y_mm": self.y,
            "yaw_deg": self.yaw,
            "tilt_deg": self.tilt,
            "rock_deg": self.rock,
        }
        labels = ("Position x", "Position y", "Yaw", "Tilt", "Rock")
        for label, (name, box) in zip(labels, self._boxes.items(), strict=True):
            form.addRow(label, box)
            box.valueChanged.connect(lambda v, n=name: self.pose_changed.emit(n, float(v)))
        hint = QLabel("Keys: ←→↑↓ move · PgUp/PgDn rock\n[ ] tilt · + − gain")
        hint.setStyleSheet("color: #9a9a9a;")
        form.addRow(hint)

    def show_pose(self, pose: ProbePoseState) -> None:
        """Display ``pose`` (emits nothing)."""
        values = {
            "x_mm": pose.position_mm[0],
            "y_mm": pose.position_mm[1],
            "yaw_deg": pose.yaw_deg,
            "tilt_deg": pose.tilt_deg,
            "rock_deg": pose.rock_deg,
        }
        for name, box in self._boxes.items():
            box.blockSignals(True)
            box.setValue(values[name])
            box.blockSignals(False)
