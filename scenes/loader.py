"""Reading and validating a scene file into a ``SceneSpec``.

The generic key/type checks come from ``scenes.schema`` driven by the
``scenes.spec.SECTIONS`` table; this module adds the checks that need the
tissue table, the probe registry, the file system and the meshes.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import numpy as np

from anatomy_meshes import MESH_DIR
from scenes.errors import SceneError
from scenes.meshes import MeshError, check_closed, load_mesh, principal_axis
from scenes.procedure import (
    HARMS,
    REQUIRED_WITH_PROCEDURE,
    ProcedureSpec,
    build_procedure,
)
from scenes.schema import SchemaError, check_table, suggest
from scenes.spec import (
    MAX_STRUCTURES,
    SECTIONS,
    PointTargetSpec,
    ProbeSpec,
    SceneSpec,
    StructureSpec,
    default_colour,
    mesh_transform_matrix,
)
from simulator.probe import PROBES, ImagingSettings, SettingsError
from simulator.tissues import TISSUES


class _Context:
    """Builds error messages that name the scene file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def error(self, where: str, message: str) -> SceneError:
        prefix = f"scene file '{self.path}': "
        sep = " " if where.startswith("[") and not where.endswith(")") else ": "
        return SceneError(f"{prefix}{where}{sep}{message}" if where else prefix + message)


