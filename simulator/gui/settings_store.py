"""What the application remembers between runs, through ``QSettings``.

Stored: window geometry and dock layout, the last scene, the imaging preset,
the skin opacity of the 3D view and whether labels were shown. Set
``INJECTION_SIM_SETTINGS`` to an ``.ini`` path to keep them in that file
(tests do, so they never touch the user's own settings).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from PySide6.QtCore import QByteArray, QSettings

ORGANISATION = "InjectionSimulator"
APPLICATION = "Injection simulator"
#: Bump when the dock layout changes incompatibly (old layouts are ignored).
LAYOUT_VERSION = 1


def open_settings() -> QSettings:
    """The settings store: the ``INJECTION_SIM_SETTINGS`` file, else Qt's default."""
    path = os.environ.get("INJECTION_SIM_SETTINGS")
    if path:
        return QSettings(path, QSettings.Format.IniFormat)
    return QSettings(ORGANISATION, APPLICATION)


@dataclass
class Remembered:
    """Values restored at start-up (None / defaults when never saved).

    Attributes
    ----------
    geometry, window_state : QByteArray or None
        ``QMainWindow.saveGeometry`` / ``saveState`` blobs.
    last_scene : str or None
        Scene file path.
    preset : str
        Imaging preset name.
    skin_opacity : float
        3D view skin opacity, 0..1.
    labels_visible : bool
        Structure labels overlay shown.
    """

    geometry: QByteArray | None = None
    window_state: QByteArray | None = None
    last_scene: str | None = None
    preset: str = "scene"
    skin_opacity: float = 0.25
    labels_visible: bool = False


def load_remembered(settings: QSettings) -> Remembered:
    """Read what was saved; values of the wrong type fall back to defaults."""
    r = Remembered()
    geometry = settings.value("window/geometry")
    state = settings.value("window/state")
    if isinstance(geometry, QByteArray):
        r.geometry = geometry
    if isinstance(state, QByteArray) and settings.value("window/layout_version") in (
        LAYOUT_VERSION,
        str(LAYOUT_VERSION),
    ):
        r.window_state = state
    scene = settings.value("session/last_scene")
    r.last_scene = str(scene) if scene else None
    r.preset = str(settings.value("imaging/preset", "scene") or "scene")
    try:
        r.skin_opacity = min(max(float(settings.value("view/skin_opacity", 0.25)), 0.0), 1.0)
    except (TypeError, ValueError):
        r.skin_opacity = 0.25
    r.labels_visible = str(settings.value("view/labels", "false")).lower() == "true"
    return r


def save_remembered(settings: QSettings, r: Remembered) -> None:
    """Write ``r`` and flush to disk."""
    if r.geometry is not None:
        settings.setValue("window/geometry", r.geometry)
    if r.window_state is not None:
        settings.setValue("window/state", r.window_state)
        settings.setValue("window/layout_version", LAYOUT_VERSION)
    if r.last_scene:
        settings.setValue("session/last_scene", r.last_scene)
    settings.setValue("imaging/preset", r.preset)
    settings.setValue("view/skin_opacity", float(r.skin_opacity))
    settings.setValue("view/labels", "true" if r.labels_visible else "false")
    settings.sync()
