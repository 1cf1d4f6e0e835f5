"""Posterior sacroiliac joint, lower third, transverse: intra-articular SI joint injection.

Frame (patient prone, right side): x medial-lateral (+x lateral, x = 0 the
midline over the median sacral crest), y cranio-caudal (+y cranial), z depth
from the posterior skin; skin surface z = 0, the section of the canonical view
is y = 0 (second sacral segment, just caudal to the posterior superior iliac
spine: the lower, synovial third of the joint).

Dimensions (mm unless stated), typical adult values:

- skin 2 (thick skin of the back), subcutaneous fat to 12 over the sacrum
  [Jac], [Kle];
- thoracolumbar fascia / gluteal aponeurosis 1.0 (12-13); multifidus
  medially and the gluteus maximus origin laterally from 13 down to bone
  [Netter], [Kle];
- sacrum: dorsal surface 24 deep beside the midline (median sacral crest
  8.5 higher, 15.5 deep), 26.5 deep at the S2 foramen (25 lateral of the
  midline) and sloping gently down to the joint, whose dorsal opening (the
  apex of the notch between sacral and iliac cortices) lies 43.3 lateral of
  the midline, 33 deep (SI joint 20-50 deep [PROC]) [Netter], [Kle];
- S2 posterior sacral foramen 7 wide, 25 lateral of the midline, with the
  S2 dorsal ramus (2 diameter) emerging from it and running caudally on the
  sacrum [Netter], [Cox];
- ilium (posterior iliac spine region) laterally, its dorsal cortex 21 deep,
  its medial face rising steeply from the joint (the ilium overhangs the
  sacrum posteriorly) [Kle];
- joint cleft: 3 wide (radiographic SI joint width 2-4 mm), running from
  the dorsal opening (flared to 5) anterolaterally at 40 deg from the
  sagittal plane, 30 cranio-caudal extent in the lower (synovial) third;
  a needle at ~58 deg to the skin, medial to lateral, enters it [Vle], [Kle];
- posterior sacroiliac ligaments bridging the opening: 12 thick over the
  cleft, 28 wide, filling the notch between sacrum and ilium [Vle], [Netter].

Sources: [PROC] ../shared/PROCEDURES.md SI joint row; [Kle] Klauser et al.,
Arthritis Rheum 2008;59:1618 (ultrasound-guided SI joint injection: transverse
view at the lower pole, medial-to-lateral in-plane, depths); [Jac] Jacobson,
Fundamentals of Musculoskeletal Ultrasound, 3rd ed.; [Vle] Vleeming et al.,
J Anat 2012;221:537 (SI joint and ligament anatomy); [Cox] Cox & Fortin,
Pain Physician 2014;17:459 (sacral lateral branches and dorsal rami);
[Netter] Netter, Atlas of Human Anatomy, plates of the sacrum and pelvis.
"""

from __future__ import annotations

import math

from anatomy_meshes.primitives import Station, box, loft

SCENE = "sacroiliac_joint"

#: Extent of the layer boxes (mm): larger than the scene bounds.
X_RANGE, Y_RANGE, BOTTOM = (-60.0, 160.0), (-50.0, 50.0), 110.0
HALF_Y = 40.0  # half length (cranio-caudal) of the bones

SKIN_MM = 2.0
FAT_BOTTOM_MM = 12.0
TLF_MM = (12.0, 13.0)  # thoracolumbar fascia / gluteal aponeurosis
MUSCLE_SPLIT_X = 36.0  # multifidus medial, gluteus maximus lateral

#: Sacrum: rounded slab along y; centre (x, z), half width x, half height z, exponent.
SACRUM_XZ, SACRUM_HALF, SACRUM_EXP = (0.0, 44.0), (52.0, 20.0), 2.0
CREST_XZ, CREST_HALF = (0.0, 21.0), (4.0, 5.5)  # median sacral crest, top 15.5
#: Ilium (posterior iliac spine region), lateral.
ILIUM_XZ, ILIUM_HALF, ILIUM_EXP = (102.0, 44.0), (60.0, 23.0), 3.5

#: Joint cleft: from its dorsal opening (the apex of the notch between the sacral
#: and iliac cortices, at x 43.3, z 33.1), anterolaterally; the opening flares.
CLEFT_TOP = (43.94, 0.0, 33.87)
CLEFT_ANGLE_DEG = 40.0  # from the sagittal (depth) direction, lateral as it deepens
CLEFT_DIR = (math.sin(math.radians(CLEFT_ANGLE_DEG)), 0.0, math.cos(math.radians(CLEFT_ANGLE_DEG)))
CLEFT_LENGTH, CLEFT_HALF_THICK, CLEFT_HALF_Y = 28.0, 1.5, 15.0
CLEFT_OPENING_HALF, CLEFT_FLARE_MM = 2.5, 6.0  # flared dorsal opening

