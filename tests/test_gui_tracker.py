"""Tracking in the window (pytest-qt, Xvfb): the connect dialog, the DIY emulator, calibration."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from PySide6.QtCore import QCoreApplication, QEvent

from hardware.ndi_emulator import NdiEmulator
from hardware.sources import ManualSource
from simulator.gui.main_window import MainWindow
from simulator.gui.tracker_dialog import (
    TrackerDialog,
    offset_of_pose,
    open_tracker_dialog,
    pose_from_offset,
)
from simulator.gui.tracking_control import attach_tracking, tracking_of
from tests.gui_helpers import dispose

SCENE = "knee_suprapatellar_recess"


@pytest.fixture(scope="module")
def gui_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Scene cache, settings file, records and device profiles in a temporary folder."""
    root = tmp_path_factory.mktemp("gui_tracker")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INJECTION_SIM_CACHE", str(root / "cache"))
        mp.setenv("INJECTION_SIM_SETTINGS", str(root / "settings.ini"))
        mp.setenv("INJECTION_SIM_DEVICES", str(root / "devices"))
        mp.setenv("INJECTION_SIM_DB", str(root / "records.sqlite"))
        yield root


@pytest.fixture
def window(qtbot, gui_env: Path) -> Iterator[MainWindow]:
    win = MainWindow(scene=SCENE, synchronous=True, remember=False)
    win.show()
    qtbot.waitExposed(win)
    qtbot.waitUntil(lambda: win.session is not None and win.frame is not None, timeout=20_000)
    yield win
    dialog = win.findChild(TrackerDialog, "tracker_dialog")
    if dialog is not None:
        dialog.shutdown()
    control = tracking_of(win)
    if control is not None:
        control.close()
    dispose(win)


def _rot_z(deg: float) -> np.ndarray:
    m = np.eye(4)
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    m[:2, :2] = [[c, -s], [s, c]]
    return m


def test_dialog_emulator_connect_follow_unplug_replug(qtbot, window: MainWindow) -> None:
    dialog = open_tracker_dialog(window)
    protocols = [dialog.protocol_combo.itemData(i) for i in range(dialog.protocol_combo.count())]
    assert protocols[:3] == ["diy", "ndi", "igtl"]
    dialog.set_protocol("diy")
    url = dialog.start_emulator(rate_hz=100.0)
    assert url and dialog.url_edit.text() == url and os.path.exists(url)
    control = dialog.connect_tracker()
    assert control is not None and tracking_of(window) is control
    session = window.session
    start = session.probe2world()
    qtbot.waitUntil(lambda: control.samples_applied >= 5, timeout=8000)
    # the window's probe follows the emulator, and frames are rendered from its pose
    qtbot.waitUntil(lambda: not np.allclose(session.probe2world(), start, atol=1e-3), timeout=3000)
    first = window.frame
    qtbot.waitUntil(lambda: window.frame is not first, timeout=3000)
    np.testing.assert_allclose(window.frame.probe2world, session.probe2world(), atol=2.0)
    qtbot.waitUntil(lambda: "Hz" in control.label.text(), timeout=3000)
    assert control.label.text().startswith("Tracking: DIY ")
    assert 50 <= control.tracker.rate_hz() <= 150
    dialog.refresh_status()
    assert dialog.status_label.text().startswith("Tracking")
    rows = {
        dialog.tools_table.item(r, 0).text(): dialog.tools_table.item(r, 2).text()
        for r in range(dialog.tools_table.rowCount())
    }
    assert rows["probe"].startswith("visible") and rows["needle"].startswith("visible")
    dialog.grab().save(str(Path(os.environ["INJECTION_SIM_DEVICES"]).parent / "dialog.png"))

    # unplug: "disconnected", the pose frozen
    dialog.emulator.unplug()
    qtbot.waitUntil(lambda: "disconnected" in control.label.text(), timeout=4000)
    frozen = session.probe2world()
    qtbot.wait(400)
    np.testing.assert_array_equal(session.probe2world(), frozen)
    assert control.last.stale
    dialog.refresh_status()
    assert dialog.status_label.text().startswith("Disconnected")

    # replug: tracking resumes and the probe moves again
    dialog.emulator.replug()
    qtbot.waitUntil(lambda: "Hz" in control.label.text(), timeout=8000)
    qtbot.waitUntil(lambda: not np.allclose(session.probe2world(), frozen, atol=1e-3), timeout=3000)
    dialog.disconnect_tracker()
    assert tracking_of(window) is None
    assert dialog.connect_button.isEnabled() and not dialog.disconnect_button.isEnabled()


