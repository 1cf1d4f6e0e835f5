"""Carpal tunnel inlet (pisiform-scaphoid level), short axis: median nerve hydrodissection.

Frame: x radial (+) / ulnar (-), y along the forearm (distal +), z depth;
skin surface z = 0, the section of the canonical view is y = 0.

Dimensions (mm unless stated), typical adult values:

- skin 1.0, subcutaneous fat to 3.0 over the palmar wrist [US-MSK];
- transverse carpal ligament (flexor retinaculum) 1.2 thick, arching from
  the pisiform to the scaphoid tubercle, ~22 wide [Kap], [US-MSK];
- median nerve just deep to the ligament, radial of the midline, flattened
  oval 5.2 x 2.2 (flattening ratio ~2.4), cross-section 9.0 mm², normal
  7-10 mm² [PROC], [Cart];
- perineural plane: 0.6 mm of loose connective tissue around the nerve (the
  hydrodissection target);
- palmar cutaneous branch of the median nerve, 1.0 diameter, superficial to
  the ligament, radial [Kap];
- Guyon's canal, ulnar and superficial: ulnar artery 2.6 outer diameter
  (lumen 2.0), ulnar nerve 2.4 x 1.8 ulnar to it [Kap], [US-MSK];
- nine flexor tendons: FDS row (4) and FDP row (4), about 4.0 x 2.6 each, FPL
  radial and deep [Kap];
- pisiform (~9 x 10 x 9) ulnar, scaphoid tubercle (~9 x 12 x 9) radial,
  capitate/lunate floor 13 deep [Kap];
- palmaris longus tendon, flat 4.0 x 1.0, superficial midline (absent in ~15 %).

Sources: [PROC] ../shared/PROCEDURES.md carpal tunnel row; [Cart] Cartwright
et al., Muscle Nerve 2008;37:566 (median nerve CSA at the wrist, normal
values); [Kap] Kapandji, The Physiology of the Joints vol. 1 and standard
anatomy atlases (Netter pl. 445-446) for the arrangement at the tunnel inlet;
[US-MSK] Jacobson, Fundamentals of Musculoskeletal Ultrasound, 3rd ed.,
wrist chapter (depths and appearance).
"""

from __future__ import annotations

import math

from anatomy_meshes.primitives import Station, box, ellipsoid, loft, merge, nerve_core

SCENE = "carpal_tunnel_median"

#: Half extents of the modelled block, mm (x, y); depth 22.
HALF_X, HALF_Y, DEPTH = 26.0, 20.0, 22.0

SKIN_MM = 1.0
FAT_BOTTOM_MM = 3.0

#: Transverse carpal ligament: centre-line (x, z) across the tunnel, half thickness.
TCL_PATH_XZ = ((-12.0, 6.6), (-6.0, 5.4), (0.0, 4.2), (6.0, 4.3), (12.0, 6.2))
TCL_HALF_THICK = 0.6
TCL_HALF_LENGTH_Y = 9.0

#: Median nerve: centre (x, z), semi-axes (lateral, depth).
MEDIAN_CENTRE_XZ = (2.5, 6.3)
MEDIAN_SEMI = (2.6, 1.1)  # CSA = pi * 2.6 * 1.1 = 9.0 mm^2
MEDIAN_CSA_MM2 = math.pi * MEDIAN_SEMI[0] * MEDIAN_SEMI[1]
PERINEURAL_MM = 0.6
#: Outer (epifascicular) epineurium: the thin echogenic rim of the nerve, tissue "fascia" here;
#: the core inside it is the fascicles and interfascicular epineurium (tissue
#: "nerve", honeycomb texture); sources in primitives.nerve_core. No measured
#: thickness was found: 0.2 mm, a little over one voxel of the scene grid
#: (0.15 mm) so the rim is whole all round the nerve.
EPINEURIUM_RIM_MM = 0.2

PALMAR_BRANCH_XZ, PALMAR_BRANCH_R = (5.5, 2.6), 0.5

ULNAR_ARTERY_XZ, ULNAR_ARTERY_R, ULNAR_WALL = (-10.5, 3.6), 1.3, 0.3
ULNAR_NERVE_XZ, ULNAR_NERVE_SEMI = (-13.0, 3.4), (1.2, 0.9)

