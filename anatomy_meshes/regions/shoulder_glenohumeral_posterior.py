"""Shoulder, posterior glenohumeral joint: transverse (axial) view below the scapular spine.

Frame: x lateral (+, humeral head) / medial (-, glenoid, spinoglenoid notch);
y superior (+) / inferior (-); z depth (posterior skin to anterior). Skin
surface z = 0, the canonical section is y = 0.

Dimensions (mm), typical adult values:

- skin 1.5, subcutaneous fat to 6.0, posterior deltoid 6.0-17.0 (10-15 mm
  [PROC], [Jac]), a thin fascia 17.0-17.5, infraspinatus from 17.5 down to
  the capsule over the head (10-15 mm [PROC]);
- humeral head: sphere of radius 23 (radius of curvature 22-25 [Boi]),
  covered by 1.5 mm of hyaline cartilage (humeral head cartilage about
  1-1.5 mm [Gray]);
- glenoid: the head's centre lies 12.5 mm deeper than the posterior glenoid
  rim (glenoid antero-posterior width about 25 mm [Chu]); rim at depth 38,
  22 mm medial of the head centre, the posterior scapular neck sloping
  medially and deeper towards the spinoglenoid notch;
- posterior labrum: fibrocartilage on the rim, lying on the head cartilage,
  7 mm along the head surface and 3.6 mm thick (triangle-like in section,
  a few mm [Jac]);
- posterior recess: 2 mm of synovial fluid on the cartilage just lateral to
  the labrum tip, under 1 mm of posterior capsule (the target; a potential
  space, 2 mm represents a small physiological amount or early effusion);
  capsule and deep infraspinatus fibres 3 mm over the rest of the head;
- suprascapular nerve (2.8 x 2.4) and artery (2.4 outer diameter, wall 0.3)
  at the spinoglenoid notch on the scapular neck, 18 mm medial of the
  posterior glenoid rim [Big], in the fat of the notch.

Depths: joint target 31 mm, glenoid rim 38.6 mm, nerve 41 mm (guidance 30-50 mm [PROC]).

Sources: [PROC] ../shared/PROCEDURES.md posterior glenohumeral row; [Jac]
Jacobson, Fundamentals of Musculoskeletal Ultrasound, 3rd ed., shoulder
chapter (posterior joint recess, labrum, infraspinatus); [Boi] Boileau &
Walch, JBJS Br 1997;79:857 (humeral head geometry); [Chu] Churchill et al.,
JSES 2001;10:327 (glenoid dimensions); [Big] Bigliani et al., Arthroscopy
1990;6:301 (suprascapular nerve about 1.8 cm from the posterior glenoid rim
at the base of the scapular spine); [Gray] Gray's Anatomy, 42nd ed.
"""

from __future__ import annotations

import math

from anatomy_meshes.primitives import Station, box, ellipsoid, loft, merge, nerve_core

SCENE = "shoulder_glenohumeral_posterior"

#: Modelled block: x range, half extent in y, bottom depth.
X_MIN, X_MAX, HALF_Y, DEPTH = -34.0, 36.0, 14.0, 58.0

SKIN_MM = 1.5
FAT_BOTTOM_MM = 6.0
DELTOID_BOTTOM_MM = 17.0
FASCIA_MM = 0.5

#: Humeral head: centre, bone radius, cartilage thickness.
HEAD_C = (16.2, 0.0, 50.5)
HEAD_R = 23.0
CARTILAGE_MM = 1.5
CARTILAGE_R = HEAD_R + CARTILAGE_MM

#: Posterior glenoid rim: on the circle of radius 25.5 about the head centre, 12.5 mm shallower.
RIM_RADIUS = 25.5
RIM_ELEVATION = math.asin(12.5 / RIM_RADIUS)
RIM_XZ = (
    HEAD_C[0] - RIM_RADIUS * math.cos(RIM_ELEVATION),
    HEAD_C[2] - RIM_RADIUS * math.sin(RIM_ELEVATION),
)  # (-6.0, 38.0)

#: Glenoid rim and posterior scapular neck: flat ellipsoid tilted 25 deg (lateral end up),
#: its lateral tip (the posterior rim) at (-6.0, 38.6), 0.7 mm off the head cartilage.
GLENOID_TILT_DEG = 25.0
GLENOID_R = (16.0, 18.0, 3.0)
GLENOID_C = (
    -6.0 - GLENOID_R[0] * math.cos(math.radians(GLENOID_TILT_DEG)),
    0.0,
    38.6 + GLENOID_R[0] * math.sin(math.radians(GLENOID_TILT_DEG)),
)

#: Labrum: ellipsoid on the rim lying along the head surface (t: lateral-superficial).
LABRUM_R = (3.5, 10.0, 1.8)  # along the head surface, along y, thickness
LABRUM_ALONG_MM, LABRUM_OUT_MM = 2.5, 0.8


def _on_head(elevation: float, along: float, out: float, radius: float) -> tuple:
    """Point near the head circle: at ``elevation`` (rad, above horizontal, medial side)
    on radius ``radius``, moved ``along`` the tangent (lateral-superficial) and ``out``."""
    n = (-math.cos(elevation), -math.sin(elevation))
    t = (math.sin(elevation), -math.cos(elevation))
    x = HEAD_C[0] + radius * n[0] + along * t[0] + out * n[0]
    z = HEAD_C[2] + radius * n[1] + along * t[1] + out * n[1]
    return (x, 0.0, z)


