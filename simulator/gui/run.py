"""``run_app``: the desktop entry point of ``python main.py``."""

from __future__ import annotations

import argparse
import sys

from PySide6.QtWidgets import QApplication

from simulator.gui.main_window import MainWindow
from simulator.gui.settings_store import APPLICATION, ORGANISATION
from simulator.gui.theme import apply_dark_theme


def run_app(args: argparse.Namespace | None = None) -> int:
    """Run the desktop application until its window closes.

    Parameters
    ----------
    args : argparse.Namespace, optional
        Parsed command line of ``main.py``: ``app_scene`` (a scene name or
        any ``.toml`` file) is the scene to open; without it the last scene
        used (or the default scene) opens.

    Returns
    -------
    int
        Exit status of the Qt event loop.

    Raises
    ------
    scenes.SceneError
        When ``app_scene`` names a missing or invalid scene file (before any
        window opens).
    """
    scene = getattr(args, "app_scene", None)
    if scene:
        from scenes import load_scene_spec
        from scenes.cache import find_scene

        load_scene_spec(find_scene(scene))  # a broken file: error before any window
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        app = QApplication(sys.argv[:1])
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    apply_dark_theme(app)
    window = MainWindow(scene=scene)
    window.show()
    return int(app.exec())
