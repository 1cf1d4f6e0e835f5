"""Loading a scene with its acoustic volume, cached on disk.

The voxelised ``AcousticVolume`` of a scene is stored under the cache folder
(``$INJECTION_SIM_CACHE``, else ``~/.cache/injection-simulator``) in a folder
named after the scene and a sha256 of everything it depends on: the scene
file's bytes, every mesh file's bytes, the impedances of its labels and
``CACHE_FORMAT_VERSION``. Arrays are ``.npy`` files (memory-mapped read-only
on load), scalars a small ``meta.json``; each entry is written to a temporary
folder and renamed into place, so a killed program never leaves half an
entry. An unreadable entry is rebuilt. No pickles: the per-label
``StructureAcoustics`` are rebuilt from the scene and the tissue table.

``load_scene`` reports its progress to an optional ``progress(fraction,
message)`` callback; an exception raised by the callback propagates, which
abandons the load (nothing half-written is left in the cache).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
from vtkmodules.vtkCommonDataModel import vtkPolyData

from scenes.errors import SceneError
from scenes.loader import load_scene_spec
from scenes.meshes import load_mesh
from scenes.spec import SceneSpec
from scenes.voxelize import (
    ProgressCallback,
    ProgressRange,
    _build,
    impedance_per_label,
    structure_acoustics,
)
from simulator.volume import NORMAL_SIGMA_VOX, AcousticVolume

#: Bump whenever the stored volume changes meaning or layout.
CACHE_FORMAT_VERSION = 3

#: Folder of the built-in scene files.
SCENES_DIR: Path = Path(__file__).resolve().parent

#: Progress fractions of ``load_scene``'s stages (the rest of a miss is voxelising).
_PROGRESS_SPEC_READ = 0.04
_PROGRESS_CACHE_CHECKED = 0.05
_PROGRESS_BUILT = 0.97

_ARRAYS = (
    "labels",
    "boundary_index",
    "boundary_normal",
    "point_reflectors_mm",
    "point_reflectivity",
)


@dataclass(frozen=True)
class Scene:
    """A loaded scene.

    Attributes
    ----------
    spec : SceneSpec
        The validated scene file.
    volume : AcousticVolume
        Its acoustic volume (read-only arrays).
    path : Path
        The scene file.
    cache_hit : bool
        True when the volume came from the disk cache.
    """

    spec: SceneSpec
    volume: AcousticVolume
    path: Path
    cache_hit: bool = field(default=False, compare=False)

    @cached_property
    def meshes(self) -> dict[str, vtkPolyData]:
        """Structure name -> surface mesh (mm), read on first use, for the 3D view."""
        return {s.name: load_mesh(s.mesh_path, self.spec.mesh_matrix) for s in self.spec.structures}


def default_cache_dir() -> Path:
    """``$INJECTION_SIM_CACHE`` or ``~/.cache/injection-simulator``."""
    env = os.environ.get("INJECTION_SIM_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "injection-simulator"


def list_scene_files() -> list[Path]:
    """Every built-in scene file (``*.toml`` under the scenes package), sorted."""
    return sorted(SCENES_DIR.rglob("*.toml"))


def find_scene(path_or_name: str | Path) -> Path:
    """Scene file for a path to a ``.toml`` or a built-in scene name.

    Raises
    ------
    SceneError
        Unknown name (listing the available ones) or missing file.
    """
    text = str(path_or_name)
    candidate = Path(text).expanduser()
    if text.lower().endswith(".toml") or candidate.parent != Path("."):
        if not candidate.is_file():
            raise SceneError(f"scene file '{candidate}': not found")
        return candidate.resolve()
    matches = [p for p in list_scene_files() if p.stem == text]
    if not matches:
        names = ", ".join(sorted(p.stem for p in list_scene_files()))
        raise SceneError(f"unknown scene {text!r}; available scenes: {names}")
    if len(matches) > 1:
        raise SceneError(f"scene name {text!r} is ambiguous: {', '.join(str(p) for p in matches)}")
    return matches[0]


def cache_key(spec: SceneSpec) -> str:
    """Hex sha256 of the scene file, its meshes, label impedances and the volume format."""
    h = hashlib.sha256()
    h.update(
        f"injection-simulator volume v{CACHE_FORMAT_VERSION} "
        f"normal sigma {NORMAL_SIGMA_VOX!r}\n".encode()
    )
    h.update(spec.path.read_bytes())
    for path in spec.mesh_paths:
        h.update(b"\0mesh\0")
        h.update(path.read_bytes())
    h.update(np.asarray(impedance_per_label(spec), dtype="<f8").tobytes())
    return h.hexdigest()


def load_scene(
    path_or_name: str | Path,
    cache_dir: str | Path | None = None,
    progress: ProgressCallback | None = None,
) -> Scene:
    """Load a scene, building its volume or taking it from the cache.

    Parameters
    ----------
    path_or_name : str or Path
        A ``.toml`` path, or the name of a built-in scene (file stem, found
        recursively under the scenes package, e.g. ``"phantom_bone_slab"``).
    cache_dir : str or Path, optional
        Cache folder; default ``default_cache_dir()``.
    progress : callable ``(fraction, message) -> None``, optional
        Told each stage: ``"reading scene file"``, ``"checking cache"``, then
        on a hit ``"reading cache"``, on a miss ``"voxelising femur (3/11)"``
        for each structure (about 25 % of the range, as measured),
        ``"interface normals"`` (about 70 %) and ``"writing cache"``. Fractions are in [0, 1] and
        never decrease; the last call is ``(1.0, "ready")``. An exception
        raised by ``progress`` propagates out of ``load_scene`` unchanged:
        raise one to abandon a load (no cache entry is written then).

    Returns
    -------
    Scene

    Raises
    ------
    SceneError
        Invalid scene file or unknown scene name.
    """
    report = ProgressRange(progress)
    report(0.0, "reading scene file")
    path = find_scene(path_or_name)
    spec = load_scene_spec(path)
    report(_PROGRESS_SPEC_READ, "checking cache")
    root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    entry = root / f"{spec.name}-{cache_key(spec)[:32]}"
    report(_PROGRESS_CACHE_CHECKED, "reading cache")
    volume = _read_entry(entry, spec)
    if volume is not None:
        report(1.0, "ready")
        return Scene(spec=spec, volume=volume, path=path, cache_hit=True)
    volume = _build(spec, report.sub(_PROGRESS_CACHE_CHECKED, _PROGRESS_BUILT))
    report(_PROGRESS_BUILT, "writing cache")
    _write_entry(entry, volume)
    report(1.0, "ready")
    return Scene(spec=spec, volume=volume, path=path, cache_hit=False)


def _read_entry(entry: Path, spec: SceneSpec) -> AcousticVolume | None:
    """The cached volume, or None when absent or unusable (then removed)."""
    if not entry.is_dir():
        return None
    try:
        meta = json.loads((entry / "meta.json").read_text(encoding="utf-8"))
        if meta["format_version"] != CACHE_FORMAT_VERSION:
            raise ValueError("format version")
        arrays = {name: np.load(entry / f"{name}.npy", mmap_mode="r") for name in _ARRAYS}
        structures = structure_acoustics(spec)
        if meta["structure_names"] != [s.name for s in structures]:
            raise ValueError("structure names")
        labels = arrays["labels"]
        if list(labels.shape) != meta["shape"] or labels.dtype != np.uint8:
            raise ValueError("labels")
        m = arrays["boundary_index"].shape[0]
        if arrays["boundary_normal"].shape != (m, 4) or arrays["boundary_index"].dtype != np.int64:
            raise ValueError("boundary arrays")
        if arrays["boundary_normal"].dtype != np.int8:
            raise ValueError("boundary normals")
        k = arrays["point_reflectivity"].shape[0]
        if arrays["point_reflectors_mm"].shape != (k, 3):
            raise ValueError("point reflectors")
        return AcousticVolume(
            labels=labels,
            origin_mm=np.asarray(meta["origin_mm"], dtype=np.float64),
            spacing_mm=float(meta["spacing_mm"]),
            structures=structures,
            boundary_index=arrays["boundary_index"],
            boundary_normal=arrays["boundary_normal"],
            point_reflectors_mm=arrays["point_reflectors_mm"],
            point_reflectivity=arrays["point_reflectivity"],
            seed=int(meta["seed"]),
        )
    except (OSError, ValueError, KeyError, TypeError, EOFError):
        shutil.rmtree(entry, ignore_errors=True)
        return None


def _write_entry(entry: Path, volume: AcousticVolume) -> None:
    """Write the entry atomically; cache write failures are not errors."""
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{entry.name}.", dir=entry.parent))
    except OSError:
        return
    try:
        for name in _ARRAYS:
            np.save(tmp / f"{name}.npy", np.asarray(getattr(volume, name)), allow_pickle=False)
        meta = {
            "format_version": CACHE_FORMAT_VERSION,
            "shape": list(volume.labels.shape),
            "origin_mm": [float(v) for v in volume.origin_mm],
            "spacing_mm": float(volume.spacing_mm),
            "seed": int(volume.seed),
            "structure_names": [s.name for s in volume.structures],
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
        os.rename(tmp, entry)
    except OSError:
        pass  # another process won the race, or the disk is full: keep going uncached
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
