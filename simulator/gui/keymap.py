"""Every keyboard shortcut of the main window, in one table.

The same table drives the key handling and the help overlay, so the help
always tells the truth. Holding Shift makes a probe or needle step coarse,
holding Ctrl makes it fine (see ``simulator.probe_control.STEPS``).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt


@dataclass(frozen=True)
class Binding:
    """One shortcut.

    Attributes
    ----------
    keys : tuple of Qt.Key
        Keys that trigger it (any of them), without modifiers.
    label : str
        How the keys are written in the help.
    action : str
        Name of the window action (``MainWindow.do_action``).
    amount : float
        Signed amount in steps (probe/needle) or units of the action.
    group : str
        Help section.
    text : str
        What it does, for the help.
    stepped : bool
        Shift/Ctrl scale it (coarse/fine).
    """

    keys: tuple[Qt.Key, ...]
    label: str
    action: str
    amount: float
    group: str
    text: str
    stepped: bool = False


K = Qt.Key
#: The shortcuts, in help order.
BINDINGS: tuple[Binding, ...] = (
    Binding((K.Key_Left,), "←", "slide_along", -1, "Probe", "slide toward the far end", True),
    Binding((K.Key_Right,), "→", "slide_along", +1, "Probe", "slide toward the notch", True),
    Binding((K.Key_Up,), "↑", "slide_across", +1, "Probe", "slide forward (elevation)", True),
    Binding((K.Key_Down,), "↓", "slide_across", -1, "Probe", "slide back (elevation)", True),
    Binding((K.Key_Comma,), ",", "rotate", -1, "Probe", "rotate anticlockwise", True),
    Binding((K.Key_Period,), ".", "rotate", +1, "Probe", "rotate clockwise", True),
    Binding((K.Key_BracketLeft,), "[", "tilt", -1, "Probe", "tilt (fan) back", True),
    Binding((K.Key_BracketRight,), "]", "tilt", +1, "Probe", "tilt (fan) forward", True),
    Binding((K.Key_PageUp,), "PgUp", "rock", +1, "Probe", "rock (heel-toe) to the notch", True),
    Binding((K.Key_PageDown,), "PgDn", "rock", -1, "Probe", "rock (heel-toe) away", True),
    Binding((K.Key_Home,), "Home", "reset_probe", 0, "Probe", "back to the scene's start pose"),
    Binding((K.Key_N,), "N", "place_needle", 0, "Needle", "place in plane at the probe end"),
    Binding((K.Key_W,), "W", "advance", +1, "Needle", "advance", True),
    Binding((K.Key_S,), "S", "advance", -1, "Needle", "withdraw", True),
    Binding((K.Key_E,), "E", "steer_angle", +1, "Needle", "steeper", True),
    Binding((K.Key_Q,), "Q", "steer_angle", -1, "Needle", "shallower", True),
    Binding((K.Key_A,), "A", "steer_heading", +1, "Needle", "redirect left", True),
    Binding((K.Key_D,), "D", "steer_heading", -1, "Needle", "redirect right", True),
    Binding((K.Key_Delete, K.Key_Backspace), "Del", "remove_needle", 0, "Needle", "remove"),
    Binding((K.Key_R,), "R", "aspirate", 0, "Needle", "aspirate (blood flash in a vessel)"),
    Binding((K.Key_I,), "I", "inject", 0, "Needle", "start / stop injecting"),
    Binding((K.Key_Plus, K.Key_Equal), "+", "gain", +1, "Image", "gain up"),
    Binding((K.Key_Minus,), "−", "gain", -1, "Image", "gain down"),
    Binding((K.Key_X,), "X", "depth", +1, "Image", "deeper"),
    Binding((K.Key_Z,), "Z", "depth", -1, "Image", "shallower"),
    Binding((K.Key_B,), "B", "focus", +1, "Image", "focus deeper"),
    Binding((K.Key_V,), "V", "focus", -1, "Image", "focus shallower"),
    Binding((K.Key_Space,), "Space", "freeze", 0, "Image", "freeze / unfreeze (← → scroll cine)"),
    Binding((K.Key_L,), "L", "labels", 0, "Image", "structure labels on/off"),
    Binding((K.Key_T,), "T", "target", 0, "Image", "target highlight and notes on/off"),
    Binding((K.Key_C,), "C", "calipers", 0, "Image", "calipers (click two points)"),
    Binding((K.Key_P,), "P", "save_image", 0, "Image", "save the screen as PNG"),
    Binding((K.Key_1,), "1", "camera", 0, "3D view", "probe view"),
    Binding((K.Key_2,), "2", "camera", 1, "3D view", "top view"),
    Binding((K.Key_3,), "3", "camera", 2, "3D view", "side view"),
    Binding((K.Key_F9,), "F9", "attempt", 0, "Attempt", "start / finish the scored attempt"),
    Binding((K.Key_G,), "G", "grade", 0, "Attempt", "the whole grade of the last attempt"),
    Binding((K.Key_F5,), "F5", "presentation", 0, "Window", "presentation window on/off"),
    Binding((K.Key_F6,), "F6", "presentation_3d", 0, "Window", "3D view on the presentation"),
    Binding((K.Key_F11,), "F11", "fullscreen", 0, "Window", "full screen on/off"),
    Binding((K.Key_F1, K.Key_H, K.Key_Question), "F1 / H", "help", 0, "Window", "this help"),
)
#: Mouse gestures, for the help.
MOUSE_HELP: tuple[tuple[str, str], ...] = (
    ("drag on the image", "slide the probe (left-right along the array, up-down across)"),
    ("wheel on the image", "rotate; Shift+wheel tilt; Ctrl+wheel rock"),
    ("Ctrl+click in 3D view", "put the probe there; Shift+Ctrl+click: needle entry there"),
    ("drag in 3D view", "orbit the camera; wheel zoom; middle drag pan"),
)
#: Modifier help line.
STEP_HELP = "Shift: coarse steps · Ctrl: fine steps"

_BY_KEY: dict[int, Binding] = {int(k): b for b in BINDINGS for k in b.keys}


def binding_for(key: int) -> Binding | None:
    """The binding of a key code (modifiers ignored), or None."""
    return _BY_KEY.get(int(key))


def step_kind(modifiers: Qt.KeyboardModifier) -> str:
    """``"coarse"`` with Shift, ``"fine"`` with Ctrl, else ``"normal"``."""
    if modifiers & Qt.KeyboardModifier.ShiftModifier:
        return "coarse"
    if modifiers & Qt.KeyboardModifier.ControlModifier:
        return "fine"
    return "normal"


def help_groups() -> dict[str, list[tuple[str, str]]]:
    """Help text by group: ``{group: [(keys, description), ...]}`` in table order."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for b in BINDINGS:
        groups.setdefault(b.group, []).append((b.label, b.text))
    groups["Mouse"] = list(MOUSE_HELP)
    return groups
