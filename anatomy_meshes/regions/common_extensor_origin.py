"""Lateral elbow, common extensor origin in long axis (coronal): PRP / fenestration.

Frame: x along the forearm, proximal (-) / distal (+), so the lateral
epicondyle sits on the left of the image and the radial head on the right;
y anterior (+) / posterior (-); z depth, skin surface z = 0. The canonical
section is y = 0 (coronal plane through the lateral epicondyle, elbow
extended or slightly flexed, forearm pronated). x = 0 is the proximal edge of
the capitellum.

Dimensions (mm unless stated), typical adult values:

- skin 1.2 and subcutaneous fat to 3.0 over the lateral epicondyle [US-MSK];
- common extensor tendon (CET): hyperechoic beak from the anterior facet of
  the lateral epicondyle over the radiocapitellar joint, tapering distally:
  4.2 thick at the humeral (epicondyle) level, 3.5 at the articular level,
  3.0 over the radial head [Cak] (humeral 4.2-4.6, articular 3.2-3.6, radial
  2.9-3.2), normal < ~4.5-5 [Kro], [Jae]; ~12 wide (anterior-posterior);
  superficial surface 3.1-3.6 deep [PROC: 3-8 mm];
- degenerate (tendinosis) zone: hypoechoic ellipsoid 8 x 5 x 2.4 in the deep,
  anterior (ECRB) fibres just distal to the epicondyle, 4.7-7.1 deep [US-MSK],
  [Con]; a small anechoic intrasubstance cleft (partial tear) 2.8 x 2 x 0.6 at
  its proximal, deep end [Con];
- radial collateral / annular ligament complex: 1.5-3 thick, deep to the CET,
  from the epicondyle over the capitellum and the radial head [US-MSK];
- lateral epicondyle cortex 6.0 deep at its apex, sloping to 7.8 at the
  tendon footprint; capitellum bone 10.0 deep with 1.0 of hyaline cartilage;
  radiocapitellar joint recess (synovial fluid, 2 wide); radial head
  diameter 21 (rim 10.5 deep, cartilage 0.8), neck diameter 13 [Gray],
  [US-MSK];
- radial nerve anterior to the radiocapitellar joint, 12 anterior of the
  coronal plane and 12 deep, oval 3.6 x 2.6 (CSA ~7.4 mm²) [Cart], [Gray];
- extensor muscle bellies (EDC, ECRB) superficial and distal, supinator deep
  around the radial neck.

Sources: [PROC] ../shared/PROCEDURES.md lateral epicondyle row; [Cak]
Surg Radiol Anat 2013;35:547-552, CET thickness at humeral, articular and
radial levels in 100 normal volunteers; [Kro] Krogh et al., Orthop J Sports
Med 2017;5(5) (CET thickness in 264 asymptomatic adults); [Jae] Jaen-Diaz et
al., J Ultrasound Med 2010;29:1717 (CET thickness 4.6-4.8 mm); [Cart]
Cartwright et al., Muscle Nerve 2008;37:566 (nerve CSA reference values);
[Con] Connell et al., AJR 2001;176:777 (sonographic features of lateral
epicondylitis: focal hypoechoic areas in the deep ECRB fibres); [Gray]
Gray's Anatomy 41st ed., elbow; [US-MSK] Jacobson, Fundamentals of
Musculoskeletal Ultrasound, 3rd ed., elbow chapter.
"""

from __future__ import annotations

import math

from anatomy_meshes.primitives import Station, box, ellipsoid, loft, nerve_core

SCENE = "common_extensor_origin"

#: Half extents of the modelled block, mm (x, y); depth 30.
HALF_X, HALF_Y, DEPTH = 40.0, 22.0, 30.0

SKIN_MM = 1.2
FAT_BOTTOM_MM = 3.0

#: CET stations: x, superficial surface depth, deep surface depth.
CET_PROFILE = (
    (-17.0, 3.4, 5.9),
    (-12.0, 3.2, 6.5),
    (-6.0, 3.1, 7.3),  # humeral level: 4.2 thick
    (0.0, 3.2, 7.2),
    (7.0, 3.4, 6.9),  # articular level: 3.5
    (14.0, 3.6, 6.6),  # radial level: 3.0
    (22.0, 3.8, 6.0),
    (30.0, 4.0, 5.4),
)
CET_HALF_WIDTH = 6.0
CET_HUMERAL_X = -6.0

#: Degenerate hypoechoic zone (target): centre, semi-axes.
TENDINOSIS_C = (-4.0, 0.0, 5.9)
TENDINOSIS_R = (4.0, 2.5, 1.2)
#: Small anechoic intrasubstance cleft (partial tear) in the proximal part of the zone.
CLEFT_C, CLEFT_R = (-5.5, 0.0, 6.4), (1.4, 1.0, 0.3)

#: Radial collateral + annular ligament complex: x, top depth, bottom depth.
RCL_PROFILE = (
    (-5.0, 7.3, 8.7),
    (1.0, 7.25, 9.0),
    (7.0, 6.95, 9.3),
    (13.0, 6.65, 9.75),
    (18.0, 6.4, 9.9),
)
RCL_HALF_WIDTH = 5.0

#: Lateral humeral column / epicondyle: x, cortex depth (top of the bone).
EPICONDYLE_PROFILE = ((-40.0, 5.6), (-26.0, 5.8), (-14.0, 6.0), (-6.0, 7.2), (-2.0, 8.6))
EPICONDYLE_HALF = (9.0, 9.0)  # y, z semi-axes of the column section

