"""The ultrasound screen widget: calipers, readout, freeze badge, labels, saving, mouse."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QImage, QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication

from simulator.engine import BModeEngine, BModeFrame, FrameRequest
from simulator.gui.image_view import CALIPER_COLOUR, FROZEN_COLOUR, BModeImageView, depth_ticks
from simulator.label_outlines import structure_outlines
from simulator.probe import probe_pose

MAGENTA = (1.0, 0.0, 1.0)


@pytest.fixture(scope="module")
def frame(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BModeFrame]:
    """One engine frame of the wire phantom (scene cache in a temporary folder)."""
    from scenes import load_scene

    cache = tmp_path_factory.mktemp("scene_cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INJECTION_SIM_CACHE", str(cache))
        scene = load_scene("phantom_points")
        probe = scene.spec.probe
        engine = BModeEngine(scene.volume, probe.probe)
        pose = probe_pose(probe.position_mm, probe.yaw_deg, probe.tilt_deg, probe.rock_deg)
        yield engine.render(FrameRequest(pose, scene.spec.imaging))
        engine.close()


@pytest.fixture
def view(qtbot, frame: BModeFrame) -> BModeImageView:
    """A shown 900 x 700 view with the frame."""
    w = BModeImageView()
    qtbot.addWidget(w)
    w.resize(900, 700)
    w.set_frame(frame)
    w.show()
    qtbot.waitExposed(w)
    return w


def grab(view: BModeImageView) -> np.ndarray:
    """The widget as an (h, w, 3) uint8 RGB array."""
    img = view.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    h, w = img.height(), img.width()
    # copied: the QImage (and the memory the view points into) dies with this frame
    return (
        np.frombuffer(img.constBits(), np.uint8)
        .reshape(h, img.bytesPerLine())[:, : 3 * w]
        .reshape(h, w, 3)
        .copy()
    )


def at(rgb: np.ndarray, p: QPointF) -> np.ndarray:
    return rgb[int(p.y()), int(p.x())].astype(int)


def is_grey(px: np.ndarray) -> bool:
    return int(px.max()) - int(px.min()) < 8


def click_mm(qtbot, view: BModeImageView, x_mm: float, z_mm: float) -> None:
    p = view.image_mm_to_widget(x_mm, z_mm)
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=QPoint(round(p.x()), round(p.y())))


# ------------------------------------------------------------------ calipers
def test_widget_and_image_mm_round_trip(view: BModeImageView) -> None:
    for x, z in [(-12.0, 3.0), (0.0, 20.0), (15.5, 37.25)]:
        back = view.widget_to_image_mm(view.image_mm_to_widget(x, z))
        assert back == pytest.approx((x, z), abs=1e-9)
    rect = view.image_rect()
    assert view.widget_to_image_mm(QPointF(rect.left() - 5, rect.center().y())) is None
    # the top-left image corner is the top-left edge of pixel (0, 0)
    g = view.frame.geometry
    corner = view.widget_to_image_mm(rect.topLeft())
    assert corner == pytest.approx(g.position_of(-0.5, -0.5))


def test_caliper_measures_known_distance_and_survives_resize(qtbot, view) -> None:
    seen: list[object] = []
    view.caliper_changed.connect(seen.append)
    view.set_caliper_mode(True)
    click_mm(qtbot, view, -5.0, 10.0)
    assert view.caliper_distance_mm is None and seen == [None]
    click_mm(qtbot, view, 3.0, 16.0)  # a 6-8-10 triangle
    assert view.caliper_distance_mm == pytest.approx(10.0, abs=0.2)
    assert seen[-1] == pytest.approx(10.0, abs=0.2)
    a_before = view.image_mm_to_widget(*view.caliper_points_mm[0])

    view.resize(1300, 500)
    qtbot.waitUntil(lambda: view.width() == 1300)
    assert view.caliper_distance_mm == pytest.approx(10.0, abs=0.2)
    a_after = view.image_mm_to_widget(*view.caliper_points_mm[0])
    assert (a_after - a_before).manhattanLength() > 20  # the marker moved with the image
    rgb = grab(view)
    px = at(rgb, a_after)
    assert px[1] > 200 and px[0] < 150, f"no caliper marker at point A, pixel {px}"
    assert abs(px[1] - CALIPER_COLOUR.green()) < 40

    click_mm(qtbot, view, 0.0, 5.0)  # a third click starts a new measurement
    assert len(view.caliper_points_mm) == 1 and view.caliper_distance_mm is None
    view.clear_calipers()
    assert view.caliper_points_mm == () and seen[-1] is None


# -------------------------------------------------------- readout and freeze
def test_readout_text_is_drawn_and_scales(view: BModeImageView) -> None:
    view.resize(1100, 700)
    lines = ["10.0 MHz", "Depth 4.0 cm", "Gain +3 dB", "31 fps", "MSK preset"]
    view.set_readout(lines)
    assert view.readout[1] == "Depth 4.0 cm"
    box = view._readout_rect(view.image_rect())
    # room to the right of the image: the readout lies outside the image
    assert box.left() > view.image_rect().right()
    region = (slice(int(box.top()), int(box.bottom())), slice(int(box.left()), int(box.right())))
    shown = grab(view)
    lit = int((shown[region].max(axis=2) > 150).sum())
    assert lit > 200
    view.set_text_scale(2.0)
    big = view._readout_rect(view.image_rect())
    assert big.height() == pytest.approx(2.0 * box.height(), rel=0.15)
    region = (slice(int(big.top()), int(big.bottom())), slice(int(big.left()), int(big.right())))
    assert int((grab(view)[region].max(axis=2) > 150).sum()) > 2.5 * lit
    with pytest.raises(ValueError, match="text scale"):
        view.set_text_scale(10.0)


def test_frozen_badge_and_cine_position(view: BModeImageView) -> None:
    def badge_pixels() -> int:
        rgb = grab(view).astype(int)
        c = FROZEN_COLOUR
        close = np.abs(rgb - np.array([c.red(), c.green(), c.blue()])).sum(axis=2) < 30
        return int(close.sum())

    assert badge_pixels() == 0
    view.set_frozen(True, 11, 64)
    assert view.frozen
    lit = badge_pixels()
    assert lit > 1000  # the filled badge
    view.set_frozen(False)
    assert badge_pixels() == 0 and not view.frozen


# --------------------------------------------------------------------- labels
def square_labels(view: BModeImageView) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """Label 1 on a 12 mm square around (0, 20) mm; returns labels and (r0, r1, c0, c1)."""
    g = view.frame.geometry
    r0, c0 = (round(v) for v in g.pixel_of(-6.0, 14.0))
    r1, c1 = (round(v) for v in g.pixel_of(6.0, 26.0))
    labels = np.zeros((g.rows, g.cols), np.uint8)
    labels[r0:r1, c0:c1] = 1
    return labels, (r0, r1, c0, c1)


def test_label_outline_drawn_in_its_colour_and_hidden_on_toggle(view: BModeImageView) -> None:
    labels, (r0, r1, c0, _) = square_labels(view)
    view.set_labels(labels, {1: ("target", MAGENTA)})
    g = view.frame.geometry
    # a boundary pixel: the left edge of the square, half way down
    edge = view.image_mm_to_widget(*g.position_of((r0 + r1) // 2 + 7, c0))
    inner = view.image_mm_to_widget(*g.position_of((r0 + r1) // 2 + 7, c0 + 12))
    rgb = grab(view)
    assert at(rgb, edge).tolist() == [255, 0, 255]
    assert is_grey(at(rgb, inner))  # the image inside: no fill
    magenta = (rgb[..., 0] > 200) & (rgb[..., 1] < 60) & (rgb[..., 2] > 200)
    centre = view.image_mm_to_widget(0.0, 20.0)
    near = magenta[int(centre.y()) - 15 : int(centre.y()) + 15, int(centre.x()) - 40 :]
    assert near[:, :80].sum() > 30  # the name, written in the structure's colour
    view.set_labels_visible(False)
    assert not view.labels_visible
    rgb = grab(view)
    assert is_grey(at(rgb, edge))
    assert ((rgb[..., 0] > 200) & (rgb[..., 1] < 60) & (rgb[..., 2] > 200)).sum() == 0
    view.set_labels_visible(True)
    view.set_labels(None, {})
    rgb = grab(view)  # one grab: no magenta left anywhere
    assert ((rgb[..., 0] > 200) & (rgb[..., 1] < 60) & (rgb[..., 2] > 200)).sum() == 0


def test_labels_of_another_shape_are_refused(view: BModeImageView) -> None:
    with pytest.raises(ValueError, match=r"shape \(10, 10\)"):
        view.set_labels(np.zeros((10, 10), np.uint8), {})


def test_outlines_one_line_per_boundary_none_on_border_tiny_skipped() -> None:
    labels = np.zeros((100, 120), np.uint8)
    labels[:, :] = 1  # big region filling the image
    labels[20:60, 30:80] = 2  # inclusion touching nothing but label 1
    labels[0:50, 100:120] = 3  # region cut by the image border
    labels[80:82, 10:12] = 4  # 4 pixels: below the area threshold
    colours = {1: (1.0, 0.0, 0.0), 2: (0.0, 1.0, 0.0), 3: (0.0, 0.0, 1.0), 4: (1.0, 1.0, 1.0)}
    out = structure_outlines(labels, colours, pixel_mm=0.25, min_area_mm2=2.0)
    drawn = out.rgba[..., 3] == 255
    # the inclusion's boundary is drawn once, inside it, in its colour
    assert out.rgba[20, 50, :3].tolist() == [0, 255, 0]
    assert not drawn[19, 50] and not drawn[21, 50]
    # region 3: edges facing region 1 only, none along the image border
    assert out.rgba[49, 110, :3].tolist() == [0, 0, 255] and out.rgba[25, 100, 2] == 255
    assert not drawn[0, 110] and not drawn[25, 119]
    # region 1 fills the image: no outline of its own anywhere
    assert not (drawn & (out.rgba[..., 0] == 255) & (out.rgba[..., 1] == 0)).any()
    assert {a.label for a in out.anchors} == {1, 2, 3}
    a2 = next(a for a in out.anchors if a.label == 2)
    assert 20 <= a2.row < 60 and 30 <= a2.col < 80 and a2.area_mm2 == pytest.approx(125.0)


# ----------------------------------------------------------------- save image
def test_save_png_writes_what_is_shown(view: BModeImageView, tmp_path: Path) -> None:
    view.set_readout(["10.0 MHz"])
    path = view.save_png(tmp_path / "screen.png")
    assert path == tmp_path / "screen.png"
    img = QImage(str(path))
    assert (img.width(), img.height()) == (view.width(), view.height())
    with pytest.raises(OSError, match="no_such_folder"):
        view.save_png(tmp_path / "no_such_folder" / "x.png")


# ---------------------------------------------------------------------- mouse
def send_mouse(view, kind, pos: QPointF, buttons) -> None:
    button = Qt.MouseButton.NoButton if kind == QMouseEvent.Type.MouseMove else Qt.LeftButton
    ev = QMouseEvent(
        kind, pos, view.mapToGlobal(pos), button, buttons, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(view, ev)


def test_drag_and_wheel_are_reported_in_mm_and_steps(view: BModeImageView) -> None:
    drags: list[tuple[float, float]] = []
    wheels: list[tuple[int, object]] = []
    view.drag_mm.connect(lambda dx, dz: drags.append((dx, dz)))
    view.wheel_steps.connect(lambda n, mods: wheels.append((n, mods)))
    a = view.image_mm_to_widget(0.0, 10.0)
    b = view.image_mm_to_widget(4.0, 7.0)
    left = Qt.MouseButton.LeftButton
    send_mouse(view, QMouseEvent.Type.MouseButtonPress, a, left)
    send_mouse(view, QMouseEvent.Type.MouseMove, (a + b) / 2, left)
    send_mouse(view, QMouseEvent.Type.MouseMove, b, left)
    send_mouse(view, QMouseEvent.Type.MouseButtonRelease, b, Qt.MouseButton.NoButton)
    assert len(drags) == 2
    assert sum(d[0] for d in drags) == pytest.approx(4.0, abs=1e-6)
    assert sum(d[1] for d in drags) == pytest.approx(-3.0, abs=1e-6)
    assert view.caliper_points_mm == ()

    shift = Qt.KeyboardModifier.ShiftModifier
    for delta, mods in ((240, Qt.KeyboardModifier.NoModifier), (-60, shift), (-60, shift)):
        ev = QWheelEvent(
            a,
            view.mapToGlobal(a),
            QPoint(),
            QPoint(0, delta),
            Qt.MouseButton.NoButton,
            mods,
            Qt.ScrollPhase.NoScrollPhase,
            False,
        )
        QApplication.sendEvent(view, ev)
    # two -60 half steps make one whole step back
    assert [n for n, _ in wheels] == [2, -1]
    assert wheels[-1][1] == shift


def test_frame_painted_reports_each_new_frame_once(qtbot, view, frame) -> None:
    with qtbot.waitSignal(view.frame_painted, timeout=2000) as blocker:
        view.set_frame(frame)
    assert blocker.args == [pytest.approx(frame.timestamp_s)]
    seen: list[float] = []
    view.frame_painted.connect(seen.append)
    view.repaint()  # the same frame again: not reported
    view.set_frame(frame)
    view.repaint()
    assert len(seen) == 1


def test_two_views_share_the_outlines_of_one_label_image(qtbot, view, frame) -> None:
    other = BModeImageView()
    qtbot.addWidget(other)
    other.resize(600, 600)
    other.set_frame(frame)
    labels, _ = square_labels(view)
    names = {1: ("target", MAGENTA)}
    view.set_labels(labels, names)
    other.set_labels(labels, names)
    assert view._ensure_outlines() is other._ensure_outlines()
    other.set_labels(labels.copy(), names)  # another array: computed again
    assert other._ensure_outlines() is not view._ensure_outlines()


def test_depth_ticks_are_whole_millimetres() -> None:
    ticks = depth_ticks(-0.04, 40.04, 20.0)
    depths = [z for z, _ in ticks]
    assert depths[0] == 0.0 and depths[-1] == 40.0 and len(depths) == 41
    labels = {z: lab for z, lab in ticks if lab is not None}
    assert labels == {0.0: "0", 10.0: "1", 20.0: "2", 30.0: "3", 40.0: "4"}
    assert np.all(np.diff([z for z, _ in depth_ticks(0.0, 60.0, 3.0)]) == 5.0)
