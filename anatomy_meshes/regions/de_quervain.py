"""First dorsal compartment at the radial styloid, short axis: de Quervain sheath injection.

Frame: x across the radial side of the wrist, dorsal (+) / volar (-); y along
the forearm, distal (+); z depth, skin surface z = 0. The canonical section
is y = 0, transverse over the tip region of the radial styloid (thumb side
up, forearm in neutral rotation).

Dimensions (mm unless stated), typical adult values:

- skin 1.0 and subcutaneous fat to 2.0 over the styloid [US-MSK];
- superficial radial nerve (SRN) branches in the subcutaneous fat, 0.9
  across: one crossing superficial to the compartment (it does so in ~60 %
  of wrists [Pas]), one volar [Pas], [US-MSK];
- extensor retinaculum over the first compartment, thickened to 1.0 (de
  Quervain 0.94 +/- 0.37, normal 0.35 +/- 0.07) [Kwon], 1.65 in [Das];
- common synovial sheath of the compartment: a 0.6-0.8 fluid ring around the
  tendons (small tenosynovial effusion), 3.1-7.4 deep [US-MSK], [PROC];
- abductor pollicis longus (volar, larger; often several slips) 4.0 x 3.0
  and extensor pollicis brevis (dorsal) 3.0 x 2.6 in the compartment, side
  by side, 3.7-6.7 deep [Pas], [US-MSK];
- brachioradialis insertion: a flat tendon, 0.8 thick, deep to the
  compartment on the styloid [Gray];
- radial styloid cortex 8.4 deep under the compartment [Gray], [US-MSK];
- second compartment (ECRL, ECRB) dorsal on the radius; radial artery volar
  (outer diameter 2.6, lumen 2.0), 5-7 deep, turning dorsally and deep into
  the anatomical snuffbox distal to the styloid [Gray], [US-MSK];
- pronator quadratus, volar and deep.

Sources: [PROC] ../shared/PROCEDURES.md de Quervain row; [Kwon] Kwon et al.,
J Orthop Sci 2010, "Ultrasonographic evaluation of the first extensor
compartment of the wrist in de Quervain's disease" (retinaculum 0.94 vs
0.35 mm); [Das] Das and Prabhu, Int J Res Med Sci (de Quervain's disease by
high-resolution US: thickened retinaculum, mean 1.65 mm); [Pas] Pasiphol et
al., Anat Cell Biol 2024;57(2) (SRN over the first compartment in 59.5 %,
APL slips, septum); [Gray] Gray's Anatomy 41st ed., wrist; [US-MSK] Jacobson,
Fundamentals of Musculoskeletal Ultrasound, 3rd ed., wrist chapter.
"""

from __future__ import annotations

from anatomy_meshes.primitives import Station, box, ellipsoid, loft, merge

SCENE = "de_quervain"

#: Half extents of the modelled block, mm (x, y); depth 24.
HALF_X, HALF_Y, DEPTH = 30.0, 20.0, 24.0

SKIN_MM = 1.0
FAT_BOTTOM_MM = 2.0

#: Common synovial sheath: superellipse centre (x, z), semi-axes, exponent.
SHEATH_CENTRE_XZ = (-0.35, 5.2)
SHEATH_SEMI = (4.55, 2.2)
SHEATH_EXPONENT = 2.5

APL_XZ, APL_SEMI = (-2.2, 5.2), (2.0, 1.5)
EPB_XZ, EPB_SEMI = (2.0, 5.2), (1.5, 1.3)

RETINACULUM_THICK_MM = 1.0
RETINACULUM_X = (-4.6, -3.0, -1.5, 0.0, 1.5, 3.0, 3.9)
RETINACULUM_HALF_LENGTH_Y = 8.0  # the retinaculum over the compartment is ~15 long [Pas]

SRN_XZ = ((3.5, 1.5), (-5.0, 1.5))
SRN_R = 0.45

BR_XZ, BR_SEMI = (0.0, 7.9), (4.0, 0.4)  # brachioradialis insertion, flat
STYLOID_C, STYLOID_R = (0.5, -4.0, 19.4), (16.0, 16.0, 11.0)  # top 8.4 at x = 0.5