#: Posterior sacroiliac ligaments over the opening: centre (x, z), half sizes.
LIGAMENT_XZ, LIGAMENT_HALF = (44.0, 29.0), (14.0, 6.0)

#: S2 posterior foramen (fat-filled canal) and the S2 dorsal ramus.
FORAMEN_X, FORAMEN_R, FORAMEN_Z = 25.0, 3.5, (25.0, 38.0)
RAMUS_R = 1.0
RAMUS_PATH = ((25.0, 0.0, 37.0), (25.0, 0.0, 28.0), (25.5, -4.0, 25.0), (28.0, -30.0, 25.3))


def cleft_point(t: float) -> tuple[float, float, float]:
    """Point ``t`` mm along the cleft centre line from its dorsal opening."""
    return tuple(CLEFT_TOP[i] + t * CLEFT_DIR[i] for i in range(3))  # type: ignore[return-value]


def _slab_y(xz: tuple[float, float], half: tuple[float, float], exponent: float, n: int = 64):
    """Bone or ligament running cranio-caudally: a rounded section in the x-z plane."""
    x, z = xz
    stations = [
        Station((x, -HALF_Y, z), half[0], half[1]),
        Station((x, HALF_Y, z), half[0], half[1]),
    ]
    return loft(
        stations, (1.0, 0.0, 0.0), exponent=exponent, n_around=n, step_mm=10.0, round_ends=False
    )


def _cleft():
    stations = [
        Station(cleft_point(0.0), CLEFT_HALF_Y, CLEFT_OPENING_HALF),
        Station(cleft_point(CLEFT_FLARE_MM), CLEFT_HALF_Y, CLEFT_HALF_THICK),
        Station(cleft_point(CLEFT_LENGTH), CLEFT_HALF_Y, CLEFT_HALF_THICK),
    ]
    # width along y (cranio-caudal), thickness across the joint
    return loft(stations, (0.0, 1.0, 0.0), exponent=4.0, n_around=48, step_mm=2.0)


def _foramen():
    stations = [
        Station((FORAMEN_X, 0.0, FORAMEN_Z[0]), FORAMEN_R, FORAMEN_R),
        Station((FORAMEN_X, 0.0, FORAMEN_Z[1]), FORAMEN_R, FORAMEN_R),
    ]
    return loft(stations, (1.0, 0.0, 0.0), n_around=40, step_mm=5.0, round_ends=False)


def _ramus():
    stations = [Station(p, RAMUS_R, RAMUS_R) for p in RAMUS_PATH]
    return loft(stations, (1.0, 0.0, 0.0), n_around=20, step_mm=1.0)


def _layer(z0: float, z1: float, x0: float = X_RANGE[0], x1: float = X_RANGE[1]):
    return box((x0, x1, Y_RANGE[0], Y_RANGE[1], z0, z1))


MESHES = {
    "skin.vtp": lambda: _layer(0.0, SKIN_MM),
    "subcutaneous_fat.vtp": lambda: _layer(SKIN_MM, FAT_BOTTOM_MM),
    "thoracolumbar_fascia.vtp": lambda: _layer(*TLF_MM),
    "multifidus.vtp": lambda: _layer(TLF_MM[1], BOTTOM, X_RANGE[0], MUSCLE_SPLIT_X),
    "gluteus_maximus.vtp": lambda: _layer(TLF_MM[1], BOTTOM, MUSCLE_SPLIT_X, X_RANGE[1]),
    "posterior_si_ligaments.vtp": lambda: _slab_y(LIGAMENT_XZ, LIGAMENT_HALF, 2.0),
    "sacrum.vtp": lambda: _slab_y(SACRUM_XZ, SACRUM_HALF, SACRUM_EXP, 96),
    "median_sacral_crest.vtp": lambda: _slab_y(CREST_XZ, CREST_HALF, 2.0, 32),
    "ilium.vtp": lambda: _slab_y(ILIUM_XZ, ILIUM_HALF, ILIUM_EXP, 96),
    "si_joint_cleft.vtp": _cleft,
    "s2_foramen.vtp": _foramen,
    "s2_dorsal_ramus.vtp": _ramus,
}
