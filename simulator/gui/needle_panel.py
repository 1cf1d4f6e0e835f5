"""Side-panel needle controls: place, advance, withdraw, redirect, remove, aspirate, inject."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QLabel,
    QPushButton,
    QWidget,
)

from simulator.needle_pose import NeedlePose

#: Injection rate offered first, ml/s.
DEFAULT_RATE_ML_S = 0.25


class NeedlePanel(QGroupBox):
    """Buttons that send needle intents, and a readout of the needle.

    Signals
    -------
    action(str, float)
        A window action name of ``simulator.gui.keymap`` (``place_needle``,
        ``advance``, ``steer_angle``, ``steer_heading``, ``remove_needle``,
        ``aspirate``, ``inject``) and its signed amount in steps.
    rate_changed(float)
        The injection rate the user chose, ml/s.
    """

    action = Signal(str, float)
    rate_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Needle", parent)
        form = QFormLayout(self)
        grid = QGridLayout()
        buttons = (
            ("Place (N)", "place_needle", 0.0, 0, 0),
            ("Remove (Del)", "remove_needle", 0.0, 0, 1),
            ("Advance (W)", "advance", 1.0, 1, 0),
            ("Withdraw (S)", "advance", -1.0, 1, 1),
            ("Steeper (E)", "steer_angle", 1.0, 2, 0),
            ("Shallower (Q)", "steer_angle", -1.0, 2, 1),
            ("Left (A)", "steer_heading", 1.0, 3, 0),
            ("Right (D)", "steer_heading", -1.0, 3, 1),
            ("Aspirate (R)", "aspirate", 0.0, 4, 0),
            ("Inject (I)", "inject", 0.0, 4, 1),
        )
        self.buttons: dict[str, QPushButton] = {}
        for text, name, amount, row, col in buttons:
            b = QPushButton(text)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.setAutoRepeat(name in ("advance", "steer_angle", "steer_heading"))
            b.clicked.connect(lambda _=False, n=name, a=amount: self.action.emit(n, a))
            grid.addWidget(b, row, col)
            self.buttons[text.split(" (")[0].lower()] = b
        form.addRow(grid)
        self.buttons["inject"].setCheckable(True)
        self.rate = QDoubleSpinBox()
        self.rate.setRange(0.05, 2.0)
        self.rate.setSingleStep(0.05)
        self.rate.setDecimals(2)
        self.rate.setSuffix(" ml/s")
        self.rate.setValue(DEFAULT_RATE_ML_S)
        self.rate.setToolTip("Injection rate while Inject is on")
        self.rate.valueChanged.connect(self.rate_changed)
        form.addRow("Injection rate", self.rate)
        self.readout = QLabel()
        self.readout.setWordWrap(True)
        form.addRow(self.readout)
        self.injection_readout = QLabel()
        self.injection_readout.setWordWrap(True)
        form.addRow(self.injection_readout)
        self.show_needle(None)
        self.show_injection(0.0, {}, False)

    def show_needle(self, needle: NeedlePose | None) -> None:
        """Show the needle's gauge, depth and angles (or that there is none)."""
        for name in (
            "advance",
            "withdraw",
            "steeper",
            "shallower",
            "left",
            "right",
            "remove",
            "aspirate",
            "inject",
        ):
            self.buttons[name].setEnabled(needle is not None)
        if needle is None:
            self.readout.setText("No needle. Press N to place one in plane with the probe.")
            return
        tip = needle.tip_mm
        state = f"inserted {needle.depth_mm:.1f} mm" if needle.inserted else "on the skin"
        self.readout.setText(
            f"{needle.gauge} G × {needle.length_mm:.0f} mm · {state}\n"
            f"angle {needle.angle_deg:.0f}° below the skin · heading {needle.heading_deg:.0f}°\n"
            f"tip depth {tip[2]:.1f} mm"
        )

    def show_injection(
        self, injected_ml: float, distribution_ml: dict[str, float], injecting: bool
    ) -> None:
        """Show the volume injected so far and where it went.

        Parameters
        ----------
        injected_ml : float
            Total delivered, ml.
        distribution_ml : dict of str to float
            Structure name -> ml of injectate inside it.
        injecting : bool
            Whether the Inject button shows as pressed.
        """
        button = self.buttons["inject"]
        button.blockSignals(True)
        button.setChecked(injecting)
        button.blockSignals(False)
        if injected_ml <= 0.0:
            self.injection_readout.setText("Nothing injected yet.")
            return
        parts = sorted(distribution_ml.items(), key=lambda kv: -kv[1])
        where = ", ".join(f"{name.replace('_', ' ')} {ml:.2f}" for name, ml in parts if ml >= 0.005)
        self.injection_readout.setText(
            f"Injected {injected_ml:.2f} ml" + (f": {where}" if where else "")
        )
