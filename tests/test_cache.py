"""Loading scenes through the on-disk volume cache."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from anatomy_meshes import MESH_DIR
from anatomy_meshes.phantoms import sphere_mesh, write_vtp
from scenes import SceneError, list_scene_files, load_scene
from scenes.cache import SCENES_DIR, cache_key, default_cache_dir, find_scene
from scenes.loader import load_scene_spec


@pytest.fixture
def scene_dir(tmp_path):
    """A private copy of the cyst phantom with its own mesh, so tests can edit both."""
    folder = tmp_path / "scene"
    folder.mkdir()
    shutil.copy(MESH_DIR / "phantoms" / "cyst.vtp", folder / "cyst.vtp")
    text = (SCENES_DIR / "phantoms" / "phantom_cyst.toml").read_text(encoding="utf-8")
    text = text.replace('"phantoms/cyst.vtp"', '"cyst.vtp"').replace(
        "voxel_mm = 0.2", "voxel_mm = 0.5"
    )
    (folder / "cyst.toml").write_text(text, encoding="utf-8")
    return folder


def entries(cache: Path) -> list[Path]:
    return sorted(p for p in cache.iterdir() if p.is_dir())


def assert_same_volume(a, b):
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(a.boundary_index, b.boundary_index)
    np.testing.assert_array_equal(a.boundary_normal, b.boundary_normal)
    np.testing.assert_array_equal(a.point_reflectors_mm, b.point_reflectors_mm)
    np.testing.assert_array_equal(a.point_reflectivity, b.point_reflectivity)
    np.testing.assert_array_equal(a.origin_mm, b.origin_mm)
    assert a.spacing_mm == b.spacing_mm and a.seed == b.seed
    assert [(s.name, s.tissue, s.role) for s in a.structures] == [
        (s.name, s.tissue, s.role) for s in b.structures
    ]
    for sa, sb in zip(a.structures, b.structures, strict=True):
        np.testing.assert_array_equal(sa.fibre_dir, sb.fibre_dir)


def test_second_load_is_a_fast_cache_hit(tmp_path):
    cache = tmp_path / "cache"
    first = load_scene("phantom_bone_slab", cache_dir=cache)
    assert not first.cache_hit
    t0 = time.perf_counter()
    second = load_scene("phantom_bone_slab", cache_dir=cache)
    elapsed = time.perf_counter() - t0
    assert second.cache_hit
    assert elapsed < 0.5, f"cached load took {elapsed:.3f} s"
    assert_same_volume(first.volume, second.volume)
    assert second.spec == first.spec
    assert second.path == SCENES_DIR / "phantoms" / "phantom_bone_slab.toml"
    assert len(entries(cache)) == 1
    assert not second.volume.labels.flags.writeable
    assert set(second.meshes) == {"slab"}
    assert second.meshes["slab"].GetNumberOfPolys() == 12


def test_scene_file_change_invalidates(tmp_path, scene_dir):
    cache = tmp_path / "cache"
    path = scene_dir / "cyst.toml"
    assert not load_scene(path, cache).cache_hit
    assert load_scene(path, cache).cache_hit
    path.write_text(path.read_text().replace("seed = 1003", "seed = 1004"), encoding="utf-8")
    scene = load_scene(path, cache)
    assert not scene.cache_hit
    assert scene.volume.seed == 1004
    assert load_scene(path, cache).cache_hit


def test_mesh_change_invalidates(tmp_path, scene_dir):
    cache = tmp_path / "cache"
    path = scene_dir / "cyst.toml"
    before = load_scene(path, cache)
    old_key = cache_key(before.spec)
    # same bytes, new mtime: content-keyed, so still a hit
    os.utime(scene_dir / "cyst.vtp", ns=(time.time_ns(), time.time_ns() + 10**9))
    assert load_scene(path, cache).cache_hit
    write_vtp(sphere_mesh((0.0, 0.0, 15.0), 7.0), scene_dir / "cyst.vtp")
    after = load_scene(path, cache)
    assert not after.cache_hit
    assert cache_key(after.spec) != old_key
    assert (after.volume.labels == 1).sum() > 2 * (before.volume.labels == 1).sum()


@pytest.mark.parametrize(
    "damage", ["truncate_labels", "garbage_meta", "missing_normals", "wrong_version"]
)
def test_corrupt_entry_is_rebuilt(tmp_path, scene_dir, damage):
    cache = tmp_path / "cache"
    path = scene_dir / "cyst.toml"
    good = load_scene(path, cache)
    (entry,) = entries(cache)
    if damage == "truncate_labels":
        data = (entry / "labels.npy").read_bytes()
        (entry / "labels.npy").write_bytes(data[: len(data) // 2])
    elif damage == "garbage_meta":
        (entry / "meta.json").write_text("{not json", encoding="utf-8")
    elif damage == "missing_normals":
        (entry / "boundary_normal.npy").unlink()
    else:
        meta = json.loads((entry / "meta.json").read_text())
        meta["format_version"] = -1
        (entry / "meta.json").write_text(json.dumps(meta))
    rebuilt = load_scene(path, cache)
    assert not rebuilt.cache_hit
    assert_same_volume(good.volume, rebuilt.volume)
    again = load_scene(path, cache)
    assert again.cache_hit
    assert_same_volume(good.volume, again.volume)


def test_no_temporary_leftovers(tmp_path, scene_dir):
    cache = tmp_path / "cache"
    load_scene(scene_dir / "cyst.toml", cache)
    names = [p.name for p in cache.iterdir()]
    assert len(names) == 1 and names[0].startswith("phantom_cyst-")
    assert sorted(p.name for p in (cache / names[0]).iterdir()) == [
        "boundary_index.npy",
        "boundary_normal.npy",
        "labels.npy",
        "meta.json",
        "point_reflectivity.npy",
        "point_reflectors_mm.npy",
    ]


def test_unwritable_cache_still_loads(tmp_path, scene_dir):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    scene = load_scene(scene_dir / "cyst.toml", cache_dir=blocker / "sub")
    assert not scene.cache_hit
    assert scene.volume.labels.max() == 1


def test_default_cache_dir_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("INJECTION_SIM_CACHE", str(tmp_path / "envcache"))
    assert default_cache_dir() == tmp_path / "envcache"
    load_scene("phantom_points")
    assert len(entries(tmp_path / "envcache")) == 1
    monkeypatch.delenv("INJECTION_SIM_CACHE")
    assert default_cache_dir() == Path.home() / ".cache" / "injection-simulator"


def test_scene_names(tmp_path):
    files = list_scene_files()
    assert all(p.suffix == ".toml" for p in files)
    assert find_scene("phantom_cyst") == SCENES_DIR / "phantoms" / "phantom_cyst.toml"
    with pytest.raises(SceneError) as info:
        load_scene("phantom_cist", cache_dir=tmp_path)
    message = str(info.value)
    assert "unknown scene 'phantom_cist'" in message
    assert "phantom_cyst" in message and "phantom_tendon" in message
    with pytest.raises(SceneError, match=r"missing\.toml"):
        load_scene(tmp_path / "missing.toml", cache_dir=tmp_path)


def test_invalid_scene_through_load_scene(tmp_path, scene_dir):
    path = scene_dir / "cyst.toml"
    path.write_text(path.read_text().replace("depth_mm", "dpeth_mm"), encoding="utf-8")
    with pytest.raises(SceneError, match=r"cyst\.toml.*\[imaging\] unknown key 'dpeth_mm'"):
        load_scene(path, cache_dir=tmp_path / "cache")


@pytest.mark.parametrize("path", list_scene_files(), ids=lambda p: p.stem)
def test_builtin_scenes_build(tmp_path, path):
    scene = load_scene(path, cache_dir=tmp_path)
    spec = load_scene_spec(path)
    assert scene.volume.shape == spec.grid_shape
    assert len(scene.volume.structures) == len(spec.structures) + 1
    assert scene.volume.seed == spec.seed
