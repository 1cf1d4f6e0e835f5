"""The procedure library: every scene loads, renders its canonical view with
the target in the image, shows its structures at their stated depths, keeps
its suggested needle path clear of bone and of the structures to avoid, and
has the stated structure sizes."""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import pytest

from anatomy_meshes import MESH_DIR
from anatomy_meshes.library import generate_all, scene_builders
from scenes import Scene, load_scene, load_scene_spec
from scenes.cache import SCENES_DIR
from scenes.checks import (
    CanonicalView,
    check_canonical_view,
    check_dimensions,
    check_needle_path,
    render_canonical,
)
from scenes.procedure import FAMILIES, REGIONS
from simulator.image_labels import section_of

PROCEDURE_DIR = SCENES_DIR / "procedures"
PROCEDURE_FILES = sorted(PROCEDURE_DIR.glob("*.toml"))
IDS = [p.stem for p in PROCEDURE_FILES]

#: The procedures issue 3 asks for, by family.
REQUIRED_SCENES = {
    "joint": [
        "knee_suprapatellar_recess",
        "shoulder_glenohumeral_posterior",
        "hip_anterior_recess",
        "sacroiliac_joint",
    ],
    "bursa_tendon": [
        "subacromial_bursa",
        "supraspinatus_tendon",
        "common_extensor_origin",
        "patellar_tendon",
        "achilles_paratenon",
        "plantar_fascia",
        "de_quervain",
    ],
    "perineural": [
        "carpal_tunnel_median",
        "ulnar_nerve_cubital_tunnel",
        "suprascapular_nerve",
        "genicular_nerves",
        "infrapatellar_saphenous",
        "sciatic_piriformis",
    ],
}

_CACHE_DIR = Path(tempfile.mkdtemp(prefix="procedure-cache-"))


@functools.cache
def _scene(stem: str) -> Scene:
    return load_scene(PROCEDURE_DIR / f"{stem}.toml", cache_dir=_CACHE_DIR)


@functools.cache
def _canonical(stem: str) -> CanonicalView:
    return render_canonical(_scene(stem))


def test_library_covers_every_required_procedure() -> None:
    specs = [load_scene_spec(p) for p in PROCEDURE_FILES]
    assert len(specs) >= 16
    by_name = {s.name: s for s in specs}
    for family, names in REQUIRED_SCENES.items():
        for name in names:
            assert name in by_name, f"missing procedure scene {name}"
            assert by_name[name].procedure.family == family
    assert {s.procedure.family for s in specs} == set(FAMILIES)
    assert {s.procedure.region for s in specs} == set(REGIONS)


def test_scene_file_names_match_scene_names() -> None:
    for path in PROCEDURE_FILES:
        assert load_scene_spec(path).name == path.stem


@pytest.mark.parametrize("stem", IDS)
def test_scene_carries_everything_a_procedure_needs(stem: str) -> None:
    spec = load_scene_spec(PROCEDURE_DIR / f"{stem}.toml")
    proc = spec.procedure
    assert proc is not None
    assert proc.sources and proc.teaching.steps and proc.teaching.pitfalls
    assert proc.teaching.sono_anatomy and proc.labels and proc.rubric.criteria
    avoid = [s for s in spec.structures if s.role == "avoid"]
    assert avoid, "a procedure names the structures to avoid"
    assert all(s.harm for s in avoid)
    assert any(s.role == "target" for s in spec.structures) or proc.target.radius_mm
    assert any(c.critical for c in proc.rubric.criteria), "a rubric has a safety criterion"
    assert proc.dimensions, "stated sizes with sources"


@pytest.mark.parametrize("stem", IDS)
def test_canonical_view_shows_target_and_labels_at_their_depths(stem: str) -> None:
    scene = _scene(stem)
    view = _canonical(stem)
    assert view.frame.image.std() > 0.05, "a real image, not a blank"
    assert check_canonical_view(scene, view) == []
    proc = scene.spec.procedure
    if proc.target.structure is not None:
        label = scene.volume.structure_index(proc.target.structure)
        assert section_of(view.labels, view.frame.geometry, label).area_mm2 > 0.5
    assert sum(lab.depth_mm is not None for lab in proc.labels) >= 2, (
        "at least two labelled structures state their depth"
    )


@pytest.mark.parametrize("stem", IDS)
def test_needle_path_to_target_is_clear(stem: str) -> None:
    assert check_needle_path(_scene(stem)) == []


@pytest.mark.parametrize("stem", IDS)
def test_structure_sizes_match_their_specification(stem: str) -> None:
    spec = load_scene_spec(PROCEDURE_DIR / f"{stem}.toml")
    assert len(spec.procedure.dimensions) >= 2
    assert check_dimensions(spec) == []


def test_every_scene_module_has_a_scene_file_and_uses_its_meshes() -> None:
    builders = scene_builders()
    for scene, meshes in builders.items():
        spec = load_scene_spec(PROCEDURE_DIR / f"{scene}.toml")
        used = {p.name for p in spec.mesh_paths if p.parent.name == scene}
        assert used == set(meshes), f"{scene}: meshes generated but unused, or used but not built"


def test_regenerating_the_meshes_gives_identical_files(tmp_path: Path) -> None:
    written = generate_all(tmp_path)
    assert len(written) > 100
    for path in written:
        committed = MESH_DIR / path.relative_to(tmp_path)
        assert committed.read_bytes() == path.read_bytes(), f"{committed} differs"
