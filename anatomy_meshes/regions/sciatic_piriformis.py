"""Deep gluteal region along the piriformis: piriformis injection next to the sciatic nerve.

Frame (patient prone): x along the piriformis as projected on the skin (+x
medial, towards the sacrum; -x lateral, towards the greater trochanter),
y perpendicular to it on the skin (+y cranial), z depth; skin surface z = 0,
the section of the canonical view is y = 0. The sciatic nerve and the inferior
gluteal artery leave the pelvis under the lower border of the piriformis and
run caudally: they cross the image plane in short axis.

Dimensions (mm unless stated), typical adult values:

- skin 2, subcutaneous fat to 16 over the buttock [Jac], [Smith];
- gluteus maximus 23 thick (16.8-40), deep fascia 0.8 [Jac], [PROC];
- piriformis belly 12 thick (41.5-53.5), 24-32 wide, from the sacrum to a
  tendon on the tip of the greater trochanter, with its fascia [Fish],
  [Netter];
- sciatic nerve deep to the piriformis: flat oval 15 x 4.8, CSA 56.5 mm^2
  (normal 50-60 mm^2 at this level): a fascicular core (tissue "nerve",
  whose texture draws the fascicles) inside a thin outer epineurium, in a
  1.5 mm cuff of loose subgluteal fat [Ch], [PROC];
- inferior gluteal artery, 3.6 outer diameter, medial to the nerve at the
  lower border of the piriformis [Netter];
- bone floor: greater trochanter laterally (top 36 deep), ischium /
  posterior acetabular column under the nerve (top 63), lateral sacrum
  medially (top 58); the greater sciatic notch between them [Netter].

Sources: [PROC] ../shared/PROCEDURES.md piriformis row (40-80 mm);
[Smith] Smith et al., Arch Phys Med Rehabil 2006;87:1664 (ultrasound-guided
piriformis injection technique); [Fish] Fishman et al., Arch Phys Med Rehabil
2002;83:295 (piriformis syndrome); [Ch] Chen et al. / Tagliafico et al.,
sonographic sciatic nerve CSA in the gluteal region; [Jac] Jacobson,
Fundamentals of Musculoskeletal Ultrasound, 3rd ed., hip chapter; [Netter]
Netter, Atlas of Human Anatomy, gluteal region plates.
"""

from __future__ import annotations

import math

from anatomy_meshes.primitives import Station, box, ellipsoid, loft, nerve_core

SCENE = "sciatic_piriformis"

#: Extent of the layer boxes (mm): larger than the scene bounds.
X_RANGE, Y_RANGE, BOTTOM = (-110.0, 110.0), (-50.0, 50.0), 110.0
HALF_Y = 35.0  # half length of the structures crossing the plane

SKIN_MM = 2.0
FAT_BOTTOM_MM = 16.0
GMAX_FASCIA_MM = (16.0, 16.8)
GMAX_MM = (16.8, 40.0)
DEEP_FASCIA_MM = (40.0, 40.8)

#: Piriformis: stations (x, z centre, half thickness, half width in y).
PIRIFORMIS = (
    (-56.0, 40.0, 2.5, 5.0),  # tendon on the greater trochanter
    (-38.0, 45.5, 5.0, 10.0),
    (-15.0, 47.5, 6.0, 12.0),
    (20.0, 47.5, 6.0, 14.0),
    (40.0, 50.0, 6.0, 15.0),
    (62.0, 58.0, 6.0, 16.0),  # passing deep to the lateral sacrum (greater sciatic notch)
    (95.0, 68.0, 6.0, 16.0),
)
PIRIFORMIS_FASCIA_MM = 0.8

