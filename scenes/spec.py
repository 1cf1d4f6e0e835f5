"""The scene file format: its sections and keys, and the parsed scene.

A scene file is TOML::

    [scene]          name, title, description, seed, background, voxel_mm,
                     bounds_min_mm, bounds_max_mm
    [probe]          model, position_mm, yaw_deg, tilt_deg, rock_deg
    [imaging]        any field of simulator.probe.ImagingSettings
    [[structures]]   name, mesh, tissue, priority, colour, role, fibre_direction
    [[point_targets]] position_mm, reflectivity
    [mesh_transform] scale, rotate_deg, translate_mm  (meshes not in scene mm)
    + the procedure sections of ``scenes.procedure``

``SECTIONS`` is the single table of what is allowed; ``scenes.loader`` turns
a file into the frozen ``SceneSpec`` below. World frame, millimetres, +z is
depth (skin near z = 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np

from scenes.procedure import HARMS, PROCEDURE_SECTIONS, ProcedureSpec
from scenes.schema import (
    Field,
    Section,
    at_least,
    in_range,
    name_pattern,
    non_empty,
    non_zero_vec,
    one_of,
    unit_interval_vec,
)
from simulator.probe import ImagingSettings, ProbeModel, get_probe, probe_pose

#: Roles a structure can play in an exercise.
ROLES: tuple[str, ...] = ("target", "avoid", "context")

#: Voxel size limits, mm.
VOXEL_MM_RANGE: tuple[float, float] = (0.05, 1.0)

#: Largest number of structures (labels are uint8 and label 0 is the background).
MAX_STRUCTURES = 254

_IMAGING_DEFAULTS = ImagingSettings()

#: Section name -> allowed keys. The one place to extend the format.
SECTIONS: MappingProxyType = MappingProxyType(
    {
        "scene": Section(
            required=True,
            fields={
                "name": Field("str", required=True, check=name_pattern),
                "title": Field("str", default=""),
                "description": Field("str", default=""),
                "seed": Field("int", required=True, check=at_least(0)),
                "background": Field("str", required=True),
                "voxel_mm": Field("float", required=True, check=in_range(*VOXEL_MM_RANGE)),
                "bounds_min_mm": Field("vec3", required=True),
                "bounds_max_mm": Field("vec3", required=True),
            },
        ),
        "probe": Section(
            required=True,
            fields={
                "model": Field("str", required=True),
                "position_mm": Field("vec3", required=True),
                "yaw_deg": Field("float", default=0.0),
                "tilt_deg": Field("float", default=0.0),
                "rock_deg": Field("float", default=0.0),
                "choices": Field("strs", default=()),
            },
        ),
        "imaging": Section(
            fields={
                "depth_mm": Field("float", default=_IMAGING_DEFAULTS.depth_mm),
                "freq_mhz": Field("float", default=_IMAGING_DEFAULTS.freq_mhz),
                "focus_mm": Field("float", default=_IMAGING_DEFAULTS.focus_mm),
                "gain_db": Field("float", default=_IMAGING_DEFAULTS.gain_db),
                "tgc_db": Field("floats", default=_IMAGING_DEFAULTS.tgc_db),
                "dynamic_range_db": Field("float", default=_IMAGING_DEFAULTS.dynamic_range_db),
                "compensation_db_cm_mhz": Field(
                    "float", default=_IMAGING_DEFAULTS.compensation_db_cm_mhz
                ),
                "n_lines": Field("int", default=_IMAGING_DEFAULTS.n_lines),
            },
        ),
        "structures": Section(
            array=True,
            fields={
                "name": Field("str", required=True, check=name_pattern),
                "mesh": Field("str", required=True, check=non_empty),
                "tissue": Field("str", required=True),
                "priority": Field("int", required=True),
                "colour": Field("vec3", check=unit_interval_vec),
                "role": Field("str", default="context", check=one_of(*ROLES)),
                "fibre_direction": Field("vec3", check=non_zero_vec),
                "harm": Field("str", check=one_of(*HARMS)),
            },
        ),
        "point_targets": Section(
            array=True,
            fields={
                "position_mm": Field("vec3", required=True),
                "reflectivity": Field(
                    "float", required=True, check=in_range(0.0, 1.0, lo_open=True)
                ),
            },
        ),
        "mesh_transform": Section(
            fields={
                "scale": Field("float", default=1.0, check=in_range(0.0, 1e6, lo_open=True)),
                "rotate_deg": Field("vec3", default=(0.0, 0.0, 0.0)),
                "translate_mm": Field("vec3", default=(0.0, 0.0, 0.0)),
            },
        ),
        **PROCEDURE_SECTIONS,
    }
)

#: Display colour (RGB 0-1) of a structure whose scene gives none, by tissue.
DEFAULT_COLOURS: MappingProxyType = MappingProxyType(
    {
        "skin": (0.94, 0.78, 0.67),
        "fat": (0.98, 0.90, 0.55),
        "muscle": (0.75, 0.30, 0.28),
        "tendon": (0.95, 0.95, 0.85),
        "tendinosis": (0.95, 0.55, 0.35),
        "ligament": (0.85, 0.85, 0.70),
        "fascia": (0.80, 0.80, 0.80),
        "nerve": (1.00, 0.85, 0.20),
        "cartilage": (0.60, 0.80, 0.95),
        "fibrocartilage": (0.70, 0.80, 0.90),
        "bone": (0.92, 0.90, 0.80),
        "fluid": (0.30, 0.55, 0.95),
        "blood": (0.80, 0.10, 0.10),
        "vessel_wall": (0.85, 0.35, 0.35),
        "injectate": (0.40, 0.90, 0.90),
        "steel": (0.70, 0.70, 0.75),
        "soft_tissue": (0.85, 0.65, 0.60),
    }
)
_FALLBACK_COLOUR = (0.7, 0.7, 0.7)


def default_colour(tissue: str) -> tuple[float, float, float]:
    """Display colour for ``tissue`` (grey for tissues without one)."""
    return DEFAULT_COLOURS.get(tissue, _FALLBACK_COLOUR)


@dataclass(frozen=True)
class ProbeSpec:
    """Initial probe of the scene.

    Attributes
    ----------
    model : str
        Key of ``simulator.probe.PROBES``.
    position_mm : tuple of 3 float
        World position of the transducer face centre, mm.
    yaw_deg, tilt_deg, rock_deg : float
        Clinical angles (see ``simulator.probe.rotation_deg``), degrees.
    choices : tuple of str
        Other probe models the user may switch to in this scene (keys of
        ``simulator.probe.PROBES``); empty when only ``model`` fits.
    """

    model: str
    position_mm: tuple[float, float, float]
    yaw_deg: float = 0.0
    tilt_deg: float = 0.0
    rock_deg: float = 0.0
    choices: tuple[str, ...] = ()

    @property
    def models(self) -> tuple[str, ...]:
        """``model`` followed by the other allowed ``choices``, without repeats."""
        return tuple(dict.fromkeys((self.model, *self.choices)))

    @property
    def probe(self) -> ProbeModel:
        """The probe model."""
        return get_probe(self.model)

    @property
    def probe2world(self) -> np.ndarray:
        """Initial pose, shape (4, 4) float64."""
        return probe_pose(self.position_mm, self.yaw_deg, self.tilt_deg, self.rock_deg)


@dataclass(frozen=True)
class StructureSpec:
    """One meshed structure.

    Attributes
    ----------
    name : str
        Unique name; its label is its 1-based position in the file.
    mesh : str
        Mesh path as written in the scene file.
    mesh_path : Path
        The resolved, absolute mesh file path.
    tissue : str
        Key of ``simulator.tissues.TISSUES``.
    priority : int
        Where structures overlap the highest priority wins.
    colour : tuple of 3 float
        Display colour, RGB in [0, 1].
    role : str
        ``"target"``, ``"avoid"`` or ``"context"``.
    fibre_direction : tuple of 3 float
        Unit fibre axis, world frame: as given, normalised, or the mesh's
        principal axis when the file gives none.
    fibre_direction_given : bool
        Whether the scene file gave the fibre direction.
    harm : str or None
        For an ``avoid`` structure, the harm it represents (key of
        ``scenes.procedure.HARMS``); None otherwise.
    """

    name: str
    mesh: str
    mesh_path: Path
    tissue: str
    priority: int
    colour: tuple[float, float, float]
    role: str
    fibre_direction: tuple[float, float, float]
    fibre_direction_given: bool
    harm: str | None = None


@dataclass(frozen=True)
class PointTargetSpec:
    """A point reflector (wire).

    Attributes
    ----------
    position_mm : tuple of 3 float
        World position, mm.
    reflectivity : float
        Amplitude reflectivity in (0, 1].
    """

    position_mm: tuple[float, float, float]
    reflectivity: float


@dataclass(frozen=True)
class SceneSpec:
    """A validated scene file.

    Attributes
    ----------
    path : Path
        Absolute path of the scene file.
    name, title, description : str
        Identification; ``name`` matches ``[a-z0-9_]+``.
    seed : int
        Seed of the tissue-fixed scatterers (>= 0).
    background : str
        Tissue filling the space no structure covers.
    voxel_mm : float
        Isotropic voxel size, mm.
    bounds_min_mm, bounds_max_mm : tuple of 3 float
        World box of the voxel centres, mm (min < max on every axis).
    probe : ProbeSpec
        Initial probe.
    imaging : ImagingSettings
        Initial imaging settings, validated against the probe.
    structures : tuple of StructureSpec
        In file order (label = index + 1).
    point_targets : tuple of PointTargetSpec
        Point reflectors.
    procedure : ProcedureSpec or None
        Target, needle, canonical view, teaching and rubric of a procedure
        scene; None for phantoms and demonstration scenes.
    mesh_transform : tuple of 16 float
        Row-major 4x4 matrix taking mesh-file coordinates to the scene frame
        (``[mesh_transform]``: scale, then rotation about x, y, z, then
        translation); the identity when the file has no such section.
    """

    path: Path
    name: str
    title: str
    description: str
    seed: int
    background: str
    voxel_mm: float
    bounds_min_mm: tuple[float, float, float]
    bounds_max_mm: tuple[float, float, float]
    probe: ProbeSpec
    imaging: ImagingSettings
    structures: tuple[StructureSpec, ...] = ()
    point_targets: tuple[PointTargetSpec, ...] = ()
    procedure: ProcedureSpec | None = None
    mesh_transform: tuple[float, ...] = tuple(np.eye(4).ravel())

    @property
    def mesh_matrix(self) -> np.ndarray | None:
        """Mesh-to-scene matrix, shape (4, 4); None when it is the identity."""
        m = np.asarray(self.mesh_transform, dtype=np.float64).reshape(4, 4)
        return None if np.array_equal(m, np.eye(4)) else m

    @property
    def origin_mm(self) -> np.ndarray:
        """Centre of voxel (0, 0, 0), shape (3,) float64, mm."""
        return np.asarray(self.bounds_min_mm, dtype=np.float64)

    @property
    def grid_shape(self) -> tuple[int, int, int]:
        """Voxel grid shape ``(nx, ny, nz)``: ``floor((max - min) / voxel) + 1``."""
        span = np.asarray(self.bounds_max_mm) - np.asarray(self.bounds_min_mm)
        # a tiny tolerance so that 50 / 0.2 counts 250 steps, not 249.999...
        n = np.floor(span / self.voxel_mm + 1e-9).astype(int) + 1
        return (int(n[0]), int(n[1]), int(n[2]))

    @property
    def n_voxels(self) -> int:
        """Number of voxels of the grid."""
        return math.prod(self.grid_shape)

    @property
    def mesh_paths(self) -> tuple[Path, ...]:
        """Resolved mesh file of every structure, in file order."""
        return tuple(s.mesh_path for s in self.structures)

    def structure(self, name: str) -> StructureSpec:
        """The structure called ``name`` (KeyError when absent)."""
        for s in self.structures:
            if s.name == name:
                return s
        raise KeyError(f"scene {self.name!r} has no structure named {name!r}")


def mesh_transform_matrix(
    scale: float, rotate_deg: tuple[float, float, float], translate_mm: tuple[float, float, float]
) -> np.ndarray:
    """4x4 matrix: scale, rotate about world x then y then z (degrees), translate (mm)."""
    from scipy.spatial.transform import Rotation

    m = np.eye(4)
    m[:3, :3] = scale * Rotation.from_euler("xyz", rotate_deg, degrees=True).as_matrix()
    m[:3, 3] = translate_mm
    return m