def load_scene_spec(path: str | Path) -> SceneSpec:
    """Read and validate a scene file.

    Parameters
    ----------
    path : str or Path
        The ``.toml`` scene file.

    Returns
    -------
    SceneSpec
        Frozen, fully validated; mesh paths resolved and every mesh checked
        to be a closed surface.

    Raises
    ------
    SceneError
        Naming the file, the field path and what was expected.
    """
    path = Path(path).expanduser().resolve()
    ctx = _Context(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ctx.error("", f"cannot read the file ({exc.strerror})") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ctx.error("", f"not UTF-8 text ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ctx.error("", f"TOML syntax error: {exc}") from None
    try:
        tables = _check_sections(data)
    except SchemaError as exc:
        raise ctx.error(exc.where, str(exc)) from None
    return _build(ctx, tables)


def _check_sections(data: dict[str, Any]) -> dict[str, Any]:
    """Generic checks of every section; returns section -> dict or list of dicts."""
    for name in data:
        if name not in SECTIONS:
            raise SchemaError(
                "",
                f"unknown section [{name}]{suggest(name, SECTIONS)}; "
                f"allowed sections: {', '.join(SECTIONS)}",
            )
    out: dict[str, Any] = {}
    for name, section in SECTIONS.items():
        value = data.get(name)
        if value is None:
            if section.required:
                raise SchemaError("", f"missing required section [{name}]")
            if not section.array and any(f.required for f in section.fields.values()):
                out[name] = None  # an optional section with required keys: absent
                continue
            value = [] if section.array else {}
        if section.array:
            if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                raise SchemaError(f"[{name}]", f"expected an array of tables written [[{name}]]")
            out[name] = [
                check_table(item, section.fields, _item_where(name, i, item))
                for i, item in enumerate(value)
            ]
        else:
            if not isinstance(value, dict):
                raise SchemaError(f"[{name}]", f"expected a table written [{name}]")
            out[name] = check_table(value, section.fields, f"[{name}]")
    return out


def _item_where(section: str, index: int, item: dict[str, Any]) -> str:
    name = item.get("name")
    return f"{section}[{index}] ({name!r})" if isinstance(name, str) else f"{section}[{index}]"


def _build(ctx: _Context, tables: dict[str, Any]) -> SceneSpec:
    scene = tables["scene"]
    if scene["background"] not in TISSUES:
        raise ctx.error("[scene]", _unknown_tissue("background", scene["background"]))
    lo = np.asarray(scene["bounds_min_mm"])
    hi = np.asarray(scene["bounds_max_mm"])
    if np.any(lo >= hi):
        raise ctx.error(
            "[scene]",
            f"bounds_max_mm {scene['bounds_max_mm']} must exceed bounds_min_mm "
            f"{scene['bounds_min_mm']} on every axis",
        )
    probe = _build_probe(ctx, tables["probe"])
    imaging = _build_imaging(ctx, tables["imaging"], probe)
    mt = tables["mesh_transform"]
    matrix = mesh_transform_matrix(mt["scale"], mt["rotate_deg"], mt["translate_mm"])
    structures = _build_structures(
        ctx, tables["structures"], None if np.array_equal(matrix, np.eye(4)) else matrix
    )
    points = _build_points(ctx, tables["point_targets"], lo, hi)
    procedure = _build_procedure(ctx, tables, structures, (lo, hi), probe, imaging)
    spec = SceneSpec(
        path=ctx.path,
        name=scene["name"],
        title=scene["title"],
        description=scene["description"],
        seed=scene["seed"],
        background=scene["background"],
        voxel_mm=scene["voxel_mm"],
        bounds_min_mm=scene["bounds_min_mm"],
        bounds_max_mm=scene["bounds_max_mm"],
        probe=probe,
        imaging=imaging,
        structures=structures,
        point_targets=points,
        procedure=procedure,
        mesh_transform=tuple(float(v) for v in matrix.ravel()),
    )
    if spec.n_voxels > 2**31 - 1:
        raise ctx.error(
            "[scene]",
            f"grid {spec.grid_shape} is too large; use a larger voxel_mm or smaller bounds",
        )
    return spec


def _unknown_tissue(key: str, name: str) -> str:
    return (
        f"{key}: unknown tissue {name!r}{suggest(name, TISSUES)}; "
        f"known tissues: {', '.join(sorted(TISSUES))}"
    )


def _build_probe(ctx: _Context, table: dict[str, Any]) -> ProbeSpec:
    if table["model"] not in PROBES:
        raise ctx.error(
            "[probe]",
            f"model: unknown probe {table['model']!r}{suggest(table['model'], PROBES)}; "
            f"known probes: {', '.join(PROBES)}",
        )
    for i, name in enumerate(table.get("choices", ())):
        if name not in PROBES:
            raise ctx.error(
                "[probe]",
                f"choices[{i}]: unknown probe {name!r}{suggest(name, PROBES)}; "
                f"known probes: {', '.join(PROBES)}",
            )
    return ProbeSpec(**table)


def _build_imaging(ctx: _Context, table: dict[str, Any], probe: ProbeSpec) -> ImagingSettings:
    settings = ImagingSettings(**table)
    try:
        settings.validate(probe.probe)
    except SettingsError as exc:
        raise ctx.error("[imaging]", str(exc)) from None
    return settings


def resolve_mesh_path(mesh: str, scene_dir: Path) -> Path | None:
    """Absolute path of a mesh named in a scene, or None when not found.

    Absolute paths are used as they are; relative ones are looked up in the
    scene file's folder, then in the ``anatomy_meshes`` package folder.
    """
    given = Path(mesh).expanduser()
    candidates = [given] if given.is_absolute() else [scene_dir / given, MESH_DIR / given]
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    return None


def _build_structures(
    ctx: _Context, items: list[dict[str, Any]], matrix: np.ndarray | None
) -> tuple[StructureSpec, ...]:
    if len(items) > MAX_STRUCTURES:
        raise ctx.error("[[structures]]", f"{len(items)} structures; at most {MAX_STRUCTURES}")
    seen: dict[str, int] = {}
    out = []
    for i, item in enumerate(items):
        where = f"structures[{i}] ({item['name']!r})"
        if item["name"] == "background":
            raise ctx.error(where, "name: 'background' is reserved for label 0")
        if item["name"] in seen:
            raise ctx.error(
                where, f"duplicate structure name (also structures[{seen[item['name']]}])"
            )
        seen[item["name"]] = i
        if item["tissue"] not in TISSUES:
            raise ctx.error(where, _unknown_tissue("tissue", item["tissue"]))
        mesh_path = resolve_mesh_path(item["mesh"], ctx.path.parent)
        if mesh_path is None:
            looked = (
                "as an absolute path"
                if Path(item["mesh"]).is_absolute()
                else f"looked in {ctx.path.parent} and {MESH_DIR}"
            )
            raise ctx.error(where, f"mesh file {item['mesh']!r} not found ({looked})")
        try:
            polydata = load_mesh(mesh_path, matrix)
        except MeshError as exc:
            raise ctx.error(where, str(exc)) from None
        n_open, n_nonmanifold = check_closed(polydata)
        if n_open or n_nonmanifold:
            raise ctx.error(
                where,
                f"mesh file {item['mesh']!r} is not watertight: {n_open} open (boundary) "
                f"edges and {n_nonmanifold} non-manifold edges; voxelising needs a closed "
                "surface",
            )
        if item["role"] == "avoid" and item["harm"] is None:
            raise ctx.error(
                where, f"missing key 'harm' of an avoid structure (one of {', '.join(HARMS)})"
            )
        if item["role"] != "avoid" and item["harm"] is not None:
            raise ctx.error(
                where, f"harm: only an avoid structure has one (role is {item['role']!r})"
            )
        given = item["fibre_direction"] is not None
        fibre = np.asarray(item["fibre_direction"]) if given else principal_axis(polydata)
        fibre = fibre / np.linalg.norm(fibre)
        colour = item["colour"] if item["colour"] is not None else default_colour(item["tissue"])
        out.append(
            StructureSpec(
                name=item["name"],
                mesh=item["mesh"],
                mesh_path=mesh_path,
                tissue=item["tissue"],
                priority=item["priority"],
                colour=tuple(colour),
                role=item["role"],
                fibre_direction=tuple(float(c) for c in fibre),
                fibre_direction_given=given,
                harm=item["harm"],
            )
        )
    return tuple(out)


def _build_points(
    ctx: _Context, items: list[dict[str, Any]], lo: np.ndarray, hi: np.ndarray
) -> tuple[PointTargetSpec, ...]:
    out = []
    for i, item in enumerate(items):
        pos = np.asarray(item["position_mm"])
        if np.any(pos < lo) or np.any(pos > hi):
            raise ctx.error(
                f"point_targets[{i}]",
                f"position_mm {item['position_mm']} lies outside the scene bounds",
            )
        out.append(PointTargetSpec(**item))
    return tuple(out)


def _build_procedure(
    ctx: _Context,
    tables: dict[str, Any],
    structures: tuple[StructureSpec, ...],
    bounds: tuple[np.ndarray, np.ndarray],
    probe: ProbeSpec,
    imaging: ImagingSettings,
) -> ProcedureSpec | None:
    """The procedure sections, cross-checked against the structures and bounds."""
    lo, hi = bounds
    present = [n for n in REQUIRED_WITH_PROCEDURE if tables[n] not in (None, [])]
    if tables["procedure"] is None:
        extra = present + (["dimensions"] if tables["dimensions"] else [])
        if extra:
            raise ctx.error(
                "", f"section [{extra[0]}] needs a [procedure] section (family, region, ...)"
            )
        return None
    for name in REQUIRED_WITH_PROCEDURE:
        if name not in present:
            brackets = f"[[{name}]]" if name in ("labels", "criteria") else f"[{name}]"
            raise ctx.error("", f"missing section {brackets}: a procedure scene needs it")
    roles = {s.name: s.role for s in structures}

    def need_structure(where: str, name: str) -> None:
        if name not in roles:
            raise ctx.error(
                where,
                f"structure: no structure named {name!r}{suggest(name, roles)}; "
                f"structures: {', '.join(roles)}",
            )

    def inside(where: str, key: str, point: tuple[float, float, float]) -> None:
        if np.any(np.asarray(point) < lo) or np.any(np.asarray(point) > hi):
            raise ctx.error(where, f"{key} {list(point)} lies outside the scene bounds")

    target = tables["target"]
    if target["structure"] is None and target["radius_mm"] is None:
        raise ctx.error("[target]", "give the target structure or a radius_mm about point_mm")
    if target["structure"] is not None:
        need_structure("[target]", target["structure"])
        if roles[target["structure"]] != "target":
            raise ctx.error(
                "[target]",
                f"structure: {target['structure']!r} has role "
                f'{roles[target["structure"]]!r}; set role = "target" on it',
            )
    for name in target["expected_contacts"] or ():
        need_structure("[target] expected_contacts", name)
    inside("[target]", "point_mm", target["point_mm"])
    needle = tables["needle"]
    inside("[needle]", "entry_mm", needle["entry_mm"])
    reach = float(np.linalg.norm(np.subtract(target["point_mm"], needle["entry_mm"])))
    if reach > needle["length_mm"]:
        raise ctx.error(
            "[needle]",
            f"length_mm: a {needle['length_mm']:g} mm needle cannot reach the target "
            f"{reach:.1f} mm from entry_mm",
        )
    view = tables["canonical_view"]
    inside("[canonical_view]", "position_mm", view["position_mm"])
    if view["depth_mm"] is not None:
        try:
            imaging.with_(depth_mm=view["depth_mm"]).validate(probe.probe)
        except SettingsError as exc:
            raise ctx.error("[canonical_view]", f"depth_mm: {exc}") from None
    for i, label in enumerate(tables["labels"]):
        need_structure(f"labels[{i}]", label["structure"])
    for i, dim in enumerate(tables["dimensions"]):
        need_structure(f"dimensions[{i}]", dim["structure"])
        inside(f"dimensions[{i}]", "at_mm", dim["at_mm"])
    return build_procedure(tables)
