"""Side-panel controls: imaging settings, presets, TGC sliders and the probe pose."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QLabel,
    QSlider,
    QWidget,
)

from simulator.presets import PRESETS, SCENE_PRESET
from simulator.probe import N_TGC_BANDS, ImagingSettings, ProbeModel
from simulator.probe_control import ProbeHandle

#: TGC slider range, dB (the engine accepts -40..40).
TGC_RANGE_DB = 20


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
    s.setMinimumWidth(110)
    return s


class ImagingPanel(QGroupBox):
    """Preset, probe, depth, gain, frequency, focus, dynamic range and TGC.

    Signals
    -------
    setting_changed(str, object)
        The user changed one field of ``ImagingSettings`` (name, new value;
        ``tgc_db`` comes as a tuple of 8 floats).
    preset_chosen(str)
        A preset name (``"scene"`` or a key of ``simulator.presets.PRESETS``).
    probe_chosen(str)
        A probe model name.
    """

    setting_changed = Signal(str, object)
    preset_chosen = Signal(str)
    probe_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Imaging", parent)
        form = QFormLayout(self)
        self.preset = QComboBox()
        self.preset.addItem("Scene default", SCENE_PRESET)
        for name, preset in PRESETS.items():
            self.preset.addItem(preset.title, name)
        self.preset.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.preset.activated.connect(
            lambda i: self.preset_chosen.emit(str(self.preset.itemData(i)))
        )
        form.addRow("Preset", self.preset)
        self.probe = QComboBox()
        self.probe.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.probe.activated.connect(lambda i: self.probe_chosen.emit(str(self.probe.itemData(i))))
        form.addRow("Probe", self.probe)
        self.depth = _spin(5.0, 60.0, 5.0, 0, "mm")
        self.gain = _spin(-60.0, 60.0, 1.0, 0, "dB")
        self.freq = _spin(5.0, 13.0, 0.5, 1, "MHz")
        self.focus = _spin(1.0, 60.0, 1.0, 0, "mm")
        self.dynamic_range = _spin(30.0, 90.0, 3.0, 0, "dB")
        for label, box, name in (
            ("Depth", self.depth, "depth_mm"),
            ("Gain", self.gain, "gain_db"),
            ("Frequency", self.freq, "freq_mhz"),
            ("Focus", self.focus, "focus_mm"),
            ("Dynamic range", self.dynamic_range, "dynamic_range_db"),
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

    def show_probes(self, models: tuple[str, ...], current: str) -> None:
        """List the probe models the scene allows and select ``current``."""
        self.probe.blockSignals(True)
        self.probe.clear()
        for name in models:
            self.probe.addItem(name.replace("_", " "), name)
        self.probe.setCurrentIndex(max(self.probe.findData(current), 0))
        self.probe.setEnabled(len(models) > 1)
        self.probe.blockSignals(False)

    def show_preset(self, name: str) -> None:
        """Select preset ``name`` in the list (emits nothing)."""
        self.preset.blockSignals(True)
        self.preset.setCurrentIndex(max(self.preset.findData(name), 0))
        self.preset.blockSignals(False)

    def show_settings(self, settings: ImagingSettings, probe: ProbeModel) -> None:
        """Display ``settings`` with ranges fitted to ``probe`` (emits nothing)."""
        widgets: list[QWidget] = [
            self.depth,
            self.gain,
            self.freq,
            self.focus,
            self.dynamic_range,
            *self.tgc,
        ]
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
            self.dynamic_range.setValue(settings.dynamic_range_db)
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
        hint = QLabel("Keys: ←→↑↓ slide · , . rotate · [ ] tilt · PgUp/PgDn rock\nF1: all keys")
        hint.setStyleSheet("color: #9a9a9a;")
        hint.setWordWrap(True)
        form.addRow(hint)

    def show_pose(self, pose: ProbeHandle) -> None:
        """Display ``pose`` (emits nothing)."""
        values = {
            "x_mm": pose.x_mm,
            "y_mm": pose.y_mm,
            "yaw_deg": pose.yaw_deg,
            "tilt_deg": pose.tilt_deg,
            "rock_deg": pose.rock_deg,
        }
        for name, box in self._boxes.items():
            box.blockSignals(True)
            box.setValue(values[name])
            box.blockSignals(False)