ECRL_XZ, ECRB_XZ, ECR_SEMI = (10.5, 9.2), (14.5, 12.8), (2.0, 1.2)
PQ_C, PQ_R = (-12.0, 0.0, 11.5), (6.0, 18.0, 3.0)

RADIAL_ARTERY_PATH = ((-10.0, -20.0, 6.0), (-10.0, 0.0, 6.0), (-7.0, 10.0, 8.0), (-3.0, 20.0, 10.0))
RADIAL_ARTERY_R, RADIAL_ARTERY_WALL = 1.3, 0.3


def sheath_top_mm(x: float) -> float:
    """Depth of the sheath's superficial surface at ``x`` (inside its width)."""
    cx, cz = SHEATH_CENTRE_XZ
    a, b = SHEATH_SEMI
    u = abs(x - cx) / a
    return cz - b * (1.0 - u**SHEATH_EXPONENT) ** (1.0 / SHEATH_EXPONENT)


def _along_y(xz: tuple[float, float], semi: tuple[float, float]) -> list[Station]:
    x, z = xz
    return [
        Station((x, -HALF_Y + 1.0, z), semi[0], semi[1]),
        Station((x, HALF_Y - 1.0, z), semi[0], semi[1]),
    ]


def _tube_y(xz, semi, n_around: int = 48, exponent: float = 2.0):
    return loft(_along_y(xz, semi), n_around=n_around, round_ends=False, exponent=exponent)


def _retinaculum():
    half = 0.5 * RETINACULUM_THICK_MM
    stations = [
        Station((x, 0.0, sheath_top_mm(x) - half), RETINACULUM_HALF_LENGTH_Y, half)
        for x in RETINACULUM_X
    ]
    return loft(stations, width_dir=(0.0, 1.0, 0.0), exponent=6.0, step_mm=0.5)


def _radial_artery(radius: float):
    stations = [Station(p, radius, radius) for p in RADIAL_ARTERY_PATH]
    return loft(stations, n_around=40, step_mm=1.0)


MESHES = {
    "skin.vtp": lambda: box((-HALF_X, HALF_X, -HALF_Y, HALF_Y, 0.0, SKIN_MM)),
    "subcutaneous_fat.vtp": lambda: box((-HALF_X, HALF_X, -HALF_Y, HALF_Y, SKIN_MM, FAT_BOTTOM_MM)),
    "superficial_radial_nerve.vtp": lambda: merge(
        [_tube_y(xz, (SRN_R, SRN_R), 24) for xz in SRN_XZ]
    ),
    "extensor_retinaculum.vtp": _retinaculum,
    "tendon_sheath.vtp": lambda: _tube_y(SHEATH_CENTRE_XZ, SHEATH_SEMI, 64, SHEATH_EXPONENT),
    "abductor_pollicis_longus.vtp": lambda: _tube_y(APL_XZ, APL_SEMI, 48),
    "extensor_pollicis_brevis.vtp": lambda: _tube_y(EPB_XZ, EPB_SEMI, 48),
    "brachioradialis_tendon.vtp": lambda: _tube_y(BR_XZ, BR_SEMI, 40, 4.0),
    "ecrl_ecrb_tendons.vtp": lambda: merge(
        [_tube_y(ECRL_XZ, ECR_SEMI, 40), _tube_y(ECRB_XZ, ECR_SEMI, 40)]
    ),
    "pronator_quadratus.vtp": lambda: loft(
        _along_y((PQ_C[0], PQ_C[2]), (PQ_R[0], PQ_R[2])), n_around=40
    ),
    "radial_artery_wall.vtp": lambda: _radial_artery(RADIAL_ARTERY_R),
    "radial_artery_lumen.vtp": lambda: _radial_artery(RADIAL_ARTERY_R - RADIAL_ARTERY_WALL),
    "radial_styloid.vtp": lambda: ellipsoid(STYLOID_C, STYLOID_R, n_around=64, n_rings=32),
}
