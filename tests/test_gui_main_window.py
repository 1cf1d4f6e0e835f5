"""The main window on a real X server (pytest-qt, pytest-xvfb), real VTK widget."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from PySide6.QtCore import Qt

from simulator.gui.keymap import BINDINGS
from simulator.gui.main_window import WINDOW_TITLE, MainWindow
from simulator.image_labels import label_image, section_of
from tests.gui_helpers import dispose


@pytest.fixture(scope="module")
def scene_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One scene cache and one settings file for the module."""
    root = tmp_path_factory.mktemp("gui")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INJECTION_SIM_CACHE", str(root / "cache"))
        mp.setenv("INJECTION_SIM_SETTINGS", str(root / "settings.ini"))
        yield root


@pytest.fixture
def window(qtbot, scene_cache: Path) -> Iterator[MainWindow]:
    """A shown main window on the default scene, loading and rendering synchronously."""
    win = MainWindow(scene="demo_msk", synchronous=True, remember=False)
    win.show()
    qtbot.waitExposed(win)
    yield win
    dispose(win)


def _key(qtbot, win: MainWindow, key: Qt.Key, mod=Qt.KeyboardModifier.NoModifier) -> None:
    qtbot.keyClick(win.image_view, key, mod)


def _probe_actor_centre(win: MainWindow) -> np.ndarray:
    m = win.anatomy_view.probe_matrix()
    return m[:3, 3].copy()


def test_opens_default_scene_with_an_image(window: MainWindow) -> None:
    assert window.windowTitle().startswith(WINDOW_TITLE)
    assert window.scene is not None and window.scene.spec.name == "demo_msk", window.status_text()
    frame = window.frame
    assert frame is not None and frame.image.std() > 0.05
    text = window.status_text()
    assert "MHz" in text and "Depth" in text and "Gain" in text and "fps" in text
    rect = window.image_view.image_rect()
    g = frame.geometry
    assert rect.width() / rect.height() == pytest.approx(g.cols / g.rows, rel=1e-6)
    # the 3D view shows the scene: one actor per structure, and the image plane in place
    assert window.anatomy_view.n_structure_actors() == len(window.scene.spec.structures)


def test_keyboard_moves_probe_image_and_3d_probe(qtbot, window: MainWindow) -> None:
    s = window.session
    x0 = s.handle.x_mm
    old = window.frame
    c0 = _probe_actor_centre(window)
    _key(qtbot, window, Qt.Key.Key_Right)
    assert s.handle.x_mm == pytest.approx(x0 + 1.0)  # normal step along the array (yaw 0: +x)
    assert window.frame is not old
    assert not np.array_equal(window.frame.image, old.image)
    assert window.frame.probe2world[0, 3] == pytest.approx(x0 + 1.0)
    np.testing.assert_allclose(_probe_actor_centre(window) - c0, [1.0, 0.0, 0.0], atol=1e-6)
    _key(qtbot, window, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)  # coarse
    assert s.handle.x_mm == pytest.approx(x0 + 6.0)
    _key(qtbot, window, Qt.Key.Key_Left, Qt.KeyboardModifier.ControlModifier)  # fine
    assert s.handle.x_mm == pytest.approx(x0 + 5.8)
    _key(qtbot, window, Qt.Key.Key_BracketRight)
    assert s.handle.tilt_deg == pytest.approx(2.0)
    _key(qtbot, window, Qt.Key.Key_Period)
    assert s.handle.yaw_deg == pytest.approx(2.0)
    _key(qtbot, window, Qt.Key.Key_PageUp)
    assert s.handle.rock_deg == pytest.approx(2.0)
    # the probe face stays on the skin
    assert window.frame.probe2world[2, 3] == pytest.approx(0.0, abs=0.05)
    _key(qtbot, window, Qt.Key.Key_Home)
    assert s.handle == s.start_handle()