def test_tracking_control_drives_the_window_and_reports_a_missing_needle(
    qtbot, window: MainWindow
) -> None:
    source = ManualSource()
    control = attach_tracking(window, source, protocol="diy")
    session = window.session
    pose = session.probe2world() @ _rot_z(20.0)
    pose[0, 3] += 4.0
    source.set_pose("probe", pose)
    source.set_pose("needle", None)
    source.clear("needle")
    control.poll()
    np.testing.assert_allclose(session.probe2world(), pose, atol=1e-9)
    np.testing.assert_allclose(window.frame.probe2world, pose, atol=1e-9)  # rendered from it
    np.testing.assert_allclose(window.anatomy_view.probe_matrix(), pose, atol=1e-6)
    control._show_status()
    assert control.label.text() == "Tracking: DIY 0 Hz — needle missing — pose held"
    # the freeze button toggles the window's freeze once per press
    source.set_pose("probe", pose, buttons={"freeze"})
    control.poll()
    assert window.frozen
    source.set_pose("probe", pose)
    control.poll()
    assert window.frozen
    source.set_pose("probe", pose, buttons={"freeze"})
    control.poll()
    assert not window.frozen
    control.close()
    assert tracking_of(window) is None


def test_dialog_calibrates_registers_and_saves_the_profile(
    qtbot, window: MainWindow, gui_env: Path
) -> None:
    dialog = open_tracker_dialog(window)
    # pivot: a needle sensor 120 mm above its tip, tilted about the divot in every direction
    tip = np.array([1.5, -2.0, 120.0])
    divot = np.array([10.0, 20.0, 30.0])
    rng = np.random.default_rng(3)
    poses = []
    for _ in range(40):
        axis = rng.normal(size=3)
        axis /= np.linalg.norm(axis)
        a = math.radians(rng.uniform(5.0, 30.0))
        k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
        r = np.eye(3) + math.sin(a) * k + (1 - math.cos(a)) * k @ k
        m = np.eye(4)
        m[:3, :3] = r
        m[:3, 3] = divot - r @ tip
        poses.append(m)
    result = dialog.finish_pivot(poses)
    assert result is not None
    np.testing.assert_allclose(result.tip_in_tool_mm, tip, atol=1e-6)
    assert "residual 0.00 mm" in dialog.pivot_label.text()
    np.testing.assert_allclose(dialog.calibration().needle_tip2tool[:3, 3], tip, atol=1e-6)

    # registration: touch the 4 landmarks of a tracker placed at a known transform
    assert dialog.landmark_table.rowCount() == 4
    truth = _rot_z(30.0)
    truth[:3, 3] = (100.0, -50.0, 20.0)
    inv = np.linalg.inv(truth)
    assert dialog.register() is None and "at least 3" in dialog.message_label.text()
    for row, (_, scene_pt) in enumerate(dialog._landmarks):
        assert dialog.touch_landmark(row, point_mm=inv[:3, :3] @ scene_pt + inv[:3, 3])
    reg = dialog.register()
    assert reg is not None and reg.fre_mm < 1e-6
    np.testing.assert_allclose(dialog.calibration().tracker2world, truth, atol=1e-6)
    assert dialog.fre_label.text().startswith("FRE 0.00 mm")

    # probe face offset
    assert not dialog.set_probe_offset("1 2 three")
    assert "expected 6 numbers" in dialog.message_label.text()
    assert dialog.set_probe_offset("0 0 -60 0 0 90")
    face2sensor = np.linalg.inv(dialog.calibration().probe_sensor2face)
    np.testing.assert_allclose(face2sensor, pose_from_offset([0, 0, -60, 0, 0, 90]), atol=1e-12)
    np.testing.assert_allclose(offset_of_pose(face2sensor), [0, 0, -60, 0, 0, 90], atol=1e-9)

    # save, then load into a fresh dialog
    dialog.url_edit.setText("/dev/ttyUSB0")
    dialog.profile_name_edit.setText("bench-rig")
    path = dialog.save_profile()
    assert path == gui_env / "devices" / "bench-rig.json" and path.exists()
    saved = dialog.calibration()
    dialog.shutdown()
    dialog.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    fresh = TrackerDialog(window)
    assert fresh.profile_combo.findText("bench-rig") >= 0
    assert fresh.load_profile("bench-rig")
    loaded = fresh.calibration()
    for name in ("tracker2world", "probe_sensor2face", "needle_tip2tool"):
        np.testing.assert_allclose(getattr(loaded, name), getattr(saved, name), atol=1e-9)
    assert fresh.url_edit.text() == "/dev/ttyUSB0"
    assert "FRE 0.00 mm" in fresh.fre_label.text()
    fresh.shutdown()


