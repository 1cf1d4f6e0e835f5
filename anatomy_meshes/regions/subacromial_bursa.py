"""Shoulder, coronal oblique long axis of the supraspinatus: subacromial-subdeltoid bursa.

Frame: x along the supraspinatus long axis, lateral / distal (+, towards the
greater tuberosity) and medial (-, towards the acromion); y anterior (+) /
posterior (-); z depth. Skin surface z = 0, the canonical section is y = 0.
The supraspinatus_tendon scene reuses this anatomy (same patient) and adds a
partial tear.

The humeral head is an ellipsoid (27 along the tendon, 23 across and in
depth: radius of curvature of the head 22-25 [Boi]). The soft tissue layers
over it are ellipsoids of the same radii, shifted medially and upwards, so
that they drape over the head and thin out laterally:

- hyaline cartilage: shifted 1.9 mm towards medial-superficial (50 degrees
  from vertical), 1.2 mm thick at the apex of the head, thickest medially and
  tapering to nothing over the greater tuberosity 40 degrees lateral [Gray];
- supraspinatus tendon: shifted 8.9 mm (direction 40 degrees medial of
  vertical), 5.5 mm thick over the cartilage at the apex (normal about
  5-6 mm [Jac]), tapering laterally to its insertion on
  the greater tuberosity footprint: the "bird's beak" [Jac];
- subacromial-subdeltoid bursa: 1.0 mm of fluid over the tendon (normal
  bursa < 2 mm, seen as a thin hypoechoic line [Jac], [vH]);
- peribursal fat: 0.5 mm, the thin bright line above the bursa [Jac];
- deltoid: from the subcutaneous fat (skin 1.5, fat to 4.0 [Jac]) down to the
  peribursal fat, 6-7 mm over the head (slim adult);
- acromion: bony plate, subcutaneous, its lateral edge 14 mm medial of the
  apex of the head, tendon passing beneath it [Jac].

Depths on the target column x = 0 (vertical): deltoid 4.0-10.9, peribursal
fat 10.9-11.4, bursa 11.4-12.45, tendon 12.45-17.3, cartilage 17.3-18.4,
bone 18.4 (the layers are thinnest and shallowest at x = -8, bursa 10.5).
Guidance: bursa 8-15 mm deep [PROC].

Sources: [PROC] ../shared/PROCEDURES.md subacromial bursa row; [Jac]
Jacobson, Fundamentals of Musculoskeletal Ultrasound, 3rd ed., shoulder
chapter (supraspinatus long axis, bursa, peribursal fat, beak shape, tendon
thickness about 5-6 mm); [vH] van Holsbeeck & Strouse, AJR 1993;160:561
(subacromial-subdeltoid bursa: normal < 2 mm); [Boi] Boileau & Walch, JBJS
Br 1997;79:857 (humeral head radius of curvature about 22-25 mm); [Gray]
Gray's Anatomy, 42nd ed., shoulder joint (humeral cartilage about 1-1.5 mm,
thickest centrally).
"""

from __future__ import annotations

import math

from anatomy_meshes.primitives import box, ellipsoid, merge

SCENE = "subacromial_bursa"

#: Half extents of the modelled block, mm (x, y); bottom depth.
HALF_X, HALF_Y, DEPTH = 30.0, 16.0, 42.0

SKIN_MM = 1.5
FAT_BOTTOM_MM = 4.0

#: Humeral head (bone): centre and radii (along x, along y, in depth).
HEAD_C = (-2.0, 0.0, 41.3)
HEAD_R = (27.0, 23.0, 23.0)  # top at z = 18.3 on x = -2


def _shift(length_mm: float, angle_deg: float) -> tuple[float, float, float]:
    """Centre of a head-shaped ellipsoid shifted ``length_mm`` medially-up by ``angle_deg``.

    ``angle_deg`` is measured from the vertical (superficial) direction towards medial.
    """
    a = math.radians(angle_deg)
    cx, cy, cz = HEAD_C
    return (cx - length_mm * math.sin(a), cy, cz - length_mm * math.cos(a))


#: Cartilage: head ellipsoid shifted 1.9 mm, 50 deg medial of vertical (1.2 mm at the apex).
CARTILAGE_SHIFT_MM, CARTILAGE_ANGLE_DEG = 1.9, 50.0
#: Tendon (with cartilage beneath): shift 8.88 mm, 40 deg -> 6.8 mm over the bone at the apex.
TENDON_SHIFT_MM, TENDON_ANGLE_DEG = 8.88, 40.0
BURSA_MM = 1.0
PERIBURSAL_FAT_MM = 0.5

CARTILAGE_C = _shift(CARTILAGE_SHIFT_MM, CARTILAGE_ANGLE_DEG)
TENDON_C = _shift(TENDON_SHIFT_MM, TENDON_ANGLE_DEG)


def _grown(growth_mm: float) -> tuple[float, float, float]:
    return tuple(r + growth_mm for r in HEAD_R)


#: Acromion: flat ellipsoid, lateral edge at x = -16, top at the fat (z = 4.0).
ACROMION_C, ACROMION_R = (-31.0, 0.0, 8.5), (15.0, 22.0, 4.5)

N_AROUND, N_RINGS = 72, 48


def _head_like(centre, radii):
    return ellipsoid(centre, radii, n_around=N_AROUND, n_rings=N_RINGS)


def _shell(outer, inner):
    """A layer between two head-like ellipsoids ((centre, radii) each).

    The two closed surfaces in one mesh: the voxeliser fills by parity, so the
    layer is what lies inside ``outer`` and outside ``inner``, and the chord of
    a thickness measurement runs from the outer to the inner surface. Where
    ``inner`` pokes out of ``outer`` the (higher priority) structure beneath
    covers it.
    """
    return merge([_head_like(*outer), _head_like(*inner)])


TENDON = (TENDON_C, HEAD_R)
BURSA_OUTER = (TENDON_C, _grown(BURSA_MM))
FAT_OUTER = (TENDON_C, _grown(BURSA_MM + PERIBURSAL_FAT_MM))
CARTILAGE = (CARTILAGE_C, HEAD_R)


MESHES = {
    "skin.vtp": lambda: box((-HALF_X, HALF_X, -HALF_Y, HALF_Y, 0.0, SKIN_MM)),
    "subcutaneous_fat.vtp": lambda: box((-HALF_X, HALF_X, -HALF_Y, HALF_Y, SKIN_MM, FAT_BOTTOM_MM)),
    "deltoid.vtp": lambda: box((-HALF_X, HALF_X, -HALF_Y, HALF_Y, FAT_BOTTOM_MM, DEPTH)),
    "peribursal_fat.vtp": lambda: _shell(FAT_OUTER, BURSA_OUTER),
    "subacromial_bursa.vtp": lambda: _shell(BURSA_OUTER, TENDON),
    "supraspinatus_tendon.vtp": lambda: _shell(TENDON, CARTILAGE),
    "humeral_cartilage.vtp": lambda: _head_like(*CARTILAGE),
    "humeral_head.vtp": lambda: _head_like(HEAD_C, HEAD_R),
    "acromion.vtp": lambda: ellipsoid(ACROMION_C, ACROMION_R, exponent=3.0),
}
