"""The B-mode viewer window (pytest-qt, real X server via pytest-xvfb)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from PySide6.QtCore import Qt

from simulator.gui.image_view import depth_ticks
from simulator.gui.viewer import WINDOW_TITLE, ViewerWindow


@pytest.fixture(scope="module")
def scene_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One temporary scene cache for the module (each scene voxelised once)."""
    cache = tmp_path_factory.mktemp("scene_cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INJECTION_SIM_CACHE", str(cache))
        yield cache


@pytest.fixture
def window(qtbot, scene_cache: Path) -> ViewerWindow:
    """A shown viewer on the default scene, rendering synchronously."""
    win = ViewerWindow(synchronous=True)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return win


def test_opens_default_scene_with_an_image(window: ViewerWindow) -> None:
    assert window.windowTitle() == WINDOW_TITLE
    assert window.scene is not None and window.scene.spec.name == "demo_msk"
    frame = window.frame
    assert frame is not None
    assert frame.image.std() > 0.05
    assert "demo_msk" in window.status_text()
    assert "MHz" in window.status_text() and "ms/frame" in window.status_text()
    rect = window.image_view.image_rect()
    g = frame.geometry
    # square millimetre pixels: the drawn aspect is the image's
    assert rect.width() / rect.height() == pytest.approx(g.cols / g.rows, rel=1e-6)


def test_gain_control_changes_brightness(window: ViewerWindow) -> None:
    before = float(window.frame.image.mean())
    window.imaging_panel.gain.setValue(window.settings.gain_db + 10.0)
    assert window.settings.gain_db == pytest.approx(10.0)
    brighter = float(window.frame.image.mean())
    assert brighter > before + 0.02
    window.imaging_panel.gain.setValue(-10.0)
    assert float(window.frame.image.mean()) < before - 0.02


def test_right_arrow_moves_probe_and_rerenders(qtbot, window: ViewerWindow) -> None:
    x0 = window.pose.position_mm[0]
    old = window.frame
    window.image_view.setFocus()
    qtbot.keyClick(window.image_view, Qt.Key.Key_Right)
    assert window.pose.position_mm[0] == pytest.approx(x0 + 0.5)
    assert window.pose_panel.x.value() == pytest.approx(x0 + 0.5)
    assert window.frame is not old
    assert window.frame.probe2world[0, 3] == pytest.approx(x0 + 0.5)
    qtbot.keyClick(window.image_view, Qt.Key.Key_BracketRight)
    assert window.pose.tilt_deg == pytest.approx(1.0)


def test_invalid_setting_reports_and_keeps_frame(window: ViewerWindow) -> None:
    old = window.frame
    good = window.settings
    assert not window.set_settings(depth_mm=window.probe.max_depth_mm + 100.0)
    assert "depth_mm" in window.status_text()
    assert window.frame is old
    assert window.settings == good
    assert window.imaging_panel.depth.value() == pytest.approx(good.depth_mm)
    # the next good frame clears the message
    assert window.set_settings(gain_db=3.0)
    assert "depth_mm" not in window.status_text()


def test_switch_scene(window: ViewerWindow) -> None:
    i = window.scene_combo.findText("phantom_cyst")
    assert i >= 0
    window.scene_combo.setCurrentIndex(i)
    assert window.scene.spec.name == "phantom_cyst"
    assert window.frame is not None and window.frame.image.std() > 0.05
    assert window.settings == window.scene.spec.imaging
    assert "phantom_cyst" in window.status_text()


def test_background_worker_delivers_latest_frame(qtbot, scene_cache: Path) -> None:
    win = ViewerWindow(synchronous=False)
    qtbot.addWidget(win)
    qtbot.waitUntil(lambda: win.frame is not None, timeout=10_000)
    for _ in range(5):
        win.move_probe(0.5, 0.0)
    x_last = win.pose.position_mm[0]
    qtbot.waitUntil(
        lambda: win.frame is not None and win.frame.probe2world[0, 3] == pytest.approx(x_last),
        timeout=10_000,
    )
    win.close()


def test_depth_ticks_are_whole_millimetres() -> None:
    ticks = depth_ticks(-0.04, 40.04, 20.0)
    depths = [z for z, _ in ticks]
    assert depths[0] == 0.0 and depths[-1] == 40.0 and len(depths) == 41
    labels = {z: lab for z, lab in ticks if lab is not None}
    assert labels == {0.0: "0", 10.0: "1", 20.0: "2", 30.0: "3", 40.0: "4"}
    assert np.all(np.diff([z for z, _ in depth_ticks(0.0, 60.0, 3.0)]) == 5.0)