def test_connect_refuses_an_empty_url_and_a_bad_baud(qtbot, window: MainWindow) -> None:
    dialog = open_tracker_dialog(window)
    dialog.url_edit.setText("")
    assert dialog.connect_tracker() is None
    assert "type a URL" in dialog.message_label.text()
    dialog.url_edit.setText("loop://")
    dialog.baud_combo.setCurrentText("fast")
    assert dialog.connect_tracker() is None
    assert "baud rate 'fast'" in dialog.message_label.text()
    assert tracking_of(window) is None


def test_pivot_recording_and_touches_read_the_connected_tracker(qtbot, window: MainWindow) -> None:
    dialog = open_tracker_dialog(window)
    source = ManualSource()
    attach_tracking(window, source, protocol="diy")
    assert dialog.start_pivot(0.6)
    tip = np.array([0.0, 3.0, 90.0])
    divot = np.array([5.0, 5.0, 40.0])
    for i in range(30):  # the needle circles about the divot, 20 degrees off vertical
        a = 2 * math.pi * i / 30
        axis = np.array([math.cos(a), math.sin(a), 0.0])
        k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
        r = np.eye(3) + math.sin(0.35) * k + (1 - math.cos(0.35)) * k @ k
        m = np.eye(4)
        m[:3, :3] = r
        m[:3, 3] = divot - r @ tip
        source.set_pose("needle", m)
        qtbot.wait(10)
    qtbot.waitUntil(lambda: not dialog.pivoting, timeout=3000)
    assert dialog.pivot is not None and dialog.pivot.n_poses >= 25
    np.testing.assert_allclose(dialog.pivot.tip_in_tool_mm, tip, atol=1e-6)
    assert dialog.pivot_button.isEnabled()
    # a touch records the calibrated tip in the tracker frame: the divot
    assert dialog.touch_landmark(0)
    np.testing.assert_allclose(dialog._touched[0], divot, atol=1e-6)
    assert dialog.landmark_table.currentRow() == 1
    source.clear("needle")
    assert not dialog.touch_landmark(1)
    assert "not tracked" in dialog.message_label.text()


def test_dialog_passes_passive_tool_files_to_an_ndi_tracker(
    qtbot, window: MainWindow, tmp_path: Path
) -> None:
    dialog = open_tracker_dialog(window)
    dialog.set_protocol("diy")
    assert not dialog.roms_edit.isEnabled()  # only NDI has passive tools
    dialog.set_protocol("ndi")
    assert dialog.roms_edit.isEnabled() and dialog.add_rom_button.isEnabled()
    missing = tmp_path / "missing.rom"
    dialog.url_edit.setText("loop://")
    dialog.add_rom(str(missing), name="needle")
    assert dialog.rom_entries() == [f"needle={missing}"]
    assert dialog.connect_tracker() is None  # the file is named, nothing connected
    assert str(missing) in dialog.message_label.text() and tracking_of(window) is None
    rom = tmp_path / "needle.rom"
    rom.write_bytes(b"NDI\0" + bytes(range(120)))
    dialog.roms_edit.setText(f"needle={rom}")
    emulator = NdiEmulator(passive_tools=["needle"], rate_hz=100.0)
    dialog.url_edit.setText(str(emulator.start()))
    try:
        control = dialog.connect_tracker()
        assert control is not None
        qtbot.waitUntil(lambda: control.samples_applied >= 5, timeout=10_000)
        assert emulator.sroms and bytes(next(iter(emulator.sroms.values()))).startswith(
            rom.read_bytes()
        )
        tracker = dialog.tracker
        assert tracker is not None and "needle" in {t.name for t in tracker.passive_tools}
        assert not dialog.roms_edit.isEnabled()  # fixed while connected
        dialog.disconnect_tracker()
        assert dialog.roms_edit.isEnabled()
    finally:
        emulator.stop()