def _structure_on_screen(window: MainWindow, name: str) -> tuple[float, float, float]:
    """Widget y of a structure's centroid, its on-screen size (sqrt of area) and px per mm."""
    frame = window.frame
    spec = window.scene.spec
    label = [s.name for s in spec.structures].index(name) + 1
    labels = label_image(window.scene.volume, frame.geometry, frame.probe2world, frame.inside)
    sec = section_of(labels, frame.geometry, label)
    view = window.image_view
    centre = view.image_mm_to_widget(*sec.centroid_mm)
    px_per_mm = (
        view.image_mm_to_widget(0.0, 10.0).y() - view.image_mm_to_widget(0.0, 0.0).y()
    ) / 10
    return centre.y(), px_per_mm * float(np.sqrt(sec.area_mm2)), px_per_mm


def test_deeper_depth_draws_the_same_structure_higher_and_smaller(
    qtbot, window: MainWindow
) -> None:
    # a landscape ultrasound screen (side panels closed), so the image fills its height
    for dock in (window.dock_controls, window.dock_3d, window.dock_procedure, window.dock_events):
        dock.hide()
    window.resize(1600, 1000)
    qtbot.waitUntil(lambda: window.image_view.width() > 1.3 * window.image_view.height())
    # the tendon lies wholly within 35 mm: the same section at both depths
    assert window.set_settings(depth_mm=35.0)
    y20, size20, scale20 = _structure_on_screen(window, "tendon")
    assert window.set_settings(depth_mm=60.0)
    y60, size60, scale60 = _structure_on_screen(window, "tendon")
    assert y60 < y20 - 20
    assert scale60 == pytest.approx(scale20 * 35.0 / 60.0, rel=0.05)
    assert size60 / size20 == pytest.approx(scale60 / scale20, rel=0.05)


def test_gain_and_tgc_change_brightness_where_they_should(window: MainWindow) -> None:
    before = window.frame.image
    window.imaging_panel.gain.setValue(window.session.settings.gain_db + 10.0)
    assert float(window.frame.image.mean()) > float(before.mean()) + 0.02
    window.imaging_panel.gain.setValue(0.0)
    base = window.frame.image
    rows = base.shape[0]
    window.imaging_panel.tgc[-1].setValue(15)  # deepest band only
    tgc = window.frame.image
    deep = slice(int(0.9 * rows), rows)
    shallow = slice(0, int(0.4 * rows))
    assert float(tgc[deep].mean()) > float(base[deep].mean()) + 0.02
    assert float(tgc[shallow].mean()) == pytest.approx(float(base[shallow].mean()), abs=0.005)


def test_invalid_setting_reports_and_keeps_frame(window: MainWindow) -> None:
    old = window.frame
    good = window.session.settings
    assert not window.set_settings(depth_mm=window.session.probe.max_depth_mm + 100.0)
    assert "depth_mm" in window.status_text()
    assert window.frame is old and window.session.settings == good
    assert window.imaging_panel.depth.value() == pytest.approx(good.depth_mm)
    assert window.set_settings(gain_db=3.0)
    assert "depth_mm" not in window.status_text()


def test_presets_and_probe_choice(window: MainWindow) -> None:
    window.apply_preset("deep_joint")
    deep = window.session.settings
    window.apply_preset("nerve")
    nerve = window.session.settings
    assert deep.depth_mm > nerve.depth_mm and deep.freq_mhz < nerve.freq_mhz
    assert window.frame.settings == nerve
    assert window.imaging_panel.preset.currentData() == "nerve"
    assert window.imaging_panel.probe.count() == 2
    window.choose_probe("linear_50")
    assert window.session.probe.name == "linear_50"
    assert window.frame.geometry.cols * window.frame.geometry.pixel_mm > 45.0  # wider image
    window.choose_probe("curvilinear_60")  # not offered by this scene
    assert "not offered" in window.status_text()
    assert window.session.probe.name == "linear_50"


