"""Ulnar nerve at the medial epicondyle (cubital tunnel inlet), short axis: hydrodissection.

Frame: x across the posteromedial elbow, anterior / medial epicondyle side
(+) to posterior / olecranon side (-); y along the arm, distal (+); z depth,
skin surface z = 0. The canonical section is y = 0, through the tip of the
medial epicondyle, probe spanning from the epicondyle to the olecranon
(elbow slightly flexed, arm externally rotated).

Dimensions (mm unless stated), typical adult values:

- skin 1.0 and a thin subcutaneous fat layer to 2.2 [US-MSK];
- cubital tunnel retinaculum (Osborne's ligament / arcuate ligament): 0.8
  thick band arching from the medial epicondyle to the olecranon over the
  nerve, 2.2-3.0 deep over the nerve [O'Dr], [US-MSK];
- ulnar nerve in the groove behind the epicondyle: oval 4.0 x 2.5
  (flattening ~1.6), CSA 7.85 mm² (healthy mean 6-8 mm² at the epicondyle,
  > 10 mm² pathological), 3.7-6.2 deep [Yal], [Jac], [PROC];
- perineural fat: 0.7 of loose connective tissue around the nerve (the
  hydrodissection target);
- floor: posterior bundle of the medial collateral ligament, 1.0 thick, over
  the posterior medial condyle / trochlea (bone 8.0 deep) [O'Dr];
- medial epicondyle: subcutaneous bony prominence, cortex 2.6 deep at its
  tip 12 anterior of the nerve centre, its posterior slope 2-3 from the
  perineural plane [Gray];
- olecranon: posterior, cortex 4.5 deep, 24 from the epicondyle tip [Gray];
- medial head of triceps: posterior, deep to the retinaculum near the
  olecranon.

Sources: [PROC] ../shared/PROCEDURES.md cubital tunnel row; [Yal] Yalcin et
al., Rheumatol Int 2013;33:1143 (ulnar nerve CSA 6.2 +/- 1.1 mm² at the
medial epicondyle); [Jac] Jacob et al. as cited in Rheumatol Ther 2021
(doi 10.1007/s40744-021-00283-2): mean 7.9 mm² at the epicondyle, > 10 mm²
pathological; [O'Dr] O'Driscoll et al., J Bone Joint Surg Br 1991;73:613
(the cubital tunnel and its retinaculum); [Gray] Gray's Anatomy 41st ed.,
elbow; [US-MSK] Jacobson, Fundamentals of Musculoskeletal Ultrasound, 3rd
ed., elbow chapter.
"""

from __future__ import annotations

import math

from anatomy_meshes.primitives import Station, box, ellipsoid, loft, nerve_core

SCENE = "ulnar_nerve_cubital_tunnel"

#: Half extents of the modelled block, mm (x, y); depth 26.
HALF_X, HALF_Y, DEPTH = 32.0, 20.0, 26.0

SKIN_MM = 1.0
FAT_BOTTOM_MM = 2.2

#: Cubital tunnel retinaculum: centre-line (x, z) from olecranon to epicondyle.
RETINACULUM_PATH_XZ = ((-13.0, 4.3), (-7.0, 3.1), (0.0, 2.6), (5.0, 2.7), (9.5, 2.9))
RETINACULUM_HALF_THICK = 0.4
RETINACULUM_HALF_LENGTH_Y = 10.0

#: Ulnar nerve: centre (x, z), semi-axes (lateral, depth).
NERVE_CENTRE_XZ = (0.0, 4.95)
NERVE_SEMI = (2.0, 1.25)  # CSA = pi * 2.0 * 1.25 = 7.85 mm^2
NERVE_CSA_MM2 = math.pi * NERVE_SEMI[0] * NERVE_SEMI[1]
PERINEURAL_MM = 0.7
#: Outer (epifascicular) epineurium: the thin echogenic rim of the nerve, tissue "fascia" here;
#: the core inside it is the fascicles and interfascicular epineurium (tissue
#: "nerve", honeycomb texture); sources in primitives.nerve_core. No measured
#: thickness was found: one voxel of the scene grid (0.12 mm), the thinnest
#: layer it holds.
EPINEURIUM_RIM_MM = 0.15

#: Posterior bundle of the MCL (tunnel floor): centre-line (x, z), half thickness.
MCL_PATH_XZ = ((-6.0, 7.7), (0.0, 7.4), (6.0, 7.0))
MCL_HALF_THICK = 0.5

EPICONDYLE_C, EPICONDYLE_R = (10.0, 0.0, 10.0), (7.0, 12.0, 7.4)  # tip at z = 2.6
OLECRANON_C, OLECRANON_R = (-14.0, 0.0, 12.5), (8.0, 18.0, 8.0)  # top at z = 4.5
CONDYLE_C, CONDYLE_R = (-2.0, 0.0, 18.5), (16.0, 14.0, 10.5)  # groove floor at z = 8.0
TRICEPS_C, TRICEPS_R = (-7.5, 0.0, 7.0), (4.0, 18.0, 3.0)


def _along_y(xz: tuple[float, float], semi: tuple[float, float]) -> list[Station]:
    x, z = xz
    return [
        Station((x, -HALF_Y + 1.0, z), semi[0], semi[1]),
        Station((x, HALF_Y - 1.0, z), semi[0], semi[1]),
    ]


def _tube_y(xz: tuple[float, float], semi: tuple[float, float], n_around: int = 48):
    return loft(_along_y(xz, semi), n_around=n_around, round_ends=False)


def _band(path_xz, half_thick: float, exponent: float = 6.0):
    stations = [Station((x, 0.0, z), RETINACULUM_HALF_LENGTH_Y, half_thick) for x, z in path_xz]
    return loft(stations, width_dir=(0.0, 1.0, 0.0), exponent=exponent, step_mm=0.5)


MESHES = {
    "skin.vtp": lambda: box((-HALF_X, HALF_X, -HALF_Y, HALF_Y, 0.0, SKIN_MM)),
    "subcutaneous_fat.vtp": lambda: box((-HALF_X, HALF_X, -HALF_Y, HALF_Y, SKIN_MM, FAT_BOTTOM_MM)),
    "cubital_tunnel_retinaculum.vtp": lambda: _band(RETINACULUM_PATH_XZ, RETINACULUM_HALF_THICK),
    "ulnar_nerve.vtp": lambda: _tube_y(NERVE_CENTRE_XZ, NERVE_SEMI, 64),
    "ulnar_nerve_fascicles.vtp": lambda: nerve_core(
        _along_y(NERVE_CENTRE_XZ, NERVE_SEMI), EPINEURIUM_RIM_MM, n_around=64, round_ends=False
    ),
    "perineural_plane.vtp": lambda: _tube_y(
        NERVE_CENTRE_XZ, (NERVE_SEMI[0] + PERINEURAL_MM, NERVE_SEMI[1] + PERINEURAL_MM), 64
    ),
    "mcl_posterior_bundle.vtp": lambda: _band(MCL_PATH_XZ, MCL_HALF_THICK, exponent=4.0),
    "triceps_medial_head.vtp": lambda: loft(
        _along_y((TRICEPS_C[0], TRICEPS_C[2]), (TRICEPS_R[0], TRICEPS_R[2])), n_around=40
    ),
    "medial_epicondyle.vtp": lambda: ellipsoid(EPICONDYLE_C, EPICONDYLE_R),
    "olecranon.vtp": lambda: ellipsoid(OLECRANON_C, OLECRANON_R),
    "humeral_condyle.vtp": lambda: ellipsoid(CONDYLE_C, CONDYLE_R),
}
