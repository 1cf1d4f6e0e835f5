"""``scenes.checks`` catches the mistakes it exists for, on edited copies of a
library scene: a needle path through an artery, a wrong stated depth, a wrong
stated size, an aim point outside the target."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from anatomy_meshes.primitives import Station, box, ellipsoid, loft
from scenes import load_scene
from scenes.cache import SCENES_DIR
from scenes.checks import check_scene, path_obstacles
from scenes.measure import chord_mm, section_area_mm2

SOURCE = SCENES_DIR / "procedures" / "carpal_tunnel_median.toml"


def _edited(tmp_path: Path, old: str, new: str) -> Path:
    text = SOURCE.read_text()
    assert old in text
    text = text.replace(old, new, 1)
    # meshes are named relative to the package folder, so the copy still finds them
    path = tmp_path / "edited.toml"
    path.write_text(text)
    return path


def test_the_library_scene_passes(tmp_path: Path) -> None:
    assert check_scene(load_scene(SOURCE, cache_dir=tmp_path)) == []


def test_needle_through_the_artery_is_reported(tmp_path: Path) -> None:
    # a flatter path from further ulnar runs through Guyon's canal
    path = _edited(tmp_path, "entry_mm = [-17.0, 0.0, 0.0]", "entry_mm = [-22.0, 0.0, 0.0]")
    scene = load_scene(path, cache_dir=tmp_path)
    names = {s.name for s in path_obstacles(scene, [-10.5, 0.0, 0.0], [-10.5, 0.0, 8.0])}
    assert {"ulnar_artery_wall", "ulnar_artery_lumen"} <= names
    findings = [str(f) for f in check_scene(scene)]
    assert findings
    assert all(f.startswith("[needle]: the path from entry_mm") for f in findings)
    assert any("'ulnar_artery_lumen'" in f and "arterial_puncture" in f for f in findings)


def test_wrong_depth_wrong_size_and_missed_target_are_reported(tmp_path: Path) -> None:
    text = SOURCE.read_text()
    text = text.replace("depth_mm = 5.2", "depth_mm = 7.5", 1)  # median nerve label
    text = text.replace("value = 1.2", "value = 2.0", 1)  # ligament thickness
    text = text.replace("point_mm = [0.8, 0.0, 5.1]", "point_mm = [2.5, 0.0, 6.3]", 1)
    path = tmp_path / "edited.toml"
    path.write_text(text)
    findings = [str(f) for f in check_scene(load_scene(path, cache_dir=tmp_path))]
    joined = "\n".join(findings)
    assert re.search(r"labels\[0\].*'median_nerve'.*7\.5 mm.*at 5\.\d+ mm", joined)
    assert re.search(r"dimensions\[1\].*thickness is 1\.20 mm.*stated 2\.0", joined)
    assert "[target]: point_mm lies in 'median_nerve_fascicles'" in joined or (
        "[target]: point_mm lies in 'median_nerve'" in joined
    )


def test_measurements_on_known_shapes() -> None:
    cyl = loft([Station((0, -10, 5), 3.0, 1.5), Station((0, 10, 5), 3.0, 1.5)], round_ends=False)
    assert section_area_mm2(cyl, np.array([0.0, 0.0, 5.0]), np.array([0, 1, 0])) == pytest.approx(
        np.pi * 3.0 * 1.5, rel=0.01
    )
    assert chord_mm(cyl, np.array([0.0, 0.0, 5.0]), np.array([0, 0, 1])) == pytest.approx(3.0)
    assert chord_mm(box((0, 4, 0, 4, 0, 2)), np.array([1.0, 1.0, 1.0]), np.array([1, 1, 0])) == (
        pytest.approx(4 * np.sqrt(2), rel=1e-6)
    )
    ell = ellipsoid((0, 0, 10), (5, 4, 3))
    assert np.isnan(chord_mm(ell, np.array([20.0, 0.0, 10.0]), np.array([0, 0, 1])))
