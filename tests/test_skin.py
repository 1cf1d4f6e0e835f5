"""The skin height field (simulator.skin) and a scene's skin (scenes.skin)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from simulator.probe import rotation_deg
from simulator.skin import SkinSurface


def grid_mesh(
    func: Callable[[np.ndarray, np.ndarray], np.ndarray],
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    n: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Triangulated height surface z = func(x, y) on an (n+1) x (n+1) vertex grid."""
    xs = np.linspace(*x_range, n + 1)
    ys = np.linspace(*y_range, n + 1)
    X, Y = np.meshgrid(xs, ys, indexing="ij")
    verts = np.column_stack([X.ravel(), Y.ravel(), func(X, Y).ravel()])
    idx = np.arange((n + 1) ** 2).reshape(n + 1, n + 1)
    a, b = idx[:-1, :-1].ravel(), idx[1:, :-1].ravel()
    c, d = idx[1:, 1:].ravel(), idx[:-1, 1:].ravel()
    faces = np.concatenate([np.column_stack([a, b, c]), np.column_stack([a, c, d])])
    return verts, faces


def with_floor(verts: np.ndarray, faces: np.ndarray, dz: float) -> tuple[np.ndarray, np.ndarray]:
    """Add a copy of the surface dz deeper (a second hit the skin must ignore)."""
    deeper = verts + np.array([0.0, 0.0, dz])
    return np.concatenate([verts, deeper]), np.concatenate([faces, faces[:, ::-1] + len(verts)])


