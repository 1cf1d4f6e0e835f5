"""Infrapatellar branch of the saphenous nerve (IPBSN), medial to the patellar tendon.

Frame: x along the leg (distal +), y mediolateral (lateral +, towards the
tibial tuberosity), z depth; skin surface z = 0, the section of the
canonical view is y = 0, about 15 mm medial to the patellar tendon at the
level of the upper tibial tuberosity. Here the nerve runs across the leg
(along y), so a probe along the leg (yaw 0) shows it in short axis.

Dimensions (mm unless stated), typical adult values:

- skin 1.3, subcutaneous fat to 6.2 over the anteromedial proximal leg
  [Jac], [Gray];
- IPBSN in the subcutaneous fat just superficial to the deep fascia, a
  small oval 2.0 x 1.5 (CSA 2.4 mm²) with a few fascicles, 3.25 deep
  [Rieg], [Kerv];
- perineural target: the fat 0.8 around the nerve (the PIT / hydrodissection
  plane) [Lyft];
- great saphenous vein in the subcutaneous fat, 4.0 lumen, 0.3 wall,
  running obliquely (50 degrees to the image plane) posteromedial to the
  nerve; it crosses the image 12 proximal to the nerve [Gray], [Cagg];
- deep (crural) fascia 0.6 thick at 6.2 [Gray];
- pes anserinus (conjoint sartorius, gracilis, semitendinosus tendons)
  1.8 thick beneath the fascia, running obliquely to its insertion [Gray];
- anteromedial tibial cortex 9.5 deep [Gray].

Sources: [PROC] ../shared/PROCEDURES.md infrapatellar saphenous row
(2-6 mm); [Rieg] Riegler et al., Arthroscopy 2018;34:2874 (ultrasound
anatomy of the infrapatellar nerve branches); [Kerv] Kerver et al., J Bone
Joint Surg Am 2013;95:2119 (course of the IPBSN around the patellar tendon
and tuberosity); [Lyft] Lyftogt, Australas Musculoskelet Med 2007;12:110
(subcutaneous perineural injection); [Cagg] Caggiati et al., J Vasc Surg
2002;36:416 (saphenous veins in their fascial compartment); [Jac] Jacobson,
Fundamentals of Musculoskeletal Ultrasound, 3rd ed.; [Gray] Gray's Anatomy,
41st ed., knee and leg.
"""

from __future__ import annotations

import math

from anatomy_meshes.primitives import Station, box, loft, nerve_core

SCENE = "infrapatellar_saphenous"

#: Extents of the modelled block, mm.
X_MIN, X_MAX, HALF_Y = -30.0, 40.0, 20.0

SKIN_MM = 1.3
FAT_BOTTOM_MM = 6.2
FASCIA_THICK_MM = 0.6
PES_HALF_W, PES_HALF_H = 7.0, 0.9  # 1.8 thick, under the fascia
PES_CENTRE = (4.0, 0.0, FAT_BOTTOM_MM + FASCIA_THICK_MM + PES_HALF_H)
PES_DIR = (0.6, 0.8)  # running distal and lateral (anteriorly) to its insertion
TIBIA_TOP_MM, TIBIA_SEMI = 9.5, (25.0, 14.0)

#: IPBSN: centre (x, z), semi-axes (along the leg, depth); runs along y from NERVE_Y0.
NERVE_XZ, NERVE_SEMI = (0.0, 4.0), (1.0, 0.75)
NERVE_CSA_MM2 = math.pi * NERVE_SEMI[0] * NERVE_SEMI[1]
NERVE_Y0, NERVE_Y1 = -6.0, 24.0
#: Outer (epifascicular) epineurium: the thin echogenic rim of the nerve, tissue "fascia" here;
#: the core inside it is the fascicles and interfascicular epineurium (tissue
#: "nerve", honeycomb texture); sources in primitives.nerve_core. No measured
#: thickness was found: one voxel of the scene grid (0.12 mm), the thinnest
#: layer it holds.
EPINEURIUM_RIM_MM = 0.12
PERINEURAL_MM = 0.8

#: Great saphenous vein: crosses y = 0 at x = GSV_X0, angle to the x axis, radii.
GSV_X0, GSV_Z, GSV_ANGLE_DEG = -12.0, 3.8, -50.0
GSV_R, GSV_WALL = 2.3, 0.3


def _nerve_stations(semi):
    x, z = NERVE_XZ
    return [Station((x, NERVE_Y0, z), *semi), Station((x, NERVE_Y1, z), *semi)]


def _nerve(semi, n_around=32):
    return loft(_nerve_stations(semi), n_around=n_around, step_mm=2.0)


def _gsv(r):
    a = math.radians(GSV_ANGLE_DEG)
    d = (math.cos(a), math.sin(a))
    ends = [(GSV_X0 + t * d[0], t * d[1], GSV_Z) for t in (-40.0, 40.0)]
    return loft([Station(e, r, r) for e in ends], n_around=40, step_mm=2.0, round_ends=False)


def _pes():
    cx, cy, cz = PES_CENTRE
    ends = [(cx + t * PES_DIR[0], cy + t * PES_DIR[1], cz) for t in (-40.0, 40.0)]
    stations = [Station(e, PES_HALF_W, PES_HALF_H) for e in ends]
    return loft(stations, exponent=4.0, n_around=40, step_mm=2.0, round_ends=False)


def _tibia():
    cz = TIBIA_TOP_MM + TIBIA_SEMI[1]
    stations = [Station((x, 0.0, cz), *TIBIA_SEMI) for x in (X_MIN, X_MAX)]
    return loft(stations, n_around=64, step_mm=2.0, round_ends=False)


MESHES = {
    "skin.vtp": lambda: box((X_MIN, X_MAX, -HALF_Y, HALF_Y, 0.0, SKIN_MM)),
    "subcutaneous_fat.vtp": lambda: box((X_MIN, X_MAX, -HALF_Y, HALF_Y, SKIN_MM, FAT_BOTTOM_MM)),
    "deep_fascia.vtp": lambda: box(
        (X_MIN, X_MAX, -HALF_Y, HALF_Y, FAT_BOTTOM_MM, FAT_BOTTOM_MM + FASCIA_THICK_MM)
    ),
    "ipbsn.vtp": lambda: _nerve(NERVE_SEMI),
    "ipbsn_fascicles.vtp": lambda: nerve_core(
        _nerve_stations(NERVE_SEMI), EPINEURIUM_RIM_MM, n_around=32, step_mm=2.0
    ),
    "perineural_space.vtp": lambda: _nerve(
        (NERVE_SEMI[0] + PERINEURAL_MM, NERVE_SEMI[1] + PERINEURAL_MM)
    ),
    "gsv_wall.vtp": lambda: _gsv(GSV_R),
    "gsv_lumen.vtp": lambda: _gsv(GSV_R - GSV_WALL),
    "pes_anserinus.vtp": _pes,
    "tibia.vtp": _tibia,
}