def test_freeze_stops_updates_and_cine_scrolls(qtbot, window: MainWindow) -> None:
    for _ in range(4):
        _key(qtbot, window, Qt.Key.Key_Up)
    assert len(window.cine) >= 5
    _key(qtbot, window, Qt.Key.Key_Space)
    assert window.frozen
    frozen = window.frame
    _key(qtbot, window, Qt.Key.Key_Down)  # the probe moves; the image does not
    assert window.frame is frozen
    _key(qtbot, window, Qt.Key.Key_Left)  # cine back one frame
    assert window.frame is not frozen
    assert window.frame.probe2world[1, 3] == pytest.approx(frozen.probe2world[1, 3] - 1.0)
    _key(qtbot, window, Qt.Key.Key_Right)
    assert window.frame is frozen
    _key(qtbot, window, Qt.Key.Key_Space)
    assert not window.frozen and window.frame is not frozen


def test_calipers_measure_a_known_distance(qtbot, window: MainWindow) -> None:
    window.action_calipers.trigger()
    view = window.image_view
    for x_mm, z_mm in ((-5.0, 10.0), (7.0, 19.0)):
        pos = view.image_mm_to_widget(x_mm, z_mm).toPoint()
        qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=pos)
    assert view.caliper_distance_mm == pytest.approx(15.0, abs=0.3)
    assert "15." in window.statusBar().currentMessage()


