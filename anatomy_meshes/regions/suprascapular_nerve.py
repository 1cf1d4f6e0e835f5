"""Suprascapular nerve at the suprascapular notch, posterior view over the supraspinous fossa.

Frame: x parallel to the scapular spine, lateral (+, towards the acromion and
coracoid base) / medial (-); y cranial (+) / caudal (-); z depth (posterior
skin towards the thorax). Skin surface z = 0, the canonical section is y = 0.

Dimensions (mm), typical adult values:

- skin 1.5, subcutaneous fat to 5.0, trapezius 5.0-12.0, a thin fascia,
  supraspinatus 12.5 down to the floor of the fossa (muscle 20-25 mm thick
  [Har], [Jac]);
- floor of the supraspinous fossa (scapula, 6 mm plate) at 37.5 mm; the
  suprascapular notch a U-shaped groove about 12 mm wide at the top and 6 mm
  deep (floor at 43.5) [Rng], [Har]; a stylised groove running cranio-caudally
  through the model (the nerve's course into the fossa);
- superior transverse scapular ligament: 1.2 mm thick band bridging the
  notch at the level of the fossa floor [Rng];
- suprascapular nerve under the ligament, in the fat of the notch: flattened
  oval 3.2 x 2.6 (CSA 6.5 mm^2, diameter about 3 mm [Gray]); the perineural
  fat of the notch (the target, where the injectate should spread) [Har],
  [Peng];
- suprascapular artery above the ligament (its usual course) over the
  nerve: 2.5 outer diameter, wall 0.3 [Gray], [Peng];
- subscapularis / serratus / chest wall beneath the scapula, and the pleura
  (stylised as a 1 mm fascial layer) at 60 mm: reached only by a needle
  that slips past the notch [Har].

Guidance: notch 30-50 mm deep [PROC]; here the nerve lies at 38.7-41.3 mm.

Sources: [PROC] ../shared/PROCEDURES.md suprascapular row; [Har] Harmon &
Hearty, Pain Physician 2007;10:743 (ultrasound-guided suprascapular nerve
block at the notch: the nerve under the transverse scapular ligament); [Peng]
Peng et al., Can J Anaesth 2010;57:143 (ultrasound-guided suprascapular nerve
block, sonoanatomy of the fossa floor with the nerve and artery); [Rng]
Rengachary et al., Neurosurgery 1979;5:441 (suprascapular notch types and
dimensions, transverse scapular ligament); [Jac] Jacobson, Fundamentals of
Musculoskeletal Ultrasound, 3rd ed.; [Gray] Gray's Anatomy, 42nd ed.
"""

from __future__ import annotations

import math

from anatomy_meshes.primitives import Station, box, ellipsoid, loft, nerve_core

SCENE = "suprascapular_nerve"

#: Modelled block: x range, half extent in y, bottom depth.
X_MIN, X_MAX, HALF_Y, DEPTH = -28.0, 50.0, 12.0, 64.0

SKIN_MM = 1.5
FAT_BOTTOM_MM = 5.0
TRAPEZIUS_BOTTOM_MM = 12.0
FASCIA_MM = 0.5

#: Scapula: loft along x, (x, top depth) of its posterior surface; plate thickness.
FOSSA_FLOOR_MM = 37.5
NOTCH_FLOOR_MM = 43.5
SCAPULA_TOP_XZ = (
    (X_MIN - 2.0, FOSSA_FLOOR_MM),
    (-8.0, FOSSA_FLOOR_MM),
    (-5.5, 39.5),
    (-3.0, 42.6),
    (0.0, NOTCH_FLOOR_MM),
    (3.0, 42.6),
    (5.5, 39.5),
    (8.0, FOSSA_FLOOR_MM),
    (X_MAX + 2.0, FOSSA_FLOOR_MM),
)
SCAPULA_THICK_MM = 6.0

#: Superior transverse scapular ligament: (x, centre depth) stations, half thickness, half width.
LIGAMENT_XZ = ((-9.0, 36.9), (-6.0, 37.1), (0.0, 37.2), (6.0, 37.1), (9.0, 36.9))
LIGAMENT_HALF_THICK, LIGAMENT_HALF_WIDTH = 0.6, 2.5