TENDON_SEMI = (2.0, 1.3)
FDS_XZ = ((-4.5, 8.9), (-1.5, 8.9), (1.5, 8.9), (4.5, 8.9))
FDP_XZ = ((-5.0, 11.5), (-2.0, 11.5), (1.0, 11.5), (4.0, 11.5))
FPL_XZ, FPL_SEMI = (7.0, 11.2), (1.8, 1.4)
PL_XZ, PL_SEMI = (0.5, 3.0), (2.0, 0.5)

PISIFORM_C, PISIFORM_R = (-15.5, 0.0, 9.5), (4.5, 5.0, 4.5)
SCAPHOID_C, SCAPHOID_R = (12.5, 0.0, 10.5), (4.5, 6.0, 4.5)
FLOOR_C, FLOOR_R = (0.0, 0.0, 20.5), (14.0, 16.0, 7.5)  # capitate/lunate, top at 13.0


def _along_y(xz: tuple[float, float], semi: tuple[float, float]) -> list[Station]:
    """Stations of a straight structure running along y through the block."""
    x, z = xz
    return [
        Station((x, -HALF_Y + 1.0, z), semi[0], semi[1]),
        Station((x, HALF_Y - 1.0, z), semi[0], semi[1]),
    ]


def _tube_y(xz: tuple[float, float], semi: tuple[float, float], n_around: int = 40):
    return loft(_along_y(xz, semi), n_around=n_around, round_ends=False)


def _tcl():
    stations = [Station((x, 0.0, z), TCL_HALF_LENGTH_Y, TCL_HALF_THICK) for x, z in TCL_PATH_XZ]
    # width along y (the ligament's proximal-distal extent), thickness in depth
    return loft(stations, width_dir=(0.0, 1.0, 0.0), exponent=6.0, step_mm=0.5)


def _tendons():
    return merge([_tube_y(xz, TENDON_SEMI) for xz in FDS_XZ + FDP_XZ] + [_tube_y(FPL_XZ, FPL_SEMI)])


MESHES = {
    "skin.vtp": lambda: box((-HALF_X, HALF_X, -HALF_Y, HALF_Y, 0.0, SKIN_MM)),
    "subcutaneous_fat.vtp": lambda: box((-HALF_X, HALF_X, -HALF_Y, HALF_Y, SKIN_MM, FAT_BOTTOM_MM)),
    "transverse_carpal_ligament.vtp": _tcl,
    "median_nerve.vtp": lambda: _tube_y(MEDIAN_CENTRE_XZ, MEDIAN_SEMI, 64),
    "median_nerve_fascicles.vtp": lambda: nerve_core(
        _along_y(MEDIAN_CENTRE_XZ, MEDIAN_SEMI), EPINEURIUM_RIM_MM, n_around=64, round_ends=False
    ),
    "perineural_plane.vtp": lambda: _tube_y(
        MEDIAN_CENTRE_XZ, (MEDIAN_SEMI[0] + PERINEURAL_MM, MEDIAN_SEMI[1] + PERINEURAL_MM), 64
    ),
    "palmar_cutaneous_branch.vtp": lambda: _tube_y(
        PALMAR_BRANCH_XZ, (PALMAR_BRANCH_R, PALMAR_BRANCH_R), 24
    ),
    "ulnar_artery_wall.vtp": lambda: _tube_y(ULNAR_ARTERY_XZ, (ULNAR_ARTERY_R, ULNAR_ARTERY_R), 48),
    "ulnar_artery_lumen.vtp": lambda: _tube_y(
        ULNAR_ARTERY_XZ, (ULNAR_ARTERY_R - ULNAR_WALL, ULNAR_ARTERY_R - ULNAR_WALL), 48
    ),
    "ulnar_nerve.vtp": lambda: _tube_y(ULNAR_NERVE_XZ, ULNAR_NERVE_SEMI, 40),
    "flexor_tendons.vtp": _tendons,
    "palmaris_longus.vtp": lambda: _tube_y(PL_XZ, PL_SEMI),
    "pisiform.vtp": lambda: ellipsoid(PISIFORM_C, PISIFORM_R),
    "scaphoid.vtp": lambda: ellipsoid(SCAPHOID_C, SCAPHOID_R),
    "carpal_floor.vtp": lambda: ellipsoid(FLOOR_C, FLOOR_R),
}