def _tangent_rotation(elevation: float) -> tuple[float, float, float]:
    """Rotation about y turning the body x axis onto the head's tangent at ``elevation``."""
    return (0.0, 90.0 - math.degrees(elevation), 0.0)


LABRUM_C = _on_head(RIM_ELEVATION, LABRUM_ALONG_MM, LABRUM_OUT_MM, RIM_RADIUS)

#: Posterior recess fluid: centred 50 deg above horizontal, mid-way in 24.5-26.5.
RECESS_ELEVATION = math.radians(50.0)
RECESS_R = (6.0, 9.0, 1.0)
RECESS_C = _on_head(RECESS_ELEVATION, 0.0, 0.0, CARTILAGE_R + RECESS_R[2])
CAPSULE_R = CARTILAGE_R + 3.0

#: Spinoglenoid notch: suprascapular nerve and artery on the scapular neck.
NERVE_XZ, NERVE_SEMI = (-24.5, 42.3), (1.4, 1.2)
#: Outer (epifascicular) epineurium: the thin echogenic rim of the nerve, tissue "fascia" here;
#: the core inside it is the fascicles and interfascicular epineurium (tissue
#: "nerve", honeycomb texture); sources in primitives.nerve_core. No measured
#: thickness was found: one voxel of the scene grid (0.25 mm), the thinnest
#: layer it holds.
EPINEURIUM_RIM_MM = 0.25
ARTERY_XZ, ARTERY_R, ARTERY_WALL = (-21.0, 40.85), 1.2, 0.3
#: Fat of the spinoglenoid notch around them (flat ellipsoid on the scapular neck).
NOTCH_FAT_C, NOTCH_FAT_R = (-22.5, 0.0, 41.6), (5.5, 12.0, 2.8)


def _vessel_y(xz, semi, n_around=32):
    x, z = xz
    return [Station((x, -HALF_Y + 1.0, z), semi[0], semi[1]), Station((x, HALF_Y - 1.0, z), *semi)]


def _shell(outer: float, inner: float):
    """Spherical layer about the head centre (two surfaces; filled by parity)."""
    c = HEAD_C
    return merge(
        [
            ellipsoid(c, (outer,) * 3, n_around=72, n_rings=48),
            ellipsoid(c, (inner,) * 3, n_around=72, n_rings=48),
        ]
    )


MESHES = {
    "skin.vtp": lambda: box((X_MIN, X_MAX, -HALF_Y, HALF_Y, 0.0, SKIN_MM)),
    "subcutaneous_fat.vtp": lambda: box((X_MIN, X_MAX, -HALF_Y, HALF_Y, SKIN_MM, FAT_BOTTOM_MM)),
    "deltoid.vtp": lambda: box((X_MIN, X_MAX, -HALF_Y, HALF_Y, FAT_BOTTOM_MM, DELTOID_BOTTOM_MM)),
    "intermuscular_fascia.vtp": lambda: box(
        (X_MIN, X_MAX, -HALF_Y, HALF_Y, DELTOID_BOTTOM_MM, DELTOID_BOTTOM_MM + FASCIA_MM)
    ),
    "infraspinatus.vtp": lambda: box(
        (X_MIN, X_MAX, -HALF_Y, HALF_Y, DELTOID_BOTTOM_MM + FASCIA_MM, DEPTH)
    ),
    "posterior_capsule.vtp": lambda: _shell(CAPSULE_R, CARTILAGE_R),
    "posterior_recess.vtp": lambda: ellipsoid(
        RECESS_C, RECESS_R, _tangent_rotation(RECESS_ELEVATION), n_around=48, n_rings=32
    ),
    "humeral_cartilage.vtp": lambda: _shell(CARTILAGE_R, HEAD_R),
    "humeral_head.vtp": lambda: ellipsoid(HEAD_C, (HEAD_R,) * 3, n_around=72, n_rings=48),
    "glenoid.vtp": lambda: ellipsoid(
        GLENOID_C, GLENOID_R, (0.0, GLENOID_TILT_DEG, 0.0), n_around=64, n_rings=40
    ),
    "posterior_labrum.vtp": lambda: ellipsoid(
        LABRUM_C, LABRUM_R, _tangent_rotation(RIM_ELEVATION), n_around=48, n_rings=32
    ),
    "notch_fat.vtp": lambda: ellipsoid(NOTCH_FAT_C, NOTCH_FAT_R, n_around=48, n_rings=24),
    "suprascapular_nerve.vtp": lambda: loft(_vessel_y(NERVE_XZ, NERVE_SEMI), n_around=32),
    "suprascapular_nerve_fascicles.vtp": lambda: nerve_core(
        _vessel_y(NERVE_XZ, NERVE_SEMI), EPINEURIUM_RIM_MM, n_around=32
    ),
    "suprascapular_artery_wall.vtp": lambda: loft(
        _vessel_y(ARTERY_XZ, (ARTERY_R, ARTERY_R)), n_around=32
    ),
    "suprascapular_artery_lumen.vtp": lambda: loft(
        _vessel_y(ARTERY_XZ, (ARTERY_R - ARTERY_WALL,) * 2), n_around=32
    ),
}