#: Suprascapular nerve: centre (x, z) and semi-axes (lateral, depth); fascicles.
NERVE_XZ, NERVE_SEMI = (-1.5, 40.0), (1.6, 1.3)
#: Outer (epifascicular) epineurium: the thin echogenic rim of the nerve, tissue "fascia" here;
#: the core inside it is the fascicles and interfascicular epineurium (tissue
#: "nerve", honeycomb texture); sources in primitives.nerve_core. No measured
#: thickness was found: one voxel of the scene grid (0.25 mm), the thinnest
#: layer it holds.
EPINEURIUM_RIM_MM = 0.25
NERVE_CSA_MM2 = math.pi * NERVE_SEMI[0] * NERVE_SEMI[1]

#: Fat of the notch under the ligament (the perineural target space).
NOTCH_FAT_C, NOTCH_FAT_R = (0.0, 0.0, 40.5), (6.5, 11.0, 3.2)

#: Suprascapular artery above the ligament.
ARTERY_XZ, ARTERY_R, ARTERY_WALL = (-1.0, 35.2), 1.25, 0.3

#: Chest wall beneath the scapula and the pleura.
PLEURA_TOP_MM, PLEURA_MM = 60.0, 1.0


def _along_y(xz, semi):
    x, z = xz
    return [
        Station((x, -HALF_Y + 1.0, z), semi[0], semi[1]),
        Station((x, HALF_Y - 1.0, z), semi[0], semi[1]),
    ]


def _scapula():
    half = 0.5 * SCAPULA_THICK_MM
    stations = [Station((x, 0.0, z + half), HALF_Y + 2.0, half) for x, z in SCAPULA_TOP_XZ]
    return loft(stations, (0.0, 1.0, 0.0), exponent=4.0, step_mm=0.5, n_around=48)


def _ligament():
    stations = [
        Station((x, 0.0, z), LIGAMENT_HALF_WIDTH, LIGAMENT_HALF_THICK) for x, z in LIGAMENT_XZ
    ]
    return loft(stations, (0.0, 1.0, 0.0), exponent=4.0, step_mm=0.5)


MESHES = {
    "skin.vtp": lambda: box((X_MIN, X_MAX, -HALF_Y, HALF_Y, 0.0, SKIN_MM)),
    "subcutaneous_fat.vtp": lambda: box((X_MIN, X_MAX, -HALF_Y, HALF_Y, SKIN_MM, FAT_BOTTOM_MM)),
    "trapezius.vtp": lambda: box(
        (X_MIN, X_MAX, -HALF_Y, HALF_Y, FAT_BOTTOM_MM, TRAPEZIUS_BOTTOM_MM)
    ),
    "trapezius_fascia.vtp": lambda: box(
        (X_MIN, X_MAX, -HALF_Y, HALF_Y, TRAPEZIUS_BOTTOM_MM, TRAPEZIUS_BOTTOM_MM + FASCIA_MM)
    ),
    "supraspinatus.vtp": lambda: box(
        (X_MIN, X_MAX, -HALF_Y, HALF_Y, TRAPEZIUS_BOTTOM_MM + FASCIA_MM, NOTCH_FLOOR_MM)
    ),
    "scapula.vtp": _scapula,
    "transverse_scapular_ligament.vtp": _ligament,
    "notch_fat.vtp": lambda: ellipsoid(NOTCH_FAT_C, NOTCH_FAT_R, n_around=48, n_rings=32),
    "suprascapular_nerve.vtp": lambda: loft(_along_y(NERVE_XZ, NERVE_SEMI), n_around=40),
    "suprascapular_nerve_fascicles.vtp": lambda: nerve_core(
        _along_y(NERVE_XZ, NERVE_SEMI), EPINEURIUM_RIM_MM, n_around=40
    ),
    "suprascapular_artery_wall.vtp": lambda: loft(
        _along_y(ARTERY_XZ, (ARTERY_R, ARTERY_R)), n_around=40
    ),
    "suprascapular_artery_lumen.vtp": lambda: loft(
        _along_y(ARTERY_XZ, (ARTERY_R - ARTERY_WALL,) * 2), n_around=40
    ),
    "chest_wall.vtp": lambda: box((X_MIN, X_MAX, -HALF_Y, HALF_Y, NOTCH_FLOOR_MM, PLEURA_TOP_MM)),
    "pleura.vtp": lambda: box(
        (X_MIN, X_MAX, -HALF_Y, HALF_Y, PLEURA_TOP_MM, PLEURA_TOP_MM + PLEURA_MM)
    ),
}
