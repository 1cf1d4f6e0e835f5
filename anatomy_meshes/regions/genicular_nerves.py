"""Superomedial genicular nerve (SMGN) at the femoral metaphysis-epiphysis junction, coronal.

Frame: x along the femur (distal +), y anteroposterior (posterior +, anterior
-), z depth from the medial skin towards the lateral side; skin surface
z = 0, the section of the canonical view is the mid-medial coronal plane
y = 0. The shaft-epicondyle junction (where the flaring medial condyle
rises above the shaft line) is at x = 9.

Dimensions (mm unless stated), typical adult values:

- skin 1.5, subcutaneous fat to 5.5 over the medial distal thigh [Jac];
- vastus medialis (obliquus) from the fat to the bone proximally, thinning
  over the epicondyle [Gray];
- distal femoral shaft (metaphysis) 28 across, its medial cortex 13 deep;
  the medial condyle/epicondyle flares out distally (section semi-axes
  24 x 30 x 23), cortex 9.7 deep at x = 15 and 8 at its summit [Gray];
- SMGN: about 1 mm across (CSA 0.8 mm²), on the periosteum at the junction,
  curving around the femur from posterior to anterior beside the superior
  medial genicular artery (SMGA), outer diameter 1.8 (lumen 1.4), lying in
  the angle between shaft and condyle just distal to the nerve [Tran],
  [Choi], [Kim];
- perineural target: 6 x 10 x 3 of loose areolar tissue around the nerve
  on the bone (the block / PIT / RF target);
- the medial gutter of the suprapatellar recess lies anterior (y about
  -12), 1.2 thick on the anteromedial femur: intra-articular spread [Gray].

Sources: [PROC] ../shared/PROCEDURES.md genicular nerves row (5-15 mm);
[Tran] Tran et al., Reg Anesth Pain Med 2018;43:407 (innervation of the
anterior knee capsule, SMGN course and landmarks); [Choi] Choi et al., Pain
2011;152:481 (genicular RF at the shaft-epicondyle junction); [Kim] Kim et
al., Pain Physician 2018;21:41 (ultrasound-guided genicular nerve block next
to the genicular arteries); [Jac] Jacobson, Fundamentals of Musculoskeletal
Ultrasound, 3rd ed., knee chapter; [Gray] Gray's Anatomy, 41st ed., knee.
"""

from __future__ import annotations

import math

from anatomy_meshes.primitives import Station, box, ellipsoid, loft

SCENE = "genicular_nerves"

#: Extents of the modelled block, mm.
X_MIN, X_MAX, Y_MIN, Y_MAX = -40.0, 40.0, -30.0, 20.0

SKIN_MM = 1.5
FAT_BOTTOM_MM = 5.5

#: Vastus medialis: distal end x, half width (y), half thickness (top at the fat).
VM_X_END, VM_HALF_W, VM_HALF_H = 12.0, 25.0, 6.0

#: Femoral shaft: radius and medial cortex depth; its flat end lies inside the condyle.
SHAFT_R, SHAFT_TOP_MM, SHAFT_X_END = 14.0, 13.0, 14.0
SHAFT_CENTRE_Z = SHAFT_TOP_MM + SHAFT_R
#: Medial condyle / epicondyle.
CONDYLE_C, CONDYLE_R = (24.0, 0.0, 31.0), (24.0, 30.0, 23.0)

#: Superior medial genicular artery (runs along y): centre (x, z), outer radius, wall.
SMGA_XZ, SMGA_R, SMGA_WALL = (9.6, 11.3), 0.9, 0.2
#: Superomedial genicular nerve: centre (x, z), radius.
SMGN_XZ, SMGN_R = (6.5, 12.3), 0.5
SMGN_CSA_MM2 = math.pi * SMGN_R**2
VESSEL_HALF_LENGTH_Y = 8.0

PERINEURAL_C, PERINEURAL_R = (7.0, 0.0, 12.0), (3.0, 5.0, 1.5)

#: Medial gutter of the suprapatellar recess, on the anteromedial shaft (55 degrees anterior).
GUTTER_ANGLE_DEG = 55.0
GUTTER_R = (12.0, 5.0, 0.6)


def condyle_top(x: float) -> float:
    """Depth of the medial condyle's cortex at ``x`` on the plane y = 0."""
    u = (x - CONDYLE_C[0]) / CONDYLE_R[0]
    return CONDYLE_C[2] - CONDYLE_R[2] * math.sqrt(max(0.0, 1.0 - u * u))


def _tube_y(xz, r, n_around=32):
    x, z = xz
    stations = [
        Station((x, -VESSEL_HALF_LENGTH_Y, z), r, r),
        Station((x, VESSEL_HALF_LENGTH_Y, z), r, r),
    ]
    return loft(stations, n_around=n_around, round_ends=False, step_mm=2.0)


def _vastus_medialis():
    stations = [
        Station((x, 0.0, FAT_BOTTOM_MM + VM_HALF_H), VM_HALF_W, VM_HALF_H)
        for x in (X_MIN - 5.0, VM_X_END)
    ]
    return loft(stations, exponent=4.0, n_around=48, step_mm=2.0)


def _shaft():
    stations = [
        Station((x, 0.0, SHAFT_CENTRE_Z), SHAFT_R, SHAFT_R) for x in (X_MIN - 5.0, SHAFT_X_END)
    ]
    return loft(stations, n_around=64, round_ends=False, step_mm=2.0)


def _gutter():
    a = math.radians(GUTTER_ANGLE_DEG)
    r = SHAFT_R + 0.3 + GUTTER_R[2]
    centre = (-2.0, -r * math.sin(a), SHAFT_CENTRE_Z - r * math.cos(a))
    return ellipsoid(centre, GUTTER_R, (-GUTTER_ANGLE_DEG, 0.0, 0.0), n_around=40, n_rings=16)


MESHES = {
    "skin.vtp": lambda: box((X_MIN, X_MAX, Y_MIN, Y_MAX, 0.0, SKIN_MM)),
    "subcutaneous_fat.vtp": lambda: box((X_MIN, X_MAX, Y_MIN, Y_MAX, SKIN_MM, FAT_BOTTOM_MM)),
    "vastus_medialis.vtp": _vastus_medialis,
    "femur_shaft.vtp": _shaft,
    "medial_condyle.vtp": lambda: ellipsoid(CONDYLE_C, CONDYLE_R, n_around=64, n_rings=32),
    "smga_wall.vtp": lambda: _tube_y(SMGA_XZ, SMGA_R),
    "smga_lumen.vtp": lambda: _tube_y(SMGA_XZ, SMGA_R - SMGA_WALL),
    "smgn.vtp": lambda: _tube_y(SMGN_XZ, SMGN_R, 24),
    "perineural_target.vtp": lambda: ellipsoid(PERINEURAL_C, PERINEURAL_R, n_around=40, n_rings=20),
    "medial_gutter.vtp": _gutter,
}