CAPITELLUM_C, CAPITELLUM_R = (1.5, 0.0, 17.0), (7.0, 9.0, 7.0)  # bone top 10.0
CARTILAGE_MM = 1.0
JOINT_RECESS_C, JOINT_RECESS_R = (7.8, 0.0, 11.8), (1.3, 8.0, 2.3)

RADIUS_AXIS_Z = 21.0
#: Proximal radius along its axis: x, radius of the section. Head 21 across (rim 10.5
#: deep) with a rounded proximal margin, tapering to the neck (13 across).
RADIUS_PROFILE = (
    (8.6, 9.6),
    (9.3, 10.3),
    (10.5, 10.5),
    (15.5, 10.5),
    (17.0, 9.6),
    (18.5, 7.4),
    (21.0, 6.5),
    (40.0, 6.5),
)
#: Articular cartilage of the radial head rim and fovea margin: x, outer radius.
RADIAL_HEAD_CARTILAGE = ((8.3, 10.2), (9.2, 11.1), (10.5, 11.3), (15.5, 11.3), (16.6, 10.4))

RADIAL_NERVE_PATH = ((-40.0, 12.0, 12.0), (0.0, 12.0, 12.0), (20.0, 11.0, 13.0), (40.0, 9.5, 14.0))
RADIAL_NERVE_SEMI = (1.8, 1.3)  # CSA = pi * 1.8 * 1.3 = 7.35 mm^2
RADIAL_NERVE_CSA_MM2 = math.pi * RADIAL_NERVE_SEMI[0] * RADIAL_NERVE_SEMI[1]
#: Outer (epifascicular) epineurium: the thin echogenic rim of the nerve, tissue "fascia" here;
#: the core inside it is the fascicles and interfascicular epineurium (tissue
#: "nerve", honeycomb texture); sources in primitives.nerve_core. No measured
#: thickness was found: one voxel of the scene grid (0.15 mm), the thinnest
#: layer it holds.
EPINEURIUM_RIM_MM = 0.15

#: Extensor muscle bellies (EDC, ECRB) and supinator: box, distal part.
MUSCLE_X0 = 10.0


def _profile_loft(profile, half_width: float, exponent: float = 2.0, n_around: int = 40):
    stations = [
        Station((x, 0.0, 0.5 * (top + bottom)), half_width, 0.5 * (bottom - top))
        for x, top, bottom in profile
    ]
    return loft(stations, exponent=exponent, n_around=n_around, step_mm=1.0)


def _cet():
    return _profile_loft(CET_PROFILE, CET_HALF_WIDTH, exponent=3.0, n_around=48)


def _rcl():
    return _profile_loft(RCL_PROFILE, RCL_HALF_WIDTH, exponent=4.0)


def _epicondyle():
    hw, hh = EPICONDYLE_HALF
    stations = [Station((x, 0.0, top + hh), hw, hh) for x, top in EPICONDYLE_PROFILE]
    return loft(stations, exponent=2.5, n_around=48, step_mm=1.5, round_ends=False)


def _along_x(profile):
    stations = [Station((x, 0.0, RADIUS_AXIS_Z), r, r) for x, r in profile]
    return loft(stations, n_around=64, step_mm=0.5, round_ends=False)


def _radial_nerve_stations() -> list[Station]:
    return [Station(p, *RADIAL_NERVE_SEMI) for p in RADIAL_NERVE_PATH]


def _cartilage_capitellum():
    r = tuple(v + CARTILAGE_MM for v in CAPITELLUM_R)
    return ellipsoid(CAPITELLUM_C, r)


MESHES = {
    "skin.vtp": lambda: box((-HALF_X, HALF_X, -HALF_Y, HALF_Y, 0.0, SKIN_MM)),
    "subcutaneous_fat.vtp": lambda: box((-HALF_X, HALF_X, -HALF_Y, HALF_Y, SKIN_MM, FAT_BOTTOM_MM)),
    "extensor_muscles.vtp": lambda: box((MUSCLE_X0, HALF_X, -HALF_Y, HALF_Y, FAT_BOTTOM_MM, DEPTH)),
    "common_extensor_tendon.vtp": _cet,
    "tendinosis.vtp": lambda: ellipsoid(TENDINOSIS_C, TENDINOSIS_R, n_around=40, n_rings=20),
    "intrasubstance_cleft.vtp": lambda: ellipsoid(CLEFT_C, CLEFT_R, n_around=32, n_rings=16),
    "radial_collateral_ligament.vtp": _rcl,
    "lateral_epicondyle.vtp": _epicondyle,
    "capitellum.vtp": lambda: ellipsoid(CAPITELLUM_C, CAPITELLUM_R),
    "capitellum_cartilage.vtp": _cartilage_capitellum,
    "radiocapitellar_joint.vtp": lambda: ellipsoid(JOINT_RECESS_C, JOINT_RECESS_R, n_around=32),
    "radial_head.vtp": lambda: _along_x(RADIUS_PROFILE),
    "radial_head_cartilage.vtp": lambda: _along_x(RADIAL_HEAD_CARTILAGE),
    "radial_nerve.vtp": lambda: loft(_radial_nerve_stations(), n_around=40, step_mm=2.0),
    "radial_nerve_fascicles.vtp": lambda: nerve_core(
        _radial_nerve_stations(), EPINEURIUM_RIM_MM, n_around=40, step_mm=2.0
    ),
}
