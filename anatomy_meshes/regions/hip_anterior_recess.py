"""Anterior hip, oblique sagittal along the femoral neck: anterior joint recess injection.

Frame: x along the femoral neck axis as projected on the skin (+x cranial-medial,
towards the femoral head and the acetabulum; -x caudal-lateral, towards the
greater trochanter), y perpendicular to it on the skin (+y medial-caudal),
z depth; skin surface z = 0, the section of the canonical view is y = 0.
The body's long axis (cranial) is (x - y) / sqrt 2 in this frame, the medial
direction (x + y) / sqrt 2: the femoral vessels and nerve run along the body
axis and lie medial to the neck plane, crossing y = 0 only beyond the
cranial-medial edge of the image.

Dimensions (mm unless stated), typical adult values (normal to overweight
build, the anterior recess 4-6 cm deep):

- skin 1.5, subcutaneous fat to 14 over the anterior hip [Jac], [Rob];
- superficial muscle layer (sartorius / rectus femoris) 14.8-24, under the
  fascia lata; iliopsoas from 24.8 down to the capsule [Jac], [Netter];
- femoral head: sphere of radius 24 (diameter 48, adult male 46-50) [Rub];
  hyaline cartilage ~1.8 thick over its anterior surface, thinning to the
  head-neck junction [Sh];
- femoral neck: axis in the image plane, nearly parallel to the skin under the
  oblique probe (rising 5 deg towards the trochanter), antero-posterior diameter 25, supero-inferior
  diameter 30 at mid-neck, widening to the intertrochanteric region [Rub];
- anterior recess: the capsule (iliofemoral ligament) 3 thick, lifted off
  the neck by a small effusion of 4 mm: capsule-to-bone distance 7 mm
  (normal 5-6 mm, effusion >= 7 mm or > 1-2 mm more than the other side)
  [Ko89], [Jac];
- acetabular rim: bony wedge whose tip rests on the head cartilage about
  40 deg cranial of the head's anterior pole, its superficial cortex rising
  gently cranially (acetabular roof / AIIS), with the fibrocartilaginous
  labrum (~10 x 6 triangle) on the rim [Netter], [Jac];
- femoral nerve (9 x 3.6, CSA ~25 mm^2), artery (8 outer, wall 0.8) and vein
  (10 x 9) in the femoral triangle, ~21 deep, 36-54 mm medial of the neck
  line [Netter], [Jac].

Sources: [PROC] ../shared/PROCEDURES.md hip row; [Jac] Jacobson, Fundamentals
of Musculoskeletal Ultrasound, 3rd ed., hip chapter (anterior recess,
oblique-sagittal technique); [Ko89] Koski et al., Scand J Rheumatol
1989;18:113 (capsule-to-bone distance, hip effusion); [Rub] Rubin et al.,
J Bone Joint Surg Br 1992;74:28 (proximal femoral geometry); [Sh] Shepherd &
Seedhom, Ann Rheum Dis 1999;58:27 (hip cartilage thickness); [Rob] Robinson,
Clin Radiol 2009 (hip injection technique, depths); [Netter] Netter, Atlas of
Human Anatomy, plates of the femoral triangle and hip joint.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.interpolate import PchipInterpolator

from anatomy_meshes.primitives import Station, box, ellipsoid, loft, nerve_core

SCENE = "hip_anterior_recess"

#: Extent of the layer boxes (mm): larger than the scene bounds.
X_RANGE, Y_RANGE, BOTTOM = (-110.0, 120.0), (-50.0, 70.0), 110.0

SKIN_MM = 1.5
FAT_BOTTOM_MM = 14.0
FASCIA_LATA_MM = (14.0, 14.8)
SUPERFICIAL_MUSCLE_MM = (14.8, 24.0)  # sartorius / rectus femoris
ILIOPSOAS_FASCIA_MM = (24.0, 24.8)
ILIOPSOAS_TOP_MM = 24.8

#: Femoral head: centre (x, z) in the plane y = 0, radius.
HEAD_C = (22.0, 0.0, 64.0)
HEAD_R = 24.0
CARTILAGE_R = 26.2  # offset sphere: ~1.8 anteriorly, thinning towards the neck
CARTILAGE_OFFSET = 1.5  # mm, away from the neck

#: Neck axis: from the head centre towards the trochanter, rising 5 deg towards the skin
#: (anteversion ~15 deg, offset by the slope of the anterolateral thigh under the probe).
NECK_ANGLE_DEG = -5.0
NECK_DIR = (-math.cos(math.radians(NECK_ANGLE_DEG)), 0.0, math.sin(math.radians(NECK_ANGLE_DEG)))
#: Unit normal in the image plane towards the skin (anterior).
NECK_UP = (-math.sin(math.radians(NECK_ANGLE_DEG)), 0.0, -math.cos(math.radians(NECK_ANGLE_DEG)))
#: (s along the axis from the head centre, half width in y (SI), half height (AP)).
NECK_TABLE = (
    (2.0, 15.0, 12.5),
    (20.0, 15.0, 12.5),
    (38.0, 15.5, 13.0),
    (55.0, 18.5, 15.0),
    (75.0, 21.0, 16.0),
    (100.0, 23.0, 16.0),
)

CAPSULE_MM = 3.0  # iliofemoral ligament / anterior capsule
EFFUSION_MM = 4.0  # fluid between capsule and neck cortex
RECESS_END_S = 50.0  # caudal end of the recess (intertrochanteric line ~55)
CAPSULE_HEAD_R = 29.5  # capsule over the head: shell from the cartilage to 29.5

#: Acetabulum and ilium in the plane y = 0: a wedge whose tip (the bony rim,
#: 40 deg cranial of the head's anterior pole) rests on the head cartilage and
#: whose superficial surface rises gently cranially towards the anterior inferior
#: iliac spine. Stations: (x, z, half thickness); half width (y) ACET_HALF_WIDTH.
ACET_RIM_DEG, ACET_RIM_RHO, ACET_RIM_HALF = 40.0, 27.5, 1.5
ACET_STATIONS = ((50.0, 50.0, 8.0), (70.0, 52.0, 12.0), (95.0, 50.0, 13.0), (125.0, 50.0, 13.0))
ACET_HALF_WIDTH = 22.0
#: Labrum on the rim: angle, radius, semi-axes (tangential, y, radial).
LABRUM_DEG, LABRUM_RHO, LABRUM_SEMI = 30.0, 29.0, (5.0, 14.0, 3.0)

#: Femoral neurovascular bundle: straight along the body axis (x - y)/sqrt2,
#: at "medial offset" m = (x + y)/sqrt2 and depth z.
BODY_AXIS = (1.0 / math.sqrt(2.0), -1.0 / math.sqrt(2.0), 0.0)
MEDIAL = (1.0 / math.sqrt(2.0), 1.0 / math.sqrt(2.0), 0.0)
FEM_NERVE_M, FEM_NERVE_Z, FEM_NERVE_SEMI = 36.0, 21.0, (4.5, 1.8)
FEM_ARTERY_M, FEM_ARTERY_Z, FEM_ARTERY_R, FEM_ARTERY_WALL = 45.0, 21.0, 4.0, 0.8
FEM_VEIN_M, FEM_VEIN_Z, FEM_VEIN_SEMI, FEM_VEIN_WALL = 56.0, 22.0, (5.0, 4.5), 0.5
#: Outer (epifascicular) epineurium: the thin echogenic rim of the nerve, tissue "fascia" here;
#: the core inside it is the fascicles and interfascicular epineurium (tissue
#: "nerve", honeycomb texture); sources in primitives.nerve_core. No measured
#: thickness was found: one voxel of the scene grid (0.4 mm), the thinnest
#: layer it holds.
EPINEURIUM_RIM_MM = 0.4

_S = np.array([r[0] for r in NECK_TABLE])
_NECK_W = PchipInterpolator(_S, [r[1] for r in NECK_TABLE])
_NECK_H = PchipInterpolator(_S, [r[2] for r in NECK_TABLE])


def neck_half_height(s: float) -> float:
    """Antero-posterior half height of the neck at ``s`` mm from the head centre."""
    return float(_NECK_H(s))


def neck_point(s: float, offset: float, y: float = 0.0) -> tuple[float, float, float]:
    """Point ``s`` along the neck axis, ``offset`` mm anterior of it (towards the skin)."""
    return (
        HEAD_C[0] + s * NECK_DIR[0] + offset * NECK_UP[0],
        y,
        HEAD_C[2] + s * NECK_DIR[2] + offset * NECK_UP[2],
    )


def _sleeve(s_values: tuple[float, ...], extra: float):
    """Solid loft around the neck axis, ``extra`` mm larger than the neck all round."""
    stations = [
        Station(neck_point(s, 0.0), float(_NECK_W(s)) + extra, float(_NECK_H(s)) + extra)
        for s in s_values
    ]
    return loft(stations, n_around=64, step_mm=1.0, round_ends=False)


def _neck():
    stations = [Station(neck_point(s, 0.0), w, h) for s, w, h in NECK_TABLE]
    return loft(stations, n_around=64, step_mm=1.0)


def _recess():
    return _sleeve((2.0, 20.0, 38.0, RECESS_END_S), EFFUSION_MM)


def _capsule_neck():
    # capsule: 3 mm over the fluid, then thinning onto the intertrochanteric line
    s_vals = (2.0, 20.0, 38.0, RECESS_END_S)
    stations = [
        Station(neck_point(s, 0.0), float(_NECK_W(s)) + 7.0, float(_NECK_H(s)) + 7.0)
        for s in s_vals
    ]
    stations.append(
        Station(neck_point(58.0, 0.0), float(_NECK_W(58.0)) + 1.5, float(_NECK_H(58.0)) + 1.5)
    )
    return loft(stations, n_around=64, step_mm=1.0, round_ends=False)


def _arc_point(deg: float, rho: float) -> tuple[float, float, float]:
    a = math.radians(deg)
    return (HEAD_C[0] + rho * math.sin(a), 0.0, HEAD_C[2] - rho * math.cos(a))


def _acetabulum():
    stations = [Station(_arc_point(ACET_RIM_DEG, ACET_RIM_RHO), ACET_HALF_WIDTH, ACET_RIM_HALF)]
    stations += [Station((x, 0.0, z), ACET_HALF_WIDTH, h) for x, z, h in ACET_STATIONS]
    return loft(stations, n_around=48, step_mm=1.0, exponent=3.0)


def _labrum():
    return ellipsoid(
        _arc_point(LABRUM_DEG, LABRUM_RHO), LABRUM_SEMI, (0.0, -LABRUM_DEG, 0.0), n_around=40
    )


def _cartilage():
    c = (
        HEAD_C[0] - CARTILAGE_OFFSET * NECK_DIR[0],
        0.0,
        HEAD_C[2] - CARTILAGE_OFFSET * NECK_DIR[2],
    )
    return ellipsoid(c, (CARTILAGE_R,) * 3, n_around=64, n_rings=48)


def _bundle_stations(m: float, z: float, semi: tuple[float, float]) -> list[Station]:
    """A straight structure along the body axis through the scene, at medial offset m."""
    base = np.array(MEDIAL) * m + np.array([0.0, 0.0, z])
    ends = [base + t * np.array(BODY_AXIS) for t in (-70.0, 70.0)]
    return [Station(tuple(float(v) for v in e), semi[0], semi[1]) for e in ends]


def _tube(m: float, z: float, semi: tuple[float, float], n_around: int = 40):
    return loft(_bundle_stations(m, z, semi), n_around=n_around, step_mm=5.0, round_ends=False)


def _layer(z0: float, z1: float):
    return box((X_RANGE[0], X_RANGE[1], Y_RANGE[0], Y_RANGE[1], z0, z1))


MESHES = {
    "skin.vtp": lambda: _layer(0.0, SKIN_MM),
    "subcutaneous_fat.vtp": lambda: _layer(SKIN_MM, FAT_BOTTOM_MM),
    "fascia_lata.vtp": lambda: _layer(*FASCIA_LATA_MM),
    "sartorius_rectus.vtp": lambda: _layer(*SUPERFICIAL_MUSCLE_MM),
    "iliopsoas_fascia.vtp": lambda: _layer(*ILIOPSOAS_FASCIA_MM),
    "iliopsoas.vtp": lambda: _layer(ILIOPSOAS_TOP_MM, BOTTOM),
    "capsule_head.vtp": lambda: ellipsoid(HEAD_C, (CAPSULE_HEAD_R,) * 3, n_around=64, n_rings=48),
    "capsule_neck.vtp": _capsule_neck,
    "anterior_recess.vtp": _recess,
    "head_cartilage.vtp": _cartilage,
    "labrum.vtp": _labrum,
    "femoral_head.vtp": lambda: ellipsoid(HEAD_C, (HEAD_R,) * 3, n_around=64, n_rings=48),
    "femoral_neck.vtp": _neck,
    "acetabulum.vtp": _acetabulum,
    "femoral_nerve.vtp": lambda: _tube(FEM_NERVE_M, FEM_NERVE_Z, FEM_NERVE_SEMI, 48),
    "femoral_nerve_fascicles.vtp": lambda: nerve_core(
        _bundle_stations(FEM_NERVE_M, FEM_NERVE_Z, FEM_NERVE_SEMI),
        EPINEURIUM_RIM_MM,
        n_around=48,
        step_mm=5.0,
        round_ends=False,
    ),
    "femoral_artery_wall.vtp": lambda: _tube(
        FEM_ARTERY_M, FEM_ARTERY_Z, (FEM_ARTERY_R, FEM_ARTERY_R), 48
    ),
    "femoral_artery_lumen.vtp": lambda: _tube(
        FEM_ARTERY_M,
        FEM_ARTERY_Z,
        (FEM_ARTERY_R - FEM_ARTERY_WALL, FEM_ARTERY_R - FEM_ARTERY_WALL),
        48,
    ),
    "femoral_vein_wall.vtp": lambda: _tube(FEM_VEIN_M, FEM_VEIN_Z, FEM_VEIN_SEMI, 48),
    "femoral_vein_lumen.vtp": lambda: _tube(
        FEM_VEIN_M,
        FEM_VEIN_Z,
        (FEM_VEIN_SEMI[0] - FEM_VEIN_WALL, FEM_VEIN_SEMI[1] - FEM_VEIN_WALL),
        48,
    ),
}
