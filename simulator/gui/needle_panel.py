"""Side-panel needle controls: place, advance, withdraw, redirect, remove."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFormLayout, QGridLayout, QGroupBox, QLabel, QPushButton, QWidget

from simulator.needle_pose import NeedlePose


class NeedlePanel(QGroupBox):
    """Buttons that send needle intents, and a readout of the needle.

    Signals
    -------
    action(str, float)
        A window action name of ``simulator.gui.keymap`` (``place_needle``,
        ``advance``, ``steer_angle``, ``steer_heading``, ``remove_needle``)
        and its signed amount in steps.
    """

    action = Signal(str, float)

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
        self.readout = QLabel()
        self.readout.setWordWrap(True)
        form.addRow(self.readout)
        self.show_needle(None)

    def show_needle(self, needle: NeedlePose | None) -> None:
        """Show the needle's gauge, depth and angles (or that there is none)."""
        for name in ("advance", "withdraw", "steeper", "shallower", "left", "right", "remove"):
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
