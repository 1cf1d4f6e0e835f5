"""Voxelising scene meshes into the acoustic volume."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pytest
from vtkmodules.vtkCommonTransforms import vtkTransform
from vtkmodules.vtkFiltersGeneral import vtkTransformFilter

from anatomy_meshes.phantoms import box_mesh, sphere_mesh, write_vtp
from scenes import build_volume, load_scene_spec
from simulator.volume import NORMAL_SCALE, AcousticVolume


def scene_text(structures: list[tuple[str, Path, str, int]], voxel: float, lo, hi, extra="") -> str:
    text = f"""
[scene]
name = "vox"
seed = 3
background = "soft_tissue"
voxel_mm = {voxel}
bounds_min_mm = {list(lo)}
bounds_max_mm = {list(hi)}

[probe]
model = "linear_38"
position_mm = [0.0, 0.0, 0.0]
"""
    for name, mesh, tissue, priority in structures:
        text += f"""
[[structures]]
name = "{name}"
mesh = "{mesh}"
tissue = "{tissue}"
priority = {priority}
"""
    return text + extra


def build(tmp_path: Path, text: str) -> tuple[object, AcousticVolume]:
    path = tmp_path / "scene.toml"
    path.write_text(text, encoding="utf-8")
    spec = load_scene_spec(path)
    return spec, build_volume(spec)


@pytest.fixture
def spheres(tmp_path):
    big, small = tmp_path / "big.vtp", tmp_path / "small.vtp"
    write_vtp(sphere_mesh((0, 0, 10), 6.0), big)
    write_vtp(sphere_mesh((0, 0, 10), 2.5), small)
    return big, small


def _sphere_voxels(radius, voxel):
    return 4 / 3 * math.pi * radius**3 / voxel**3


@pytest.mark.parametrize(
    ("p_big", "p_small", "small_kept"), [(1, 2, True), (2, 1, False), (1, 1, True)]
)
def test_priority_resolves_nesting(tmp_path, spheres, p_big, p_small, small_kept):
    big, small = spheres
    text = scene_text(
        [("big", big, "muscle", p_big), ("small", small, "fluid", p_small)],
        0.25,
        (-8, -8, 0),
        (8, 8, 20),
    )
    _, vol = build(tmp_path, text)
    counts = np.bincount(vol.labels.ravel(), minlength=3)
    if small_kept:  # higher priority, or equal priority and later in the file
        assert counts[2] == pytest.approx(_sphere_voxels(2.5, 0.25), rel=0.05)
        assert counts[1] + counts[2] == pytest.approx(_sphere_voxels(6.0, 0.25), rel=0.05)
        assert vol.label_at(np.array([0.0, 0.0, 10.0])) == 2
    else:
        assert counts[2] == 0
        assert counts[1] == pytest.approx(_sphere_voxels(6.0, 0.25), rel=0.05)
    assert vol.label_at(np.array([0.0, 0.0, 5.0])) == 1
    assert vol.structures[0].name == "background"
    assert [s.name for s in vol.structures] == ["background", "big", "small"]
    assert vol.structures[2].tissue.name == "fluid"


def test_sphere_volume_and_centre(tmp_path, spheres):
    big, _ = spheres
    _, vol = build(tmp_path, scene_text([("s", big, "fluid", 1)], 0.2, (-8, -8, 0), (8, 8, 20)))
    mask = vol.labels == 1
    assert mask.sum() == pytest.approx(_sphere_voxels(6.0, 0.2), rel=0.05)
    centre = vol.origin_mm + vol.spacing_mm * np.argwhere(mask).mean(axis=0)
    np.testing.assert_allclose(centre, [0, 0, 10], atol=0.2)


def test_grid_geometry_and_axes(tmp_path):
    mesh = tmp_path / "box.vtp"
    write_vtp(box_mesh((-6.0, 30.0, -20.0, 20.0, 20.0, 30.0)), mesh)
    lo, hi = (-25.0, -25.0, -2.0), (25.0, 25.0, 50.0)
    spec, vol = build(tmp_path, scene_text([("slab", mesh, "bone", 1)], 0.2, lo, hi))
    assert vol.shape == spec.grid_shape == (251, 251, 261)
    assert vol.labels.dtype == np.uint8 and vol.labels.flags.c_contiguous
    np.testing.assert_allclose(vol.origin_mm, lo)
    np.testing.assert_allclose(vol.extent_mm[1], hi, atol=1e-9)
    assert vol.spacing_mm == 0.2
    idx = np.argwhere(vol.labels == 1)
    first = vol.origin_mm + 0.2 * idx.min(axis=0)
    last = vol.origin_mm + 0.2 * idx.max(axis=0)
    # faces at the right place, each within one voxel; x clipped by the scene bounds
    np.testing.assert_allclose(first, [-6.0, -20.0, 20.0], atol=0.2 + 1e-9)
    np.testing.assert_allclose(last, [25.0, 20.0, 30.0], atol=0.2 + 1e-9)
    # axes are not swapped: beside the slab (x = -10) at slab depth is tissue
    assert vol.label_at(
        np.array([[-10.0, 0.0, 25.0], [0.0, 0.0, 25.0], [0.0, 0.0, 15.0]])
    ).tolist() == [
        0,
        1,
        0,
    ]
    assert vol.label_at(np.array([0.0, -22.0, 25.0])) == 0


def _rotated_box(angle_deg: float) -> object:
    transform = vtkTransform()
    transform.PostMultiply()
    transform.Translate(0.0, 0.0, -25.0)
    transform.RotateY(angle_deg)
    transform.Translate(0.0, 0.0, 25.0)
    move = vtkTransformFilter()
    move.SetInputData(box_mesh((-15.0, 15.0, -15.0, 15.0, 20.0, 30.0)))
    move.SetTransform(transform)
    move.Update()
    return move.GetOutput()


@pytest.mark.parametrize("angle_deg", [0.0, 10.0, -25.0])
def test_top_face_normals(tmp_path, angle_deg):
    mesh = tmp_path / "slab.vtp"
    write_vtp(_rotated_box(angle_deg), mesh)
    _, vol = build(
        tmp_path, scene_text([("slab", mesh, "bone", 1)], 0.2, (-12, -12, 14), (12, 12, 36))
    )
    a = math.radians(angle_deg)
    expected = np.array([math.sin(a), 0.0, math.cos(a)])  # RotateY(+a) of (0, 0, 1)
    centre_top = np.array([0.0, 0.0, 25.0]) + 5.0 * expected
    coords = np.column_stack(np.unravel_index(vol.boundary_index, vol.shape))
    pos = vol.origin_mm + vol.spacing_mm * coords
    rel = pos - centre_top
    height = rel @ expected
    in_plane = np.linalg.norm(rel - height[:, None] * expected, axis=1)
    near = (np.abs(height) <= 0.3) & (in_plane < 8.0)
    assert near.sum() > 1000
    normals = vol.boundary_normal[near, :3].astype(float) / NORMAL_SCALE
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    angle = np.degrees(np.arccos(np.clip(np.abs(normals @ expected), 0, 1)))
    assert np.median(angle) < 3.0, np.median(angle)
    assert angle.max() < 3.0, angle.max()


def test_point_targets_and_seed(tmp_path):
    extra = """
