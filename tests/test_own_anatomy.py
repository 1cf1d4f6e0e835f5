"""The "bring your own anatomy" worked example (docs/own_anatomy.md).

A scene on STL files in 3D Slicer's RAS coordinates (examples/own_anatomy/)
loads like a built-in scene, passes the procedure checks, really goes through
its ``[mesh_transform]``, and a broken copy gives an error naming the file
and the field.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from scenes import Scene, SceneError, load_scene, load_scene_spec
from scenes.checks import check_scene
from simulator.app import cli

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_DIR = ROOT / "examples" / "own_anatomy"
SCENE_FILE = EXAMPLE_DIR / "forearm.toml"
SEGMENTATION_DIR = EXAMPLE_DIR / "segmentation"
DOC = ROOT / "docs" / "own_anatomy.md"

#: Centre of the median nerve: in the STL files (Slicer RAS) and in the scene frame.
NERVE_CENTRE_RAS = (-12.0, 25.5, 410.0)
NERVE_CENTRE_WORLD = (0.0, 0.0, 9.5)


def _generator():
    spec = importlib.util.spec_from_file_location(
        "own_anatomy_make_segmentation", EXAMPLE_DIR / "make_segmentation.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("own-anatomy-cache")


@pytest.fixture(scope="module")
def scene(cache_dir: Path) -> Scene:
    return load_scene(SCENE_FILE, cache_dir=cache_dir)


def _copy_example(dest: Path, edit=None) -> Path:
    """The scene file and its STL folder copied to ``dest``; ``edit`` rewrites the TOML."""
    shutil.copytree(SEGMENTATION_DIR, dest / "segmentation")
    text = SCENE_FILE.read_text(encoding="utf-8")
    out = dest / "forearm.toml"
    out.write_text(edit(text) if edit else text, encoding="utf-8")
    return out


def _without_mesh_transform(text: str) -> str:
    edited, n = re.subn(r"(?ms)^\[mesh_transform\]\n.*?(?=^\[)", "", text)
    assert n == 1
    return edited


def test_generator_reproduces_the_committed_stl_files(tmp_path: Path) -> None:
    assert _generator().main(["--out", str(tmp_path)]) == 0
    made = sorted(p.name for p in tmp_path.glob("*.stl"))
    committed = sorted(p.name for p in SEGMENTATION_DIR.glob("*.stl"))
    assert made == committed
    assert len(made) >= 6
    for name in made:
        assert (tmp_path / name).read_bytes() == (SEGMENTATION_DIR / name).read_bytes(), name
    assert sum((SEGMENTATION_DIR / n).stat().st_size for n in made) < 300_000


def test_stl_files_are_in_slicer_coordinates_not_the_scene_frame() -> None:
    from scenes.meshes import mesh_points, read_mesh

    skin = mesh_points(read_mesh(SEGMENTATION_DIR / "skin.stl"))
    assert skin[:, 1].max() == pytest.approx(35.0)  # skin surface at A = 35
    assert skin[:, 2].mean() == pytest.approx(410.0)  # around S = 410
    nerve = mesh_points(read_mesh(SEGMENTATION_DIR / "median_nerve.stl"))
    centre = (nerve.min(axis=0) + nerve.max(axis=0)) / 2.0
    assert centre == pytest.approx(NERVE_CENTRE_RAS, abs=1e-3)


def test_example_scene_loads_and_passes_every_check(scene: Scene) -> None:
    spec = scene.spec
    assert spec.name == "own_forearm_median"
    assert all(p.suffix == ".stl" and p.parent == SEGMENTATION_DIR for p in spec.mesh_paths)
    tissues = {s.name: s.tissue for s in spec.structures}
    for tissue in ("skin", "fat", "muscle", "tendon", "nerve", "bone"):
        assert tissue in tissues.values()
    nerve = spec.structure("median_nerve")
    assert (nerve.role, nerve.harm) == ("avoid", "intraneural")
    assert spec.procedure is not None
    assert spec.procedure.target.structure == "perineural_space"
    assert len(spec.procedure.dimensions) >= 2
    counts = np.bincount(scene.volume.labels.ravel(), minlength=len(spec.structures) + 1)
    assert np.all(counts[1:] > 0), "every structure covers voxels"
    assert check_scene(scene) == []


def test_mesh_transform_is_applied(scene: Scene, tmp_path: Path) -> None:
    spec = scene.spec
    m = spec.mesh_matrix
    assert m is not None
    assert m[:3, :3] @ NERVE_CENTRE_RAS + m[:3, 3] == pytest.approx(NERVE_CENTRE_WORLD, abs=1e-9)
    nerve_label = scene.volume.structure_index("median_nerve")
    assert int(scene.volume.label_at(np.asarray(NERVE_CENTRE_WORLD))) == nerve_label
    skin_label = scene.volume.structure_index("skin")
    assert int(scene.volume.label_at(np.array([0.0, 0.0, 0.5]))) == skin_label
    assert int(scene.volume.label_at(np.array([0.0, 0.0, -0.5]))) == 0  # above the skin

    raw = load_scene(_copy_example(tmp_path, _without_mesh_transform), cache_dir=tmp_path / "c")
    assert raw.spec.mesh_matrix is None
    assert int(raw.volume.label_at(np.asarray(NERVE_CENTRE_WORLD))) != nerve_label
    assert not np.any(raw.volume.labels), "the RAS meshes lie outside the scene bounds"


def test_check_scene_command_passes(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("INJECTION_SIM_CACHE", str(cache_dir))
    assert cli.main(["check-scene", str(SCENE_FILE)]) == 0
    out = capsys.readouterr().out
    assert "valid" in out
    assert "checks passed" in out
    assert "warning" not in out


def _drop_last_triangle(stl: Path) -> None:
    """Punch a hole: remove the last facet of a binary STL."""
    data = stl.read_bytes()
    (n,) = struct.unpack_from("<I", data, 80)
    stl.write_bytes(data[:80] + struct.pack("<I", n - 1) + data[84 : 84 + 50 * (n - 1)])


def test_open_mesh_is_reported_with_file_and_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    scene_file = _copy_example(tmp_path)
    _drop_last_triangle(tmp_path / "segmentation" / "median_nerve.stl")
    with pytest.raises(SceneError) as err:
        load_scene_spec(scene_file)
    message = str(err.value)
    assert str(scene_file) in message
    assert "structures[5] ('median_nerve')" in message
    assert "segmentation/median_nerve.stl" in message
    assert "not watertight" in message
    monkeypatch.setenv("INJECTION_SIM_CACHE", str(tmp_path / "cache"))
    assert cli.main(["check-scene", str(scene_file)]) == cli.EXIT_USER_ERROR
    assert "error: " + message in capsys.readouterr().err


def test_tissue_typo_is_reported_with_file_and_field(tmp_path: Path) -> None:
    def typo(text: str) -> str:
        assert text.count('tissue = "nerve"') == 1
        return text.replace('tissue = "nerve"', 'tissue = "nerv"')

    scene_file = _copy_example(tmp_path, typo)
    with pytest.raises(SceneError) as err:
        load_scene_spec(scene_file)
    message = str(err.value)
    assert str(scene_file) in message
    assert "structures[5] ('median_nerve'): tissue: unknown tissue 'nerv'" in message
    assert "did you mean 'nerve'" in message


def test_guide_shows_the_example_mesh_transform() -> None:
    text = "\n".join(line.strip() for line in DOC.read_text(encoding="utf-8").splitlines())
    section = re.search(r"(?ms)^\[mesh_transform\]\n.*?(?=\n\n)", SCENE_FILE.read_text()).group(0)
    assert section in text
    assert "examples/own_anatomy/forearm.toml" in text
    assert "check-scene" in text
