"""Knee, suprapatellar recess with a small effusion: transverse view just above the patella.

Frame: x lateral (+) / medial (-), y along the thigh (proximal +), z depth
(anterior to posterior); skin surface z = 0, the section of the canonical view
is y = 0, about 2 cm proximal to the superior pole of the patella, knee in
20-30 degrees of flexion (a bolster under the knee).

Dimensions (mm unless stated), typical adult values:

- skin 1.5, subcutaneous fat to 6.0 over the distal anterior thigh [Jac],
  [Bia];
- quadriceps tendon centrally, a flat multilaminar band 7.0 thick and 24
  wide just above the patella (normal thickness about 6-8 mm) [Bia], [Jac];
- vastus medialis (obliquus) medially and vastus lateralis laterally, their
  bellies reaching the tendon's edges [Gray];
- suprapatellar (quadriceps) fat pad deep to the tendon, 3.0 thick
  centrally, 20 wide [Jac], [Gray];
- suprapatellar recess distended by a small effusion: 5.0 thick centrally
  (physiological fluid is up to about 2 mm; more is an effusion), thinning
  to about 2 mm in the lateral and medial gutters at +-22 [Jac], [Mandl];
- prefemoral fat pad 3.0 thick between the recess and the femur [Jac];
- distal femoral metaphysis: anterior cortex 24 deep in the midline, a
  gently convex surface (section semi-axes 38 x 24, so the cortex is 1.2
  deeper at +-12 and 3.6 deeper at +-20) [Gray].

Sources: [PROC] ../shared/PROCEDURES.md knee suprapatellar row (10-25 mm);
[Jac] Jacobson, Fundamentals of Musculoskeletal Ultrasound, 3rd ed., knee
chapter (suprapatellar recess between the quadriceps and prefemoral fat pads,
effusion, lateral approach); [Bia] Bianchi & Martinoli, Ultrasound of the
Musculoskeletal System, 2007, knee chapter (quadriceps tendon thickness);
[Mandl] Mandl et al., Ann Rheum Dis 2015;74:1328 (EULAR knee US, effusion
> 4 mm in the recess); [Gray] Gray's Anatomy, 41st ed., knee and thigh.
"""

from __future__ import annotations

import math

from anatomy_meshes.primitives import Station, box, loft

SCENE = "knee_suprapatellar_recess"

#: Half extents of the modelled block, mm (x, y).
HALF_X, HALF_Y = 40.0, 20.0

SKIN_MM = 1.5
FAT_BOTTOM_MM = 6.0

#: Quadriceps tendon: centre (x, z), half width, half thickness (7.0 thick).
QUAD_TENDON_XZ = (0.0, 9.5)
QUAD_TENDON_HALF = (12.0, 3.5)
QUAD_TENDON_THICK_MM = 2 * QUAD_TENDON_HALF[1]

#: Vastus medialis and lateralis bellies: centre (x, z), semi-axes (lateral, depth).
VM_XZ, VM_SEMI = (-23.0, 12.0), (12.0, 6.0)
VL_XZ, VL_SEMI = (23.0, 11.5), (12.0, 5.5)

#: Suprapatellar (quadriceps) fat pad: centre (x, z), semi-axes (3.6 thick, tendon wins above).
QFP_XZ, QFP_SEMI = (0.0, 14.6), (10.0, 1.8)

#: Femur: section centre depth and semi-axes (lateral, depth); cortex top at 24.0.
FEMUR_TOP_MM = 24.0
FEMUR_SEMI = (38.0, 24.0)
FEMUR_CENTRE_Z = FEMUR_TOP_MM + FEMUR_SEMI[1]

PREFEMORAL_FAT_MM = 3.0
#: Suprapatellar recess: (x, half thickness) along its mediolateral course; 5.0 thick centrally.
RECESS_HALF_THICK = ((-22.0, 0.9), (-16.0, 1.6), (-10.0, 2.3), (0.0, 2.5), (10.0, 2.3),
                     (16.0, 1.6), (22.0, 0.9))  # fmt: skip
RECESS_THICK_MM = 2 * 2.5
RECESS_HALF_LENGTH_Y = 15.0
PREFEMORAL_HALF_LENGTH_Y = 18.0


def femur_top(x: float) -> float:
    """Depth of the anterior femoral cortex at lateral position ``x``."""
    return FEMUR_CENTRE_Z - FEMUR_SEMI[1] * math.sqrt(1.0 - (x / FEMUR_SEMI[0]) ** 2)


def _along_y(xz, semi, n_around=48, exponent=2.0):
    x, z = xz
    stations = [Station((x, -HALF_Y, z), *semi), Station((x, HALF_Y, z), *semi)]
    return loft(stations, n_around=n_around, exponent=exponent, round_ends=False)


def _recess():
    stations = [
        Station((x, 0.0, femur_top(x) - PREFEMORAL_FAT_MM - h), RECESS_HALF_LENGTH_Y, h)
        for x, h in RECESS_HALF_THICK
    ]
    return loft(stations, width_dir=(0.0, 1.0, 0.0), exponent=4.0, n_around=48, step_mm=1.0)


def _prefemoral_fat():
    # top PREFEMORAL_FAT_MM above the cortex, bottom 0.4 mm inside the bone (bone wins)
    half = 0.5 * (PREFEMORAL_FAT_MM + 0.4)
    stations = [
        Station((x, 0.0, femur_top(x) - PREFEMORAL_FAT_MM + half), PREFEMORAL_HALF_LENGTH_Y, half)
        for x in (-26.0, -18.0, -9.0, 0.0, 9.0, 18.0, 26.0)
    ]
    return loft(stations, width_dir=(0.0, 1.0, 0.0), exponent=4.0, n_around=48, step_mm=1.0)


MESHES = {
    "skin.vtp": lambda: box((-HALF_X, HALF_X, -HALF_Y, HALF_Y, 0.0, SKIN_MM)),
    "subcutaneous_fat.vtp": lambda: box((-HALF_X, HALF_X, -HALF_Y, HALF_Y, SKIN_MM, FAT_BOTTOM_MM)),
    "quadriceps_tendon.vtp": lambda: _along_y(QUAD_TENDON_XZ, QUAD_TENDON_HALF, 64, 4.0),
    "vastus_medialis.vtp": lambda: _along_y(VM_XZ, VM_SEMI),
    "vastus_lateralis.vtp": lambda: _along_y(VL_XZ, VL_SEMI),
    "suprapatellar_fat_pad.vtp": lambda: _along_y(QFP_XZ, QFP_SEMI),
    "suprapatellar_recess.vtp": _recess,
    "prefemoral_fat_pad.vtp": _prefemoral_fat,
    "femur.vtp": lambda: _along_y((0.0, FEMUR_CENTRE_Z), FEMUR_SEMI, 96),
}