[[point_targets]]
position_mm = [0.0, 0.0, 10.0]
reflectivity = 0.5

[[point_targets]]
position_mm = [-3.0, 1.0, 12.0]
reflectivity = 1.0
"""
    _, vol = build(tmp_path, scene_text([], 0.5, (-5, -5, 0), (5, 5, 20), extra))
    np.testing.assert_array_equal(vol.point_reflectors_mm, [[0, 0, 10], [-3, 1, 12]])
    np.testing.assert_array_equal(vol.point_reflectivity, [0.5, 1.0])
    assert vol.seed == 3
    assert vol.labels.max() == 0
    assert vol.boundary_index.size == 0
    assert len(vol.structures) == 1


def test_volume_arrays_read_only(tmp_path, spheres):
    _, vol = build(
        tmp_path, scene_text([("s", spheres[1], "fluid", 1)], 0.5, (-5, -5, 0), (5, 5, 20))
    )
    with pytest.raises(ValueError, match="read-only"):
        vol.labels[0, 0, 0] = 1


def test_large_scene_builds_fast(tmp_path):
    """80 x 80 x 80 mm at 0.25 mm (321^3 voxels) with 5 structures: under 5 s."""
    meshes = []
    for i, (centre, r) in enumerate(
        [((0, 0, 40), 35), ((0, 0, 15), 5), ((10, 10, 50), 8), ((-15, 0, 30), 6)]
    ):
        path = tmp_path / f"s{i}.vtp"
        write_vtp(sphere_mesh(centre, r), path)
        meshes.append(path)
    slab = tmp_path / "slab.vtp"
    write_vtp(box_mesh((-30, 30, -30, 30, 60, 70)), slab)
    structures = [
        ("big", meshes[0], "muscle", 1),
        ("cyst", meshes[1], "fluid", 5),
        ("nerve", meshes[2], "nerve", 5),
        ("vessel", meshes[3], "blood", 5),
        ("bone", slab, "bone", 3),
    ]
    text = scene_text(structures, 0.25, (-40, -40, 0), (40, 40, 80))
    t0 = time.perf_counter()
    _, vol = build(tmp_path, text)
    elapsed = time.perf_counter() - t0
    assert vol.shape == (321, 321, 321)
    assert set(np.unique(vol.labels)) == {0, 1, 2, 3, 4, 5}
    assert elapsed < 5.0, f"build took {elapsed:.2f} s"
