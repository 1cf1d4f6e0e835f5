"""Scene file validation: every user mistake is a SceneError naming file and field."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from vtkmodules.vtkFiltersSources import vtkCubeSource
from vtkmodules.vtkIOGeometry import vtkOBJWriter, vtkSTLWriter
from vtkmodules.vtkIOPLY import vtkPLYWriter

from anatomy_meshes import MESH_DIR
from anatomy_meshes.phantoms import box_mesh, write_vtp
from scenes import SceneError, list_scene_files, load_scene_spec
from scenes.meshes import MeshError, check_closed, read_mesh
from simulator.probe import PROBES, ImagingSettings

BASE = """
[scene]
name = "test_scene"
seed = 7
background = "soft_tissue"
voxel_mm = 0.5
bounds_min_mm = [-10.0, -10.0, -1.0]
bounds_max_mm = [10.0, 10.0, 30.0]

[probe]
model = "linear_38"
position_mm = [0.0, 0.0, 0.0]

[imaging]
depth_mm = 30.0
freq_mhz = 10.0

[[structures]]
name = "slab"
mesh = "phantoms/bone_slab.vtp"
tissue = "bone"
priority = 10

[[structures]]
name = "cyst"
mesh = "phantoms/cyst.vtp"
tissue = "fluid"
priority = 5

