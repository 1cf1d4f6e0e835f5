"""Progress reports (and cancellation) of scene loading and voxelising; no Qt."""

from __future__ import annotations

import re
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from scenes import build_volume, load_scene, load_scene_spec
from scenes.cache import find_scene
from scenes.voxelize import ProgressRange, paint_labels

SCENE = "suprascapular_nerve"  # 14 structures, about 0.3 s to voxelise


class _StopError(Exception):
    pass


def _record() -> tuple[list[tuple[float, str]], object]:
    calls: list[tuple[float, str]] = []
    return calls, lambda f, m: calls.append((f, m))


def _check_sequence(calls: list[tuple[float, str]]) -> None:
    fractions = [f for f, _ in calls]
    assert fractions, "no progress reported"
    assert all(0.0 <= f <= 1.0 for f in fractions)
    assert all(b >= a for a, b in pairwise(fractions)), fractions
    assert calls[-1] == (1.0, "ready")
    assert sum(1 for _, m in calls if m == "ready") == 1


@pytest.fixture(scope="module")
def cold(tmp_path_factory: pytest.TempPathFactory):
    """A cache miss then a hit of SCENE in one fresh cache folder."""
    cache = tmp_path_factory.mktemp("progress_cache")
    miss, cb_miss = _record()
    scene_miss = load_scene(SCENE, cache_dir=cache, progress=cb_miss)
    hit, cb_hit = _record()
    scene_hit = load_scene(SCENE, cache_dir=cache, progress=cb_hit)
    return scene_miss, miss, scene_hit, hit


def test_cache_miss_progress_names_every_structure(cold) -> None:
    scene, calls, _, _ = cold
    assert not scene.cache_hit
    _check_sequence(calls)
    assert calls[0] == (0.0, "reading scene file")
    messages = [m for _, m in calls]
    n = len(scene.spec.structures)
    painted = [re.fullmatch(r"voxelising (\w+) \((\d+)/(\d+)\)", m) for m in messages]
    painted = [p for p in painted if p]
    assert sorted(p[1] for p in painted) == sorted(s.name for s in scene.spec.structures)
    assert [int(p[2]) for p in painted] == list(range(1, n + 1))
    assert all(int(p[3]) == n for p in painted)
    i_paint = messages.index(painted[0][0])
    i_normals = messages.index("interface normals")
    i_write = messages.index("writing cache")
    assert i_paint < i_normals < i_write < len(messages) - 1
    # the stages are weighted by their measured time: normals take most of a build
    f = dict((m, x) for x, m in calls)
    assert 0.15 < f["interface normals"] < 0.5
    assert f["writing cache"] >= 0.9


def test_cache_hit_progress(cold) -> None:
    _, _, scene, calls = cold
    assert scene.cache_hit
    _check_sequence(calls)
    messages = [m for _, m in calls]
    assert "reading cache" in messages
    assert not any(m.startswith("voxelising") or m == "writing cache" for m in messages)
    f_read = next(f for f, m in calls if m == "reading cache")
    assert 0.0 < f_read < 1.0


def test_build_volume_and_paint_labels_report_and_stay_compatible() -> None:
    spec = load_scene_spec(find_scene("phantom_cyst"))
    calls, cb = _record()
    volume = build_volume(spec, progress=cb)
    _check_sequence(calls)
    assert any(m.startswith("voxelising ") for _, m in calls)
    assert "interface normals" in [m for _, m in calls]
    calls2, cb2 = _record()
    labels = paint_labels(spec, cb2)
    _check_sequence(calls2)
    # the callback changes nothing in the result; both signatures still work
    np.testing.assert_array_equal(labels, paint_labels(spec))
    np.testing.assert_array_equal(volume.labels, build_volume(spec).labels)


def test_exception_in_progress_cancels_and_writes_no_cache(tmp_path: Path) -> None:
    def stop_at_normals(fraction: float, message: str) -> None:
        if message == "interface normals":
            raise _StopError

    with pytest.raises(_StopError):
        load_scene(SCENE, cache_dir=tmp_path, progress=stop_at_normals)
    assert list(tmp_path.iterdir()) == []  # nothing half-written left behind


def test_progress_range_maps_clamps_and_never_decreases() -> None:
    calls, cb = _record()
    outer = ProgressRange(cb, 0.2, 0.6)
    outer(0.5, "a")
    inner = outer.sub(0.5, 1.0)
    inner(0.0, "b")
    inner(2.0, "c")
    outer(0.1, "d")  # going back is reported at the high-water mark
    assert calls == [
        (pytest.approx(0.4), "a"),
        (pytest.approx(0.4), "b"),
        (pytest.approx(0.6), "c"),
        (pytest.approx(0.6), "d"),
    ]
    ProgressRange(None)(0.5, "nothing happens")
