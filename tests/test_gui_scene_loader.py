"""SceneLoader: scenes loaded off the GUI thread, newest request wins (pytest-qt)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")
from PySide6.QtCore import QCoreApplication, QThread, QTimer

from scenes import Scene
from simulator.gui.scene_loader import SceneLoader

SLOW = "carpal_tunnel_median"  # about 1 s to voxelise on a cold cache
FAST = "phantom_cyst"
SLOWEST = "demo_msk"  # about 2.5 s cold: the largest volume in the library


@pytest.fixture(scope="module")
def warm_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One cache folder for the module (each scene voxelised once)."""
    cache = tmp_path_factory.mktemp("loader_cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INJECTION_SIM_CACHE", str(cache))
        yield cache


def _collect(loader: SceneLoader) -> dict[str, list]:
    got: dict[str, list] = {"progress": [], "loaded": [], "failed": [], "threads": []}
    gui = QCoreApplication.instance().thread()

    def on_progress(f: float, m: str) -> None:
        got["progress"].append((f, m))
        got["threads"].append(QThread.currentThread() is gui)

    def on_loaded(scene: object) -> None:
        got["loaded"].append(scene)
        got["threads"].append(QThread.currentThread() is gui)

    def on_failed(message: str) -> None:
        got["failed"].append(message)
        got["threads"].append(QThread.currentThread() is gui)

    loader.progress.connect(on_progress)
    loader.loaded.connect(on_loaded)
    loader.failed.connect(on_failed)
    return got


def test_synchronous_load_emits_before_returning(qtbot, warm_cache: Path) -> None:
    loader = SceneLoader(synchronous=True)
    got = _collect(loader)
    request = loader.load(FAST)
    assert request == 1 and not loader.busy
    assert len(got["loaded"]) == 1 and not got["failed"]
    scene = got["loaded"][0]
    assert isinstance(scene, Scene) and scene.spec.name == FAST
    assert "meshes" in scene.__dict__  # the VTK meshes were read by the loader
    fractions = [f for f, _ in got["progress"]]
    assert fractions == sorted(fractions) and got["progress"][-1] == (1.0, "ready")


def test_async_load_delivers_on_the_gui_thread(qtbot, warm_cache: Path) -> None:
    loader = SceneLoader()
    got = _collect(loader)
    with qtbot.waitSignal(loader.loaded, timeout=60_000):
        loader.load(SLOW)
        assert loader.busy
    assert not loader.busy
    scene = got["loaded"][0]
    assert isinstance(scene, Scene) and scene.spec.name == SLOW
    assert set(scene.meshes) == {s.name for s in scene.spec.structures}
    assert got["progress"] and got["progress"][-1] == (1.0, "ready")
    fractions = [f for f, _ in got["progress"]]
    assert fractions == sorted(fractions)
    assert got["threads"] and all(got["threads"])  # every slot ran on the GUI thread


def test_broken_scene_file_fails_with_its_name(qtbot, warm_cache: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken_scene.toml"
    broken.write_text('[scene]\nname = "broken"\nseed = "not a number"\n', encoding="utf-8")
    loader = SceneLoader()
    got = _collect(loader)
    with qtbot.waitSignal(loader.failed, timeout=30_000) as blocker:
        loader.load(broken)
    message = blocker.args[0]
    assert "broken_scene.toml" in message
    assert "Traceback" not in message and "\n" not in message
    assert not got["loaded"] and not loader.busy
    assert all(got["threads"])


def test_unknown_scene_name_fails(qtbot, warm_cache: Path) -> None:
    loader = SceneLoader(synchronous=True)
    got = _collect(loader)
    loader.load("no_such_scene")
    assert len(got["failed"]) == 1 and "no_such_scene" in got["failed"][0]


def test_newer_request_supersedes_older(qtbot, tmp_path: Path) -> None:
    loader = SceneLoader(cache_dir=tmp_path)  # cold: the first load would take ~1 s
    got = _collect(loader)
    with qtbot.waitSignal(loader.loaded, timeout=60_000):
        first = loader.load(SLOW)
        second = loader.load(FAST)
    assert second > first
    assert loader.wait(30_000)
    qtbot.wait(50)
    assert [s.spec.name for s in got["loaded"]] == [FAST]
    assert not got["failed"]
    # nothing of the superseded request reached the slots, and its build was abandoned
    assert not any("median" in m or "carpal" in m for _, m in got["progress"])
    assert not list(tmp_path.glob(f"{SLOW}-*"))
    assert list(tmp_path.glob(f"{FAST}-*"))


def test_gui_keeps_ticking_during_a_cold_load(qtbot, tmp_path: Path) -> None:
    loader = SceneLoader(cache_dir=tmp_path)
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    start = time.perf_counter()
    with qtbot.waitSignal(loader.loaded, timeout=60_000) as blocker:
        loader.load(SLOWEST)
    duration = time.perf_counter() - start
    timer.stop()
    assert not blocker.args[0].cache_hit
    assert duration > 0.5, "the scene loaded too fast to test responsiveness"
    gaps = [b - a for a, b in pairwise(ticks)]
    assert len(ticks) >= 0.5 * duration / 0.020
    assert max(gaps) < 0.150, f"GUI stalled {max(gaps) * 1000:.0f} ms during the load"