[[point_targets]]
position_mm = [0.0, 0.0, 10.0]
reflectivity = 0.5
"""


def write(tmp_path: Path, text: str, name: str = "scene.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def mutate(old: str, new: str) -> str:
    assert old in BASE, old
    return BASE.replace(old, new, 1)


def test_base_scene_loads(tmp_path):
    spec = load_scene_spec(write(tmp_path, BASE))
    assert spec.name == "test_scene"
    assert spec.seed == 7
    assert spec.grid_shape == (41, 41, 63)
    assert [s.name for s in spec.structures] == ["slab", "cyst"]
    assert spec.structures[0].mesh_path == MESH_DIR / "phantoms" / "bone_slab.vtp"
    assert spec.structures[0].role == "context"
    assert spec.imaging.depth_mm == 30.0
    assert spec.imaging.focus_mm == ImagingSettings().focus_mm
    assert spec.point_targets[0].reflectivity == 0.5
    assert spec.probe.probe2world.shape == (4, 4)


@pytest.mark.parametrize("path", list_scene_files(), ids=lambda p: p.stem)
def test_builtin_scenes_load(path):
    spec = load_scene_spec(path)
    assert spec.name == path.stem
    assert spec.probe.model in PROBES
    spec.imaging.validate(spec.probe.probe)


def test_builtin_phantoms_present():
    names = {p.stem for p in list_scene_files()}
    assert {
        "phantom_homogeneous",
        "phantom_bone_slab",
        "phantom_cyst",
        "phantom_tendon",
        "phantom_points",
    } <= names


def test_tendon_fibre_direction_and_pca_default(tmp_path):
    tendon = load_scene_spec(next(p for p in list_scene_files() if p.stem == "phantom_tendon"))
    assert tendon.structures[0].fibre_direction == (1.0, 0.0, 0.0)
    text = BASE.replace("phantoms/bone_slab.vtp", "phantoms/tendon.vtp")
    spec = load_scene_spec(write(tmp_path, text))
    assert not spec.structures[0].fibre_direction_given
    np.testing.assert_allclose(np.abs(spec.structures[0].fibre_direction), [1, 0, 0], atol=1e-6)
    text = mutate("priority = 10\n", "priority = 10\nfibre_direction = [0, 2, 0]\n")
    spec = load_scene_spec(write(tmp_path, text))
    assert spec.structures[0].fibre_direction == (0.0, 1.0, 0.0)


# (description, scene text, substrings the message must contain besides the file name)
BAD = [
    ("toml syntax", mutate("seed = 7", "seed = = 7"), ["TOML syntax error", "line 4"]),
    (
        "unknown key with suggestion",
        mutate("depth_mm = 30.0", "dpeth_mm = 30.0"),
        ["[imaging]", "unknown key 'dpeth_mm'", "did you mean 'depth_mm'"],
    ),
    (
        "unknown key in structure",
        mutate('tissue = "bone"', 'tissue = "bone"\ncolor = [1, 0, 0]'),
        ["structures[0] ('slab')", "'color'", "did you mean 'colour'"],
    ),
    ("unknown section", BASE + "\n[imagng]\n", ["unknown section [imagng]", "'imaging'"]),
    (
        "missing section",
        BASE.replace('[probe]\nmodel = "linear_38"\nposition_mm = [0.0, 0.0, 0.0]\n', ""),
        ["missing required section [probe]"],
    ),
    ("missing key", mutate("seed = 7\n", ""), ["[scene]", "missing required key 'seed'"]),
    ("bool is not int", mutate("seed = 7", "seed = true"), ["[scene]", "seed", "integer"]),
    ("float is not int", mutate("seed = 7", "seed = 7.5"), ["[scene]", "seed", "integer"]),
    ("negative seed", mutate("seed = 7", "seed = -1"), ["[scene]", "seed", ">= 0"]),
    ("string for float", mutate("voxel_mm = 0.5", 'voxel_mm = "0.5"'), ["voxel_mm", "number"]),
    ("voxel too large", mutate("voxel_mm = 0.5", "voxel_mm = 2.0"), ["voxel_mm", "[0.05, 1.0]"]),
    ("bad name", mutate('name = "test_scene"', 'name = "Test Scene"'), ["[scene]", "name"]),
    (
        "vec3 length",
        mutate("position_mm = [0.0, 0.0, 0.0]", "position_mm = [0.0, 0.0]"),
        ["[probe]", "position_mm", "3 numbers"],
    ),
    (
        "bounds order",
        mutate("bounds_max_mm = [10.0, 10.0, 30.0]", "bounds_max_mm = [10.0, -10.0, 30.0]"),
        ["[scene]", "bounds_max_mm", "bounds_min_mm"],
    ),
    (
        "unknown background tissue",
        mutate('background = "soft_tissue"', 'background = "sofт"'),
        ["[scene]", "background", "unknown tissue", "known tissues", "soft_tissue"],
    ),
    (
        "unknown structure tissue",
        mutate('tissue = "bone"', 'tissue = "bones"'),
        ["structures[0] ('slab')", "tissue", "did you mean 'bone'", "known tissues"],
    ),
    (
        "unknown probe",
        mutate('model = "linear_38"', 'model = "linear_39"'),
        ["[probe]", "model", "linear_39", "known probes", "curvilinear_60"],
    ),
    ("negative depth", mutate("depth_mm = 30.0", "depth_mm = -3.0"), ["[imaging]", "depth_mm"]),
    (
        "frequency outside band",
        mutate("freq_mhz = 10.0", "freq_mhz = 20.0"),
        ["[imaging]", "freq_mhz", "band", "linear_38"],
    ),
    ("tgc length", mutate("freq_mhz = 10.0", "freq_mhz = 10.0\ntgc_db = [0, 0]"), ["tgc_db"]),
    (
        "duplicate structure",
        mutate('name = "cyst"', 'name = "slab"'),
        ["structures[1] ('slab')", "duplicate", "structures[0]"],
    ),
    (
        "missing mesh",
        mutate("phantoms/cyst.vtp", "femur.vtp"),
        ["structures[1] ('cyst')", "mesh file 'femur.vtp' not found", str(MESH_DIR)],
    ),
    (
        "bad extension",
        mutate("phantoms/cyst.vtp", "phantoms.py"),
        ["structures[1] ('cyst')", "unsupported extension", ".stl", ".ply"],
    ),
    (
        "bad role",
        mutate('tissue = "fluid"', 'tissue = "fluid"\nrole = "targte"'),
        ["structures[1] ('cyst')", "role", "'target'"],
    ),
    (
        "colour range",
        mutate('tissue = "fluid"', 'tissue = "fluid"\ncolour = [1.0, 2.0, 0.0]'),
        ["structures[1] ('cyst')", "colour", "[0, 1]"],
    ),
    (
        "zero fibre",
        mutate('tissue = "fluid"', 'tissue = "fluid"\nfibre_direction = [0, 0, 0]'),
        ["structures[1] ('cyst')", "fibre_direction", "non-zero"],
    ),
    (
        "structure priority missing",
        mutate("priority = 5\n", ""),
        ["structures[1] ('cyst')", "missing required key 'priority'"],
    ),
    (
        "structures as table",
        BASE.split("[[structures]]")[0] + "[structures]\nname = 'x'\n",
        ["[structures]", "array of tables"],
    ),
    (
        "reflectivity range",
        mutate("reflectivity = 0.5", "reflectivity = 0.0"),
        ["point_targets[0]", "reflectivity", "(0.0, 1.0]"],
    ),
    (
        "point outside bounds",
        mutate("position_mm = [0.0, 0.0, 10.0]", "position_mm = [0.0, 0.0, 99.0]"),
        ["point_targets[0]", "outside the scene bounds"],
    ),
]


@pytest.mark.parametrize(("text", "needles"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_validation_errors(tmp_path, text, needles):
    path = write(tmp_path, text)
    with pytest.raises(SceneError) as info:
        load_scene_spec(path)
    message = str(info.value)
    assert f"scene file '{path}'" in message
    for needle in needles:
        assert needle in message, (needle, message)
    assert isinstance(info.value, ValueError)


def test_missing_file_is_scene_error(tmp_path):
    with pytest.raises(SceneError, match=r"nope\.toml"):
        load_scene_spec(tmp_path / "nope.toml")


def test_mesh_relative_to_scene_folder_first(tmp_path):
    write_vtp(box_mesh((-2, 2, -2, 2, 5, 9)), tmp_path / "phantoms" / "cyst.vtp")
    spec = load_scene_spec(write(tmp_path, BASE))
    assert spec.structures[1].mesh_path == (tmp_path / "phantoms" / "cyst.vtp").resolve()


def test_absolute_mesh_path(tmp_path):
    mesh = tmp_path / "m" / "box.vtp"
    write_vtp(box_mesh((-2, 2, -2, 2, 5, 9)), mesh)
    spec = load_scene_spec(write(tmp_path, mutate("phantoms/cyst.vtp", str(mesh))))
    assert spec.structures[1].mesh_path == mesh.resolve()


def _write_cube(writer_cls, path: Path) -> None:
    cube = vtkCubeSource()
    cube.SetBounds(-2, 2, -3, 3, 5, 9)
    writer = writer_cls()
    writer.SetFileName(str(path))
    writer.SetInputConnection(cube.GetOutputPort())
    assert writer.Write() == 1


@pytest.mark.parametrize(
    ("writer_cls", "ext"), [(vtkSTLWriter, ".stl"), (vtkOBJWriter, ".OBJ"), (vtkPLYWriter, ".ply")]
)
def test_other_mesh_formats(tmp_path, writer_cls, ext):
    path = tmp_path / f"cube{ext}"
    _write_cube(writer_cls, path)
    mesh = read_mesh(path)
    assert mesh.GetNumberOfPolys() == 12
    assert check_closed(mesh) == (0, 0)
    np.testing.assert_allclose(mesh.GetBounds(), (-2, 2, -3, 3, 5, 9), atol=1e-5)
    spec = load_scene_spec(write(tmp_path, mutate("phantoms/cyst.vtp", path.name)))
    assert spec.structures[1].mesh_path == path.resolve()


def test_empty_or_garbage_mesh(tmp_path):
    for name, content in [("empty.stl", b""), ("junk.vtp", b"<not xml"), ("junk.ply", b"ply\n")]:
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(MeshError, match=name):
            read_mesh(path)
        with pytest.raises(SceneError, match=r"structures\[1\] \('cyst'\).*unreadable or empty"):
            load_scene_spec(write(tmp_path, mutate("phantoms/cyst.vtp", name)))


def test_open_mesh_refused(tmp_path):
    cube = box_mesh((-2, 2, -2, 2, 5, 9))
    polys = cube.GetPolys()
    # drop the two triangles of one face: keep 10 of 12
    from vtkmodules.vtkCommonCore import vtkIdList
    from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData

    kept = vtkCellArray()
    ids = vtkIdList()
    tris = []
    for i in range(polys.GetNumberOfCells()):
        polys.GetCellAtId(i, ids)
        tris.append([ids.GetId(j) for j in range(3)])
    pts = np.array([cube.GetPoint(i) for i in range(cube.GetNumberOfPoints())])
    top = [t for t in tris if np.allclose(pts[t, 2], 9.0)]
    assert len(top) == 2
    for t in tris:
        if t not in top:
            kept.InsertNextCell(3, t)
    open_mesh = vtkPolyData()
    open_mesh.SetPoints(cube.GetPoints())
    open_mesh.SetPolys(kept)
    path = tmp_path / "open.vtp"
    write_vtp(open_mesh, path)
    assert check_closed(read_mesh(path)) == (4, 0)
    with pytest.raises(SceneError) as info:
        load_scene_spec(write(tmp_path, mutate("phantoms/cyst.vtp", "open.vtp")))
    message = str(info.value)
    assert "structures[1] ('cyst')" in message
    assert "not watertight" in message
    assert "4 open" in message


def test_phantom_meshes_closed_and_regenerate_identically(tmp_path):
    from anatomy_meshes.phantoms import PHANTOM_DIR, generate

    written = generate(tmp_path)
    assert len(written) == 4
    for path in written:
        assert path.read_bytes() == (PHANTOM_DIR / path.name).read_bytes(), path.name
        assert check_closed(read_mesh(path)) == (0, 0)