#: Sciatic nerve: centre (x, z), semi-axes (lateral, depth).
SCIATIC_XZ, SCIATIC_SEMI = (-2.0, 58.2), (7.5, 2.4)
SCIATIC_CSA_MM2 = math.pi * SCIATIC_SEMI[0] * SCIATIC_SEMI[1]
PERINEURAL_MM = 1.5  # loose fat of the subgluteal space around the nerve
#: Outer (epifascicular) epineurium: the thin echogenic rim of the nerve, tissue "fascia" here;
#: the core inside it is the fascicles and interfascicular epineurium (tissue
#: "nerve", honeycomb texture); sources in primitives.nerve_core. No measured
#: thickness was found: one voxel of the scene grid (0.4 mm), the thinnest
#: layer it holds.
EPINEURIUM_RIM_MM = 0.4

IGA_XZ, IGA_R, IGA_WALL = (13.5, 56.0), 1.8, 0.4  # inferior gluteal artery

TROCHANTER_C, TROCHANTER_R = (-62.0, 0.0, 56.0), (16.0, 22.0, 20.0)
ISCHIUM_C, ISCHIUM_R = (-15.0, 0.0, 75.0), (35.0, 25.0, 12.0)
SACRUM_C, SACRUM_R = (65.0, 0.0, 72.0), (25.0, 30.0, 14.0)


def _piriformis(extra: float = 0.0):
    stations = [Station((x, 0.0, z), hw + extra, hh + extra) for x, z, hh, hw in PIRIFORMIS]
    return loft(stations, n_around=48, step_mm=1.5)


def _along_y(xz: tuple[float, float], semi: tuple[float, float]) -> list[Station]:
    x, z = xz
    return [Station((x, -HALF_Y, z), semi[0], semi[1]), Station((x, HALF_Y, z), semi[0], semi[1])]


def _tube_y(xz: tuple[float, float], semi: tuple[float, float], n_around: int = 48):
    return loft(_along_y(xz, semi), n_around=n_around, step_mm=10.0, round_ends=False)


def _layer(z0: float, z1: float):
    return box((X_RANGE[0], X_RANGE[1], Y_RANGE[0], Y_RANGE[1], z0, z1))


MESHES = {
    "skin.vtp": lambda: _layer(0.0, SKIN_MM),
    "subcutaneous_fat.vtp": lambda: _layer(SKIN_MM, FAT_BOTTOM_MM),
    "gluteal_fascia.vtp": lambda: _layer(*GMAX_FASCIA_MM),
    "gluteus_maximus.vtp": lambda: _layer(*GMAX_MM),
    "deep_gluteal_fascia.vtp": lambda: _layer(*DEEP_FASCIA_MM),
    "deep_muscles.vtp": lambda: _layer(DEEP_FASCIA_MM[1], BOTTOM),
    "piriformis_fascia.vtp": lambda: _piriformis(PIRIFORMIS_FASCIA_MM),
    "piriformis.vtp": _piriformis,
    "perisciatic_plane.vtp": lambda: _tube_y(
        SCIATIC_XZ, (SCIATIC_SEMI[0] + PERINEURAL_MM, SCIATIC_SEMI[1] + PERINEURAL_MM), 64
    ),
    "sciatic_nerve.vtp": lambda: _tube_y(SCIATIC_XZ, SCIATIC_SEMI, 64),
    "sciatic_nerve_fascicles.vtp": lambda: nerve_core(
        _along_y(SCIATIC_XZ, SCIATIC_SEMI),
        EPINEURIUM_RIM_MM,
        n_around=64,
        step_mm=10.0,
        round_ends=False,
    ),
    "inferior_gluteal_artery_wall.vtp": lambda: _tube_y(IGA_XZ, (IGA_R, IGA_R), 32),
    "inferior_gluteal_artery_lumen.vtp": lambda: _tube_y(
        IGA_XZ, (IGA_R - IGA_WALL, IGA_R - IGA_WALL), 32
    ),
    "greater_trochanter.vtp": lambda: ellipsoid(TROCHANTER_C, TROCHANTER_R),
    "ischium.vtp": lambda: ellipsoid(ISCHIUM_C, ISCHIUM_R),
    "sacrum.vtp": lambda: ellipsoid(SACRUM_C, SACRUM_R),
}