def angle_deg(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Angle between unit vectors along the last axis, deg."""
    cos = np.clip(np.sum(u * v, axis=-1), -1.0, 1.0)
    return np.degrees(np.arccos(cos))


RNG = np.random.default_rng(7)


# --------------------------------------------------------------------------- flat


def test_flat_skin_is_an_infinite_plane() -> None:
    skin = SkinSurface.flat(2.5)
    x = np.array([-1e4, 0.0, 3.3, 1e4])
    np.testing.assert_array_equal(skin.height_mm(x, -x), np.full(4, 2.5))
    assert skin.height_mm(7.0, 8.0) == 2.5
    np.testing.assert_array_equal(skin.normal(123.0, -4.0), [0.0, 0.0, 1.0])
    for yaw in (0.0, 30.0, -135.0, 180.0, 77.7):
        np.testing.assert_array_equal(skin.surface_frame(1.0, 2.0, yaw), rotation_deg(yaw, 0, 0))


# --------------------------------------------------------------------------- analytic surfaces


def test_tilted_plane_heights_and_normals() -> None:
    verts, faces = grid_mesh(lambda x, y: 0.2 * x + 1.0, (-30, 30), (-20, 20), 24)
    verts, faces = with_floor(verts, faces, 8.0)
    skin = SkinSurface.from_triangles(verts, faces, spacing_mm=0.5)
    x = RNG.uniform(-29, 29, 400)
    y = RNG.uniform(-19, 19, 400)
    assert np.max(np.abs(skin.height_mm(x, y) - (0.2 * x + 1.0))) < 0.05
    expected = np.array([-0.2, 0.0, 1.0]) / math.hypot(0.2, 1.0)
    assert np.max(angle_deg(skin.normals(x, y), expected)) < 1.0
    assert angle_deg(skin.normal(3.0, 4.0), expected) < 1.0


def test_cylinder_bump_heights_and_normals() -> None:
    R = 30.0

    def cylinder(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return R - np.sqrt(R**2 - x**2) + 0.0 * y

    verts, faces = grid_mesh(cylinder, (-26, 26), (-15, 15), 104)
    verts, faces = with_floor(verts, faces, 5.0)
    skin = SkinSurface.from_triangles(verts, faces, spacing_mm=0.5)
    x = RNG.uniform(-20, 20, 400)
    y = RNG.uniform(-14, 14, 400)
    assert np.max(np.abs(skin.height_mm(x, y) - cylinder(x, y))) < 0.05
    slope = x / np.sqrt(R**2 - x**2)
    expected = np.column_stack([-slope, np.zeros_like(x), np.ones_like(x)])
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    assert np.max(angle_deg(skin.normals(x, y), expected)) < 1.0
    # the top of the bump is the shallowest point; the normal there is +z
    assert skin.height_mm(0.0, 0.0) == pytest.approx(0.0, abs=0.01)
    assert angle_deg(skin.normal(0.0, 3.0), np.array([0.0, 0.0, 1.0])) < 0.1


def test_dome_heights_and_normals() -> None:
    R = 40.0

    def dome(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return R - np.sqrt(R**2 - x**2 - y**2)

    verts, faces = grid_mesh(dome, (-25, 25), (-25, 25), 70)  # ~9.8k triangles
    skin = SkinSurface.from_triangles(verts, faces, spacing_mm=0.5)
    r = RNG.uniform(0, 20, 400)
    phi = RNG.uniform(0, 2 * np.pi, 400)
    x, y = r * np.cos(phi), r * np.sin(phi)
    assert np.max(np.abs(skin.height_mm(x, y) - dome(x, y))) < 0.05
    g = np.sqrt(R**2 - x**2 - y**2)
    expected = np.column_stack([-x / g, -y / g, np.ones_like(x)])
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    assert np.max(angle_deg(skin.normals(x, y), expected)) < 1.0


def test_surface_frame_is_a_rotation_with_the_normal_and_the_projected_yaw() -> None:
    verts, faces = grid_mesh(lambda x, y: 0.3 * x - 0.1 * y, (-10, 10), (-10, 10), 4)
    skin = SkinSurface.from_triangles(verts, faces, spacing_mm=0.5)
    n = skin.normal(1.0, 2.0)
    for yaw in (0.0, 45.0, 90.0, -120.0):
        frame = skin.surface_frame(1.0, 2.0, yaw)
        np.testing.assert_allclose(frame.T @ frame, np.eye(3), atol=1e-12)
        assert np.linalg.det(frame) == pytest.approx(1.0)
        np.testing.assert_allclose(frame[:, 2], n, atol=1e-12)
        # first column: in the vertical plane of the yaw direction, pointing along it
        a = math.radians(yaw)
        d = np.array([math.cos(a), math.sin(a), 0.0])
        assert np.dot(frame[:, 0], d) > 0.9
        side = np.array([-math.sin(a), math.cos(a), 0.0])
        assert abs(np.dot(frame[:, 0], side)) < 1e-12


# --------------------------------------------------------------------------- grid behaviour


def test_uncovered_nodes_take_the_nearest_value_and_edges_clamp() -> None:
    verts, faces = grid_mesh(lambda x, y: 0.5 * x, (0, 10), (0, 10), 2)
    skin = SkinSurface.from_triangles(verts, faces, spacing_mm=0.5, bounds_xy_mm=(-5, 0, 15, 10))
    assert skin.bounds_xy_mm == (-5.0, 0.0, 15.0, 10.0)
    assert skin.height_mm(-5.0, 5.0) == pytest.approx(0.0, abs=1e-9)  # nearest covered: x = 0
    assert skin.height_mm(15.0, 5.0) == pytest.approx(5.0, abs=1e-9)  # nearest covered: x = 10
    assert skin.height_mm(5.0, 5.0) == pytest.approx(2.5, abs=1e-9)
    # beyond the grid: the edge value
    assert skin.height_mm(1e3, 5.0) == pytest.approx(5.0, abs=1e-9)
    assert skin.height_mm(5.0, -1e3) == pytest.approx(2.5, abs=1e-9)


def test_vertical_faces_are_ignored_and_the_top_wins() -> None:
    # a closed box: top z = -1, bottom z = 4, vertical sides
    lo, hi = np.array([-10.0, -10.0, -1.0]), np.array([10.0, 10.0, 4.0])
    corners = np.array([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)], dtype=float)
    verts = lo + corners * (hi - lo)
    faces = np.array(
        [[0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3], [0, 1, 3], [0, 3, 2],
         [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1], [2, 3, 7], [2, 7, 6]]
    )  # fmt: skip
    skin = SkinSurface.from_triangles(verts, faces, spacing_mm=0.5)
    np.testing.assert_array_equal(skin.heights_mm, np.full(skin.shape, -1.0))


def test_five_thousand_triangles_sample_fast() -> None:
    verts, faces = grid_mesh(lambda x, y: 0.1 * np.sin(x / 7) * y, (-50, 50), (-50, 50), 50)
    assert len(faces) == 5000
    SkinSurface.from_triangles(verts, faces, spacing_mm=0.5)  # warm-up
    t0 = time.perf_counter()
    skin = SkinSurface.from_triangles(verts, faces, spacing_mm=0.5)
    elapsed_s = time.perf_counter() - t0
    assert skin.shape == (201, 201)
    assert elapsed_s < 0.5, f"from_triangles took {elapsed_s * 1e3:.0f} ms"


def test_chunking_does_not_change_the_result(monkeypatch: pytest.MonkeyPatch) -> None:
    import simulator.skin

    verts, faces = grid_mesh(lambda x, y: np.cos(x / 5) + 0.05 * y, (-20, 20), (-20, 20), 30)
    verts, faces = with_floor(verts, faces, 3.0)
    whole = SkinSurface.from_triangles(verts, faces, spacing_mm=0.4)
    monkeypatch.setattr(simulator.skin, "CHUNK_PAIRS", 7)
    chunked = SkinSurface.from_triangles(verts, faces, spacing_mm=0.4)
    np.testing.assert_array_equal(chunked.heights_mm, whole.heights_mm)


def test_bad_inputs_raise_clear_errors() -> None:
    verts, faces = grid_mesh(lambda x, y: 0 * x, (0, 1), (0, 1), 1)
    with pytest.raises(ValueError, match="vertices_mm"):
        SkinSurface.from_triangles(verts[:, :2], faces)
    with pytest.raises(ValueError, match="faces"):
        SkinSurface.from_triangles(verts, faces.astype(float))
    with pytest.raises(ValueError, match="spacing_mm"):
        SkinSurface.from_triangles(verts, faces, spacing_mm=0.0)
    with pytest.raises(ValueError, match="bounds_xy_mm"):
        SkinSurface.from_triangles(verts, faces, bounds_xy_mm=(1, 0, 0, 1))
    with pytest.raises(ValueError, match="no triangle seen from above"):
        SkinSurface.from_triangles(verts, faces, bounds_xy_mm=(5, 5, 9, 9))


# --------------------------------------------------------------------------- scenes.skin


def test_demo_scene_skin_is_flat_at_zero(scene_cache: Path) -> None:
    import scenes
    from scenes.skin import skin_surface, triangles_of

    scene = scenes.load_scene("demo_msk")
    verts, _faces = triangles_of(scene.meshes["skin"])
    top_z = float(verts[:, 2].min())
    assert top_z == pytest.approx(0.0, abs=1e-6)
    t0 = time.perf_counter()
    skin = skin_surface(scene)
    elapsed_ms = (time.perf_counter() - t0) * 1e3
    print(f"skin_surface(demo_msk): {elapsed_ms:.1f} ms, {skin}")
    x0, y0, x1, y1 = skin.bounds_xy_mm
    assert (x0, y0) == (scene.spec.bounds_min_mm[0], scene.spec.bounds_min_mm[1])
    assert x1 >= scene.spec.bounds_max_mm[0] and y1 >= scene.spec.bounds_max_mm[1]
    assert np.max(np.abs(skin.heights_mm - top_z)) < 0.1
    x = RNG.uniform(x0, x1, 200)
    y = RNG.uniform(y0, y1, 200)
    assert np.max(np.abs(skin.height_mm(x, y))) < 0.1
    assert angle_deg(skin.normal(3.0, -7.0), np.array([0.0, 0.0, 1.0])) < 0.1
    assert elapsed_ms < 500.0


def test_scene_without_skin_gets_a_flat_skin() -> None:
    from dataclasses import replace

    import scenes
    from scenes.cache import Scene
    from scenes.skin import skin_surface

    spec = scenes.load_scene_spec(scenes.cache.find_scene("phantom_cyst"))
    assert not any(s.tissue == "skin" for s in spec.structures)
    scene = Scene(spec=spec, volume=None, path=spec.path)  # type: ignore[arg-type]
    assert skin_surface(scene).height_mm(3.0, 4.0) == 0.0
    deeper_spec = replace(spec, bounds_min_mm=(-22.0, -22.0, 1.5))
    deeper = Scene(spec=deeper_spec, volume=None, path=spec.path)  # type: ignore[arg-type]
    assert skin_surface(deeper).height_mm(3.0, 4.0) == 1.5
