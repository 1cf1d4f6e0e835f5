"""The 3D anatomy view (pytest-qt, real VTK widget under the X server of pytest-xvfb)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from PySide6.QtCore import QCoreApplication, QEvent

from scenes import Scene, load_scene
from simulator.engine import BModeEngine, BModeFrame, FrameRequest
from simulator.gui.anatomy_view import (
    CAMERA_PRESETS,
    LAYER_OPACITY,
    SKIN_OPACITY,
    AnatomyView,
    needle_diameter_mm,
)
from simulator.probe import get_probe, probe_pose


@pytest.fixture(scope="module")
def demo(scene_cache: Path) -> Scene:
    return load_scene("demo_msk")


@pytest.fixture(scope="module")
def demo_frame(demo: Scene) -> BModeFrame:
    """A B-mode frame of demo_msk, probe shifted and turned so the pose is not trivial."""
    engine = BModeEngine(demo.volume, demo.spec.probe.probe)
    pose = probe_pose((3.0, -2.0, 0.0), yaw_deg=20.0)
    return engine.render(FrameRequest(pose, demo.spec.imaging.with_(depth_mm=30.0)))


@pytest.fixture
def view(qtbot, demo: Scene) -> Iterator[AnatomyView]:
    """A shown 400x300 view of demo_msk, deleted at teardown.

    Not left to ``qtbot.addWidget``: its ``deleteLater`` runs after the last
    test only when the interpreter exits, after pytest-xvfb has stopped the X
    server, and an OpenGL window destroyed then breaks the X connection.
    """
    v = AnatomyView()
    v.resize(400, 300)
    v.show()
    qtbot.waitExposed(v)
    v.set_scene(demo)
    v.render()
    yield v
    v.close()  # closeEvent finalizes the render window
    v.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def _centre(bounds: tuple[float, ...]) -> np.ndarray:
    return np.array(
        [(bounds[0] + bounds[1]) / 2, (bounds[2] + bounds[3]) / 2, (bounds[4] + bounds[5]) / 2]
    )


def test_one_actor_per_structure_with_tissue_opacity(view: AnatomyView, demo: Scene) -> None:
    names = [s.name for s in demo.spec.structures]
    assert list(view.structure_actors) == names
    in_renderer = {id(a) for a in view.renderer.GetActors()}
    assert all(id(a) in in_renderer for a in view.structure_actors.values())
    opacity = {n: a.GetProperty().GetOpacity() for n, a in view.structure_actors.items()}
    assert opacity["skin"] == pytest.approx(SKIN_OPACITY)
    assert opacity["subcutaneous_fat"] == pytest.approx(LAYER_OPACITY)
    assert opacity["muscle"] == pytest.approx(LAYER_OPACITY)
    assert opacity["condyle"] == 1.0 and opacity["nerve"] == 1.0
    # the target (effusion) is highlighted, the avoid structures keep their colour
    assert view.structure_actors["effusion"].GetProperty().GetColor() != pytest.approx(
        demo.spec.structure("effusion").colour
    )
    assert view.structure_actors["nerve"].GetProperty().GetColor() == pytest.approx(
        demo.spec.structure("nerve").colour
    )
    # a new scene replaces the actors instead of adding to them
    n_before = view.renderer.GetActors().GetNumberOfItems()
    view.set_scene(demo)
    assert view.renderer.GetActors().GetNumberOfItems() == n_before


def test_skin_opacity(view: AnatomyView) -> None:
    view.set_skin_opacity(0.6)
    assert view.skin_opacity == pytest.approx(0.6)
    assert view.structure_actors["skin"].GetProperty().GetOpacity() == pytest.approx(0.6)
    assert view.structure_actors["condyle"].GetProperty().GetOpacity() == 1.0
    with pytest.raises(ValueError, match="opacity"):
        view.set_skin_opacity(1.5)


def test_set_probe_moves_the_probe_actor(view: AnatomyView) -> None:
    probe = get_probe("linear_38")
    view.set_probe(probe_pose((0.0, 0.0, 0.0)), probe)
    c0 = _centre(view.probe_actor.GetBounds())
    b0 = view.probe_actor.GetBounds()
    assert b0[1] - b0[0] > probe.footprint_mm  # as wide as the aperture
    assert b0[4] < -50.0 and b0[5] == pytest.approx(0.0, abs=0.5)  # handle above the skin
    view.set_probe(probe_pose((12.0, -7.0, 3.0)), probe)
    c1 = _centre(view.probe_actor.GetBounds())
    np.testing.assert_allclose(c1 - c0, [12.0, -7.0, 3.0], atol=1e-6)
    # the notch marker sits on the +x side: turned 90 degrees it is on the +y side
    view.set_probe(probe_pose((0.0, 0.0, 0.0), yaw_deg=90.0), probe)
    assert _centre(view.notch_actor.GetBounds())[1] > probe.footprint_mm / 2


def test_curvilinear_probe_has_a_curved_face(view: AnatomyView) -> None:
    probe = get_probe("curvilinear_60")
    view.set_probe(np.eye(4), probe)
    b = view.probe_actor.GetBounds()
    assert b[5] == pytest.approx(0.0, abs=1e-6)  # face centre at the origin
    poly = view.probe_actor.GetMapper().GetInput()
    pts = np.array([poly.GetPoint(i) for i in range(poly.GetNumberOfPoints())])
    edge = pts[np.abs(pts[:, 0]) > 0.9 * probe.radius_mm * np.sin(probe.fov_rad / 2) - 1]
    assert edge[:, 2].max() < -5.0  # the face curves up towards its ends


def test_set_frame_textures_the_plane(qtbot, view: AnatomyView, demo_frame: BModeFrame) -> None:
    view.set_probe(demo_frame.probe2world, get_probe("linear_38"))
    view.set_camera_preset("probe")
    before = view.grab_rgb().astype(int)
    view.set_frame(demo_frame)
    rgba = view.frame_rgba
    inside = demo_frame.inside
    expected = np.round(np.clip(demo_frame.image, 0, 1) * 255)
    assert rgba.shape == (*demo_frame.image.shape, 4)
    assert np.all(rgba[..., 3][inside] == 255) and np.all(rgba[..., 3][~inside] == 0)
    assert np.abs(rgba[..., 0][inside].astype(int) - expected[inside]).max() <= 1
    assert np.array_equal(rgba[..., 0], rgba[..., 2])
    # the plane sits in the probe's x-z plane, posed by frame.probe2world
    g = demo_frame.geometry
    b = view.image_actor.GetBounds()
    corner = demo_frame.probe2world @ np.array([g.x0_mm, 0.0, g.z0_mm + g.rows * g.pixel_mm, 1.0])
    assert b[5] == pytest.approx(corner[2], abs=g.pixel_mm)
    after = view.grab_rgb().astype(int)
    changed = np.abs(after - before).sum(axis=2) > 30
    assert changed.mean() > 0.05
    # the image centre projects where the picture changed
    centre = demo_frame.probe2world @ np.array([0.0, 0.0, g.rows * g.pixel_mm / 2, 1.0])
    x, y = view.world_to_display(centre[:3])
    h = after.shape[0]
    assert changed[int(h - 1 - y) - 3 : int(h - 1 - y) + 4, int(x) - 3 : int(x) + 4].any()
    # a second frame of the same shape reuses the buffer
    buf = view.frame_rgba
    view.set_frame(demo_frame)
    assert view.frame_rgba is buf
    view.set_image_plane_visible(False)
    assert not view.image_actor.GetVisibility()
    hidden = view.grab_rgb().astype(int)
    assert np.abs(hidden - before).sum(axis=2).mean() < np.abs(after - before).sum(axis=2).mean()


def test_camera_presets(view: AnatomyView) -> None:
    cam = view.renderer.GetActiveCamera()
    view.set_camera_preset("top")
    np.testing.assert_allclose(cam.GetDirectionOfProjection(), [0, 0, 1], atol=1e-6)
    view.set_camera_preset("side")
    np.testing.assert_allclose(cam.GetViewUp(), [0, 0, -1], atol=1e-6)
    assert abs(cam.GetDirectionOfProjection()[1]) == pytest.approx(1.0)
    pose = probe_pose((5.0, 0.0, 0.0), yaw_deg=90.0)
    view.set_probe(pose, get_probe("linear_38"))
    view.set_camera_preset("probe")
    dop = np.array(cam.GetDirectionOfProjection())
    # mostly perpendicular to the image plane (along probe y = world x here)
    assert abs(dop @ pose[:3, 1]) > 0.9
    assert view.section_cut
    view.set_camera_preset("top")
    assert not view.section_cut
    assert set(CAMERA_PRESETS) == {"probe", "top", "side"}
    with pytest.raises(ValueError, match="preset"):
        view.set_camera_preset("bottom")


def test_needle_tube_spans_hub_to_tip(view: AnatomyView) -> None:
    hub, tip = np.array([-30.0, 2.0, -10.0]), np.array([-5.0, 2.0, 15.0])
    view.set_needle(hub, tip, gauge=22)
    assert view.needle_actor.GetVisibility()
    b = np.array(view.needle_actor.GetBounds())
    r = needle_diameter_mm(22) / 2
    assert r >= 0.5
    np.testing.assert_allclose(b[[0, 1, 4, 5]], [-30.0, -5.0, -10.0, 15.0], atol=r + 1e-6)
    assert b[3] - b[2] == pytest.approx(2 * r, rel=0.05)
    view.set_needle(None, None)
    assert not view.needle_actor.GetVisibility()
    assert not view.needle_tip_actor.GetVisibility()


def test_ctrl_click_pick_on_skin(qtbot, view: AnatomyView) -> None:
    view.set_camera_preset("top")
    view.render()
    point = np.array([6.0, -9.0, 0.0])
    x, y = view.world_to_display(point)
    with qtbot.waitSignal(view.skin_clicked, timeout=1000) as blocker:
        picked = view.pick_display(x, y)
    assert picked is not None
    assert picked[2] == pytest.approx(0.0, abs=0.5)
    np.testing.assert_allclose(picked[:2], point[:2], atol=1.0)
    assert blocker.args[2] == pytest.approx(picked[2])
    # the same through the interactor: Ctrl + left button press picks, no rotation
    cam = view.renderer.GetActiveCamera()
    position = cam.GetPosition()
    rwi = view.interactor
    rwi.SetEventInformation(round(x), round(y), 1, 0)
    with qtbot.waitSignal(view.skin_clicked, timeout=1000) as blocker:
        rwi.LeftButtonPressEvent()
    rwi.LeftButtonReleaseEvent()
    assert blocker.args[2] == pytest.approx(0.0, abs=0.5)
    assert cam.GetPosition() == pytest.approx(position)
    # nothing under a corner of the window: no signal
    assert view.pick_display(1.0, 1.0) is None


def test_request_render_coalesces(qtbot, view: AnatomyView) -> None:
    calls = []
    original = view.render
    view.render = lambda: (calls.append(1), original())  # type: ignore[method-assign]
    for _ in range(5):
        view.request_render()
    qtbot.waitUntil(lambda: len(calls) > 0, timeout=1000)
    qtbot.wait(20)
    assert len(calls) == 1
    assert view.last_render_ms > 0.0


def test_request_render_respects_max_fps(qtbot, view: AnatomyView) -> None:
    view.set_max_fps(10.0)
    view.render()
    t0 = time.perf_counter()
    done = []
    original = view.render
    view.render = lambda: (done.append(time.perf_counter()), original())  # type: ignore[method-assign]
    view.request_render()
    qtbot.waitUntil(lambda: len(done) > 0, timeout=2000)
    assert done[0] - t0 >= 0.08  # not before 1/10 s after the previous render
    with pytest.raises(ValueError, match="max_fps"):
        view.set_max_fps(0.0)


def test_injectate_surface_drawn_with_the_sphere_area(qtbot) -> None:
    """A 3 mm-radius fluid sphere is drawn with about its true surface area; None hides it."""
    view = AnatomyView()
    qtbot.addWidget(view)
    spacing = 0.25
    ax = (np.arange(41) - 20) * spacing
    x, y, z = np.meshgrid(ax, ax, ax, indexing="ij")
    mask = (x**2 + y**2 + z**2 <= 3.0**2).astype(np.uint8)
    view.set_injectate((mask, np.array([-5.0, -5.0, 10.0]), spacing))
    area = view.injectate_surface_area_mm2()
    assert area == pytest.approx(4 * np.pi * 3.0**2, rel=0.08)
    view.set_injectate(None)
    assert view.injectate_surface_area_mm2() == 0.0
    view.finalize()
