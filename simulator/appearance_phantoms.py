"""Small in-memory phantoms, one per tissue, for the appearance sheet.

Each phantom is an ``AcousticVolume`` painted from NumPy shapes (slabs,
cylinders, ellipsoids) on a fine grid under a skin and subcutaneous fat
layer, with the structure of interest running either along the image plane
(``"long"`` axis) or across it (``"short"`` axis). The probe of the sheet sits
at the origin with its array along world +x (yaw 0), so:

- long axis: the structure's axis is world +x (in the image plane);
- short axis: the structure's axis is world +y (out of the image plane).

World frame: mm, +z is depth, the skin surface at z = 0. The grid covers
x in [-20, 20] mm (the 38 mm linear array sees x in [-19, 19]), y in
[-2.5, 2.5] mm (the beam samples the plane y = 0; the rest gives the interface
normals their smoothing context) and z from -0.5 mm to 1 mm beyond the imaged
depth. Pure NumPy/SciPy: no meshes, no VTK.

Every dimension below is a named typical adult value; where a published
value was looked up it is cited in ``docs/appearance.md`` beside the image.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from simulator.tissues import get_tissue
from simulator.volume import AcousticVolume, StructureAcoustics, interface_normals

#: Grid spacing of the phantoms, mm.
VOXEL_MM = 0.1
#: Lateral half-width (x) and elevational half-width (y) of the grid, mm.
HALF_WIDTH_MM = 20.0
HALF_ELEVATION_MM = 2.5
#: Grid starts this far above the skin surface, mm (the probe face is at z = 0).
ABOVE_SKIN_MM = 0.5

#: Skin (epidermis + dermis) thickness, mm (1.5-4 mm histologically, Valle &
#: Zamorani, in Bianchi & Martinoli, Ultrasound of the Musculoskeletal System).
SKIN_MM = 1.5
#: Deep fascia thickness, mm.
FASCIA_MM = 0.4
#: Seed of the tissue-fixed speckle of every phantom (same picture every run).
SEED = 20260

AXES: tuple[str, ...] = ("long", "short")


@dataclass(frozen=True)
class Phantom:
    """One phantom, ready for ``BModeEngine``.

    Attributes
    ----------
    key : str
        Tissue key (``"tendon"``, ``"bursa"``...).
    axis : str
        ``"long"`` or ``"short"``.
    title : str
        Row title of the sheet.
    volume : AcousticVolume
    target : str
        Name of the structure the row is about.
    depth_mm, focus_mm, freq_mhz : float
        Imaging settings that suit it.
    stated : dict of str to float
        Dimensions the builder was asked for (mm), for the tests and the sheet.
    layout : str
        One line describing the phantom.
    """

    key: str
    axis: str
    title: str
    volume: AcousticVolume
    target: str
    depth_mm: float
    focus_mm: float
    freq_mhz: float
    stated: dict[str, float] = field(default_factory=dict)
    layout: str = ""


class _Canvas:
    """A label grid being painted, with the (u, v, z) coordinates of the phantom.

    ``u`` runs along the structure's axis, ``v`` across it (laterally) and
    ``z`` is depth; the arrays broadcast to the grid shape.
    """

    def __init__(self, axis: str, depth_mm: float, voxel_mm: float, background: str) -> None:
        if axis not in AXES:
            raise ValueError(f"axis {axis!r}: expected one of {AXES}")
        self.axis = axis
        self.voxel_mm = voxel_mm
        n_x = round(2 * HALF_WIDTH_MM / voxel_mm) + 1
        n_y = round(2 * HALF_ELEVATION_MM / voxel_mm) + 1
        n_z = round((depth_mm + 1.0 + ABOVE_SKIN_MM) / voxel_mm) + 1
        self.origin = np.array([-HALF_WIDTH_MM, -HALF_ELEVATION_MM, -ABOVE_SKIN_MM])
        self.shape = (n_x, n_y, n_z)
        x = (self.origin[0] + voxel_mm * np.arange(n_x)).reshape(-1, 1, 1)
        y = (self.origin[1] + voxel_mm * np.arange(n_y)).reshape(1, -1, 1)
        self.z = (self.origin[2] + voxel_mm * np.arange(n_z)).reshape(1, 1, -1)
        self.u, self.v = (x, y) if axis == "long" else (y, x)
        #: world direction of the structure axis
        self.along = np.array([1.0, 0.0, 0.0]) if axis == "long" else np.array([0.0, 1.0, 0.0])
        self.labels = np.zeros(self.shape, dtype=np.uint8)
        self.parts: list[StructureAcoustics] = [
            StructureAcoustics("background", get_tissue(background), self.fibre(0.25))
        ]

    def fibre(self, rise: float = 0.0) -> np.ndarray:
        """Unit vector along the structure, tilted ``rise`` (tan of the angle) into depth."""
        f = self.along + np.array([0.0, 0.0, rise])
        return f / np.linalg.norm(f)

    def paint(
        self,
        name: str,
        tissue: str,
        mask: np.ndarray,
        fibre: np.ndarray | None = None,
        role: str = "context",
    ) -> int:
        """Label the voxels of ``mask`` (broadcast to the grid) as a new structure."""
        label = len(self.parts)
        self.parts.append(
            StructureAcoustics(
                name, get_tissue(tissue), self.fibre() if fibre is None else fibre, role
            )
        )
        self.labels[np.broadcast_to(mask, self.shape)] = label
        return label

    def slab(self, z0: float, z1: float) -> np.ndarray:
        """Voxels with depth in [z0, z1)."""
        return (self.z >= z0) & (self.z < z1)

    def cylinder(self, depth_mm: float, radius_mm: float) -> np.ndarray:
        """Circular cylinder along the structure axis, centred at ``depth_mm``."""
        return self.v**2 + (self.z - depth_mm) ** 2 <= radius_mm**2

    def ellipsoid(
        self, centre_u: float, depth_mm: float, half_u: float, half_v: float, half_z: float
    ) -> np.ndarray:
        """Ellipsoid with semi-axes along u, v and z."""
        return (
            ((self.u - centre_u) / half_u) ** 2
            + (self.v / half_v) ** 2
            + ((self.z - depth_mm) / half_z) ** 2
        ) <= 1.0

    def skin_and_fat(self, fat_to_mm: float, fascia: bool = True) -> None:
        """Skin from above the surface to ``SKIN_MM``, fat to ``fat_to_mm``, a deep fascia below."""
        self.paint("skin", "skin", self.z < SKIN_MM)
        self.paint("subcutaneous_fat", "fat", self.slab(SKIN_MM, fat_to_mm))
        if fascia:
            self.paint("deep_fascia", "fascia", self.slab(fat_to_mm, fat_to_mm + FASCIA_MM))

    def volume(self) -> AcousticVolume:
        impedance = np.array([p.tissue.impedance_mrayl for p in self.parts])
        index, normal = interface_normals(self.labels, impedance)
        return AcousticVolume(
            labels=self.labels,
            origin_mm=self.origin.copy(),
            spacing_mm=self.voxel_mm,
            structures=tuple(self.parts),
            boundary_index=index,
            boundary_normal=normal,
            seed=SEED,
        )


# ---------------------------------------------------------------- the phantoms
# Each builder paints a canvas and returns (target, stated dimensions, layout).
_Built = tuple[str, dict[str, float], str]

TENDON_DEPTH_MM = 8.0
TENDON_DIAMETER_MM = 5.0
FAT_TO_MM = 4.0


def _round_in_muscle(c: _Canvas, tissue: str, depth_mm: float, diameter_mm: float) -> _Built:
    """A round structure of ``tissue`` (named after it) under skin, fat and fascia."""
    c.skin_and_fat(FAT_TO_MM)
    c.paint(tissue, tissue, c.cylinder(depth_mm, diameter_mm / 2), role="target")
    return (
        tissue,
        {"centre_depth_mm": depth_mm, "diameter_mm": diameter_mm},
        f"{diameter_mm:g} mm round {tissue} centred {depth_mm:g} mm deep in muscle, "
        f"under {SKIN_MM:g} mm skin, fat to {FAT_TO_MM:g} mm and a {FASCIA_MM:g} mm fascia",
    )


def _tendon(c: _Canvas) -> _Built:
    return _round_in_muscle(c, "tendon", TENDON_DEPTH_MM, TENDON_DIAMETER_MM)


TENDINOSIS_DIAMETER_MM = 7.5
TENDINOSIS_LENGTH_MM = 16.0


def _tendinosis(c: _Canvas) -> _Built:
    c.skin_and_fat(FAT_TO_MM)
    c.paint("tendon", "tendon", c.cylinder(TENDON_DEPTH_MM, TENDON_DIAMETER_MM / 2))
    r = TENDINOSIS_DIAMETER_MM / 2
    c.paint(
        "tendinosis",
        "tendinosis",
        c.ellipsoid(0.0, TENDON_DEPTH_MM, TENDINOSIS_LENGTH_MM / 2, r, r),
        role="target",
    )
    return (
        "tendinosis",
        {
            "centre_depth_mm": TENDON_DEPTH_MM,
            "diameter_mm": TENDINOSIS_DIAMETER_MM,
            "tendon_diameter_mm": TENDON_DIAMETER_MM,
            "length_mm": TENDINOSIS_LENGTH_MM,
        },
        f"the tendon row's {TENDON_DIAMETER_MM:g} mm tendon with a fusiform "
        f"{TENDINOSIS_LENGTH_MM:g} mm long segment thickened to {TENDINOSIS_DIAMETER_MM:g} mm",
    )


LIGAMENT_TOP_MM = 4.5
LIGAMENT_THICKNESS_MM = 2.5
LIGAMENT_WIDTH_MM = 12.0
JOINT_GAP_AT_MM = 6.0
JOINT_GAP_MM = 2.5


def _ligament(c: _Canvas) -> _Built:
    top, bottom = LIGAMENT_TOP_MM, LIGAMENT_TOP_MM + LIGAMENT_THICKNESS_MM
    c.skin_and_fat(top, fascia=False)
    c.paint(
        "ligament",
        "ligament",
        c.slab(top, bottom) & (np.abs(c.v) <= LIGAMENT_WIDTH_MM / 2),
        role="target",
    )
    # two bones under it; their joint line crosses the long-axis view off centre
    gap = np.abs(c.u - JOINT_GAP_AT_MM) < JOINT_GAP_MM / 2 + (c.z - bottom) * 0.6
    c.paint("bone", "bone", (c.z >= bottom) & ~gap)
    c.paint("joint_fluid", "fluid", (c.z >= bottom) & gap & (c.z < bottom + 3.0))
    return (
        "ligament",
        {"top_mm": top, "thickness_mm": LIGAMENT_THICKNESS_MM, "width_mm": LIGAMENT_WIDTH_MM},
        f"{LIGAMENT_THICKNESS_MM:g} mm thick, {LIGAMENT_WIDTH_MM:g} mm wide band from "
        f"{top:g} mm deep lying on bone, a joint line {JOINT_GAP_AT_MM:g} mm off the "
        "short-axis plane; muscle beside it",
    )


NERVE_DEPTH_MM = 10.0
NERVE_DIAMETER_MM = 5.0


def _nerve(c: _Canvas) -> _Built:
    return _round_in_muscle(c, "nerve", NERVE_DEPTH_MM, NERVE_DIAMETER_MM)


MUSCLE_BONE_MM = 24.0
SEPTUM_MM = 13.0


def _muscle(c: _Canvas) -> _Built:
    c.skin_and_fat(FAT_TO_MM)
    c.paint("intermuscular_septum", "fascia", c.slab(SEPTUM_MM, SEPTUM_MM + 0.5))
    c.paint("bone", "bone", c.z >= MUSCLE_BONE_MM)
    return (
        "background",
        {"septum_mm": SEPTUM_MM, "bone_mm": MUSCLE_BONE_MM},
        f"two muscle bellies (fibres rising 14 degrees along the long axis) split by a "
        f"septum at {SEPTUM_MM:g} mm, over a flat bone cortex at {MUSCLE_BONE_MM:g} mm",
    )


SUBCUT_FAT_TO_MM = 11.0


def _subcutaneous_fat(c: _Canvas) -> _Built:
    c.skin_and_fat(SUBCUT_FAT_TO_MM)
    return (
        "subcutaneous_fat",
        {"top_mm": SKIN_MM, "bottom_mm": SUBCUT_FAT_TO_MM},
        f"{SUBCUT_FAT_TO_MM - SKIN_MM:g} mm of subcutaneous fat over a fascia and muscle",
    )


PATELLAR_TENDON_MM = (3.0, 7.0)
FAT_PAD_BONE_MM = 20.0


def _fat_pad(c: _Canvas) -> _Built:
    top, bottom = PATELLAR_TENDON_MM
    c.skin_and_fat(top, fascia=False)
    c.paint("patellar_tendon", "tendon", c.slab(top, bottom))
    c.paint("fat_pad", "fat", c.slab(bottom, FAT_PAD_BONE_MM), role="target")
    c.paint("cartilage", "cartilage", c.slab(FAT_PAD_BONE_MM, FAT_PAD_BONE_MM + 2.0))
    c.paint("bone", "bone", c.z >= FAT_PAD_BONE_MM + 2.0)
    return (
        "fat_pad",
        {"top_mm": bottom, "bottom_mm": FAT_PAD_BONE_MM},
        f"infrapatellar (Hoffa-like) fat pad from {bottom:g} to {FAT_PAD_BONE_MM:g} mm deep "
        f"to a {bottom - top:g} mm patellar-like tendon, over cartilage-capped bone",
    )


DELTOID_TO_MM = 11.0
PERIBURSAL_FAT_MM = 0.6
BURSA_MM = 1.5
CUFF_MM = 6.0


def _bursa(c: _Canvas) -> _Built:
    c.skin_and_fat(FAT_TO_MM)
    z = DELTOID_TO_MM
    c.paint("superficial_peribursal_fat", "fat", c.slab(z, z + PERIBURSAL_FAT_MM))
    z += PERIBURSAL_FAT_MM
    c.paint("bursa", "fluid", c.slab(z, z + BURSA_MM), role="target")
    bursa_top = z
    z += BURSA_MM
    c.paint("deep_peribursal_fat", "fat", c.slab(z, z + PERIBURSAL_FAT_MM))
    z += PERIBURSAL_FAT_MM
    c.paint("cuff_tendon", "tendon", c.slab(z, z + CUFF_MM))
    z += CUFF_MM
    c.paint("cartilage", "cartilage", c.slab(z, z + 1.0))
    c.paint("bone", "bone", c.z >= z + 1.0)
    return (
        "bursa",
        {"top_mm": bursa_top, "thickness_mm": BURSA_MM},
        f"subacromial-like: deltoid muscle to {DELTOID_TO_MM:g} mm, {PERIBURSAL_FAT_MM:g} mm "
        f"peribursal fat, a {BURSA_MM:g} mm fluid bursa, fat again, a {CUFF_MM:g} mm cuff "
        "tendon, cartilage and bone",
    )


COLLECTION_DEPTH_MM = 11.0
COLLECTION_HALF_MM = (9.0, 6.0, 4.0)  # along, across, depth


def _collection(c: _Canvas) -> _Built:
    c.skin_and_fat(FAT_TO_MM)
    hu, hv, hz = COLLECTION_HALF_MM
    c.paint("collection", "fluid", c.ellipsoid(0.0, COLLECTION_DEPTH_MM, hu, hv, hz), role="target")
    return (
        "collection",
        {"centre_depth_mm": COLLECTION_DEPTH_MM, "length_mm": 2 * hu, "width_mm": 2 * hv},
        f"{2 * hu:g} x {2 * hv:g} x {2 * hz:g} mm ellipsoid of fluid centred "
        f"{COLLECTION_DEPTH_MM:g} mm deep in muscle",
    )


CONDYLE_TOP_MM = 13.0
CONDYLE_RADIUS_MM = 15.0
CARTILAGE_MM = 2.5


def _bone_cartilage(c: _Canvas) -> _Built:
    c.skin_and_fat(FAT_TO_MM)
    axis_depth = CONDYLE_TOP_MM + CONDYLE_RADIUS_MM
    c.paint(
        "cartilage",
        "cartilage",
        c.cylinder(axis_depth, CONDYLE_RADIUS_MM + CARTILAGE_MM),
    )
    c.paint("bone", "bone", c.cylinder(axis_depth, CONDYLE_RADIUS_MM), role="target")
    return (
        "bone",
        {
            "bone_top_mm": CONDYLE_TOP_MM,
            "radius_mm": CONDYLE_RADIUS_MM,
            "cartilage_mm": CARTILAGE_MM,
        },
        f"condyle-like bone cylinder (radius {CONDYLE_RADIUS_MM:g} mm, top at "
        f"{CONDYLE_TOP_MM:g} mm) with a {CARTILAGE_MM:g} mm cartilage cap, under muscle",
    )


THICK_SKIN_MM = 2.0


def _skin(c: _Canvas) -> _Built:
    c.paint("skin", "skin", c.z < THICK_SKIN_MM, role="target")
    c.paint("subcutaneous_fat", "fat", c.slab(THICK_SKIN_MM, 7.0))
    c.paint("deep_fascia", "fascia", c.slab(7.0, 7.0 + FASCIA_MM))
    return (
        "skin",
        {"thickness_mm": THICK_SKIN_MM},
        f"{THICK_SKIN_MM:g} mm skin over 5 mm of fat, a fascia and muscle",
    )


DEEP_FASCIA_MM = (6.0, 7.0)


def _fascia(c: _Canvas) -> _Built:
    top, bottom = DEEP_FASCIA_MM
    c.paint("skin", "skin", c.z < SKIN_MM)
    c.paint("subcutaneous_fat", "fat", c.slab(SKIN_MM, top))
    c.paint("deep_fascia", "fascia", c.slab(top, bottom), role="target")
    c.paint("intermuscular_fascia", "fascia", c.slab(15.0, 15.5))
    return (
        "deep_fascia",
        {"top_mm": top, "thickness_mm": bottom - top},
        f"a {bottom - top:g} mm deep fascia at {top:g} mm between fat and muscle, "
        "a 0.5 mm intermuscular fascia at 15 mm",
    )


@dataclass(frozen=True)
class _Spec:
    title: str
    depth_mm: float
    focus_mm: float
    build: Callable[[_Canvas], _Built]
    background: str = "muscle"
    freq_mhz: float = 12.0


#: The sheet's rows, in order: key -> spec.
PHANTOMS: dict[str, _Spec] = {
    "tendon": _Spec("Tendon", 20.0, 8.0, _tendon),
    "tendinosis": _Spec("Tendinosis", 20.0, 8.0, _tendinosis),
    "ligament": _Spec("Ligament", 20.0, 6.0, _ligament),
    "nerve": _Spec("Nerve", 20.0, 10.0, _nerve),
    "muscle": _Spec("Muscle", 30.0, 12.0, _muscle, freq_mhz=10.0),
    "subcutaneous_fat": _Spec("Fat (subcutaneous)", 20.0, 6.0, _subcutaneous_fat),
    "fat_pad": _Spec("Fat (fat pad)", 30.0, 12.0, _fat_pad, freq_mhz=10.0),
    "bursa": _Spec("Fluid (bursa)", 30.0, 13.0, _bursa, freq_mhz=10.0),
    "collection": _Spec("Fluid (collection)", 30.0, 11.0, _collection, freq_mhz=10.0),
    "bone_cartilage": _Spec("Bone with cartilage", 30.0, 12.0, _bone_cartilage, freq_mhz=10.0),
    "skin": _Spec("Skin (dermis)", 20.0, 3.0, _skin),
    "fascia": _Spec("Fascia", 20.0, 7.0, _fascia),
}


def phantom_keys() -> tuple[str, ...]:
    """Keys of every phantom, in sheet order."""
    return tuple(PHANTOMS)


def build_phantom(key: str, axis: str, voxel_mm: float = VOXEL_MM) -> Phantom:
    """Paint the phantom ``key`` with its structure along ``axis``.

    Parameters
    ----------
    key : str
        One of ``phantom_keys()``.
    axis : str
        ``"long"`` (structure along world x, in the image plane) or
        ``"short"`` (along world y, across it).
    voxel_mm : float
        Grid spacing, mm.

    Returns
    -------
    Phantom
    """
    try:
        spec = PHANTOMS[key]
    except KeyError:
        raise KeyError(f"unknown phantom {key!r}; known: {', '.join(PHANTOMS)}") from None
    canvas = _Canvas(axis, spec.depth_mm, voxel_mm, spec.background)
    target, stated, layout = spec.build(canvas)
    return Phantom(
        key=key,
        axis=axis,
        title=spec.title,
        volume=canvas.volume(),
        target=target,
        depth_mm=spec.depth_mm,
        focus_mm=spec.focus_mm,
        freq_mhz=spec.freq_mhz,
        stated=stated,
        layout=layout,
    )
