"""Shared pytest configuration. Qt/X set-up is left to pytest-qt and pytest-xvfb."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))


@pytest.fixture
def tmp_cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point ``INJECTION_SIM_CACHE`` at an empty temporary directory."""
    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setenv("INJECTION_SIM_CACHE", str(cache))
    return cache


@pytest.fixture(scope="module")
def scene_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One temporary scene cache per test module (each scene voxelised once)."""
    cache = tmp_path_factory.mktemp("scene_cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INJECTION_SIM_CACHE", str(cache))
        yield cache