def test_labels_overlay_toggle(qtbot, window: MainWindow) -> None:
    assert not window.labels_visible
    _key(qtbot, window, Qt.Key.Key_L)
    assert window.labels_visible and window.action_labels.isChecked()
    labels = window.image_view.labels
    frame = window.frame
    assert labels is not None
    # computed on every second pixel of the frame's grid, on the worker thread
    g = frame.geometry
    assert labels.shape == (-(-g.rows // 2), -(-g.cols // 2))
    full = label_image(window.scene.volume, g, frame.probe2world, frame.inside)
    agree = np.mean(labels == full[::2, ::2])
    assert agree > 0.99
    assert len(set(np.unique(labels)) - {0}) >= 5
    _key(qtbot, window, Qt.Key.Key_L)
    assert not window.labels_visible and not window.image_view.labels_visible


def test_scene_picker_loads_another_scene(window: MainWindow) -> None:
    window.procedure_panel.scene_chosen.emit(str(_scene_path("carpal_tunnel_median")))
    assert window.scene.spec.name == "carpal_tunnel_median"
    assert window.frame is not None and window.frame.image.std() > 0.05
    assert "carpal" in window.windowTitle().lower()
    assert "Steps" in window.procedure_panel.teaching_html()
    assert window.anatomy_view.n_structure_actors() == len(window.scene.spec.structures)


def test_broken_scene_keeps_the_current_one(tmp_path: Path, window: MainWindow) -> None:
    bad = tmp_path / "broken.toml"
    bad.write_text("[scene]\nname = 'broken'\n")
    window.open_scene(bad)
    assert window.scene.spec.name == "demo_msk"
    assert "broken.toml" in window.status_text()


def test_needle_place_advance_redirect(qtbot, window: MainWindow) -> None:
    _key(qtbot, window, Qt.Key.Key_N)
    needle = window.session.needle
    assert needle is not None and not needle.inserted
    assert needle.entry_mm[2] == pytest.approx(0.0, abs=0.05)
    for _ in range(10):
        _key(qtbot, window, Qt.Key.Key_W)
    needle = window.session.needle
    assert needle.depth_mm == pytest.approx(10.0)
    tip = window.anatomy_view.needle_tip_mm()
    np.testing.assert_allclose(tip, needle.tip_mm, atol=1e-6)
    angle = needle.angle_deg
    _key(qtbot, window, Qt.Key.Key_E)
    assert window.session.needle.angle_deg == pytest.approx(angle + 2.0)
    _key(qtbot, window, Qt.Key.Key_Delete)
    assert window.session.needle is None and window.anatomy_view.needle_tip_mm() is None


def test_needle_to_the_target_then_aspirate_and_inject(qtbot, window: MainWindow) -> None:
    """N, W to the effusion, R aspirates fluid, I injects at the panel's rate until I again."""
    _key(qtbot, window, Qt.Key.Key_N)
    kin = window.session.kinematics
    for _ in range(45):
        _key(qtbot, window, Qt.Key.Key_W)
        if kin.in_target:
            break
    assert kin.structure_at_tip == "effusion"
    rows = window.event_panel.rows()
    assert rows[0].split(" · ")[1] == "target reached"
    assert any("skin puncture" in r for r in rows)
    _key(qtbot, window, Qt.Key.Key_R)
    assert "Fluid aspirated" in window.status_text()
    assert "aspiration" in window.event_panel.rows()[0]
    window.needle_panel.rate.setValue(1.0)
    _key(qtbot, window, Qt.Key.Key_I)
    assert window.injection_control.injecting
    assert window.needle_panel.buttons["inject"].isChecked()
    qtbot.waitUntil(lambda: window.session.injection.injected_ml >= 0.3, timeout=5000)
    _key(qtbot, window, Qt.Key.Key_I)
    assert not window.injection_control.injecting
    injected = window.session.injection.injected_ml
    assert injected < 0.6  # about 1 ml/s for the time it was on
    assert window.anatomy_view.injectate_surface_area_mm2() > 10.0
    assert f"Injected {injected:.2f} ml" in window.needle_panel.injection_readout.text()
    assert any(" · injection · " in r for r in window.event_panel.rows())


def test_presentation_window_mirrors_the_image(qtbot, window: MainWindow) -> None:
    _key(qtbot, window, Qt.Key.Key_F5)
    pres = window.presentation
    assert pres is not None and pres.isVisible()
    qtbot.waitExposed(pres)
    _key(qtbot, window, Qt.Key.Key_Right)
    assert pres.image_view.frame is window.frame
    assert pres.image_view.text_scale >= 2.0
    qtbot.keyClick(pres, Qt.Key.Key_F6)  # keys on the projector window reach the main one
    assert pres.anatomy_view is not None
    assert pres.anatomy_view.n_structure_actors() == len(window.scene.spec.structures)
    _key(qtbot, window, Qt.Key.Key_F5)
    assert window.presentation is None


def test_help_lists_every_shortcut(qtbot, window: MainWindow) -> None:
    _key(qtbot, window, Qt.Key.Key_F1)
    assert window.help_overlay.isVisible()
    text = "\n".join(window.help_overlay.lines())
    for b in BINDINGS:
        assert b.text in text
    _key(qtbot, window, Qt.Key.Key_Escape)
    assert not window.help_overlay.isVisible()


def test_save_image_writes_a_png(tmp_path: Path, window: MainWindow) -> None:
    out = window.save_image(tmp_path / "shot.png")
    assert out is not None and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert window.save_image(tmp_path / "missing" / "dir" / "x.png") is None
    assert "x.png" in window.status_text()


def test_settings_are_remembered(qtbot, scene_cache: Path) -> None:
    win = MainWindow(scene="phantom_cyst", synchronous=True)
    win.show()
    qtbot.waitExposed(win)
    win.apply_preset("nerve")
    win.skin_slider.setValue(60)
    dispose(win)
    again = MainWindow(synchronous=True)
    try:
        assert again.scene.spec.name == "phantom_cyst"
        assert again.session.preset == "nerve"
        assert again.anatomy_view.skin_opacity == pytest.approx(0.6)
    finally:
        dispose(again)


def test_a_vanished_last_scene_falls_back_to_the_default(
    qtbot, scene_cache: Path, tmp_path: Path
) -> None:
    gone = tmp_path / "gone.toml"
    win = MainWindow(scene=gone, synchronous=True, remember=False)
    try:
        assert win.scene is not None and win.scene.spec.name == "demo_msk"
        assert "gone.toml" in win.status_text()
    finally:
        dispose(win)


def test_background_threads_deliver_the_latest_pose(qtbot, scene_cache: Path) -> None:
    win = MainWindow(scene="demo_msk", synchronous=False, remember=False)
    win.show()
    qtbot.waitUntil(lambda: win.frame is not None, timeout=20_000)
    for _ in range(5):
        win.do_action("slide_along", 1.0)
    x_last = win.session.handle.x_mm
    qtbot.waitUntil(
        lambda: win.frame is not None and win.frame.probe2world[0, 3] == pytest.approx(x_last),
        timeout=10_000,
    )
    dispose(win)


def _scene_path(name: str) -> Path:
    from scenes.cache import find_scene

    return find_scene(name)
