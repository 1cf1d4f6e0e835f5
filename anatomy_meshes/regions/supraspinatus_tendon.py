"""Shoulder, supraspinatus long axis: PRP injection of a partial-thickness tear.

Same patient, frame and layers as ``subacromial_bursa`` (x along the
supraspinatus, lateral +, acromion medial -; y anterior; z depth; skin at
z = 0; canonical section y = 0); see that module for the layer dimensions and
their sources. Added here: an interstitial (intrasubstance) partial-thickness
tear in the "critical zone" about 12 mm proximal to the insertion on the
greater tuberosity [Cod], [Jac]:

- a hypoechoic / anechoic cleft 7 mm long along the fibres, 5 mm wide and
  2 mm deep, in the deep half of the tendon (articular side), following the
  slope of the tendon (18 degrees, deeper laterally); its centre at x = 4,
  depth 15.9 mm, with 1.1 mm of intact tendon above it and 1 mm beneath it
  at its centre (tendon 4.2 mm thick there, over 0.9 mm of cartilage);
- partial-thickness tears appear as a focal hypoechoic or anechoic defect
  that does not reach both surfaces of the tendon; articular-sided and
  intrasubstance tears are the most frequent [Jac], [Tee].

Sources: [Jac] Jacobson, Fundamentals of Musculoskeletal Ultrasound, 3rd ed.,
shoulder chapter (partial-thickness tears, critical zone, tendon thickness);
[Cod] Codman's critical zone, about 10-15 mm proximal to the insertion of the
supraspinatus (Jacobson; Rockwood & Matsen, The Shoulder, 5th ed.);
[Tee] Teefey et al., JBJS Am 2004;86:708 (ultrasound of rotator cuff tears:
accuracy for partial-thickness tears); [PROC] ../shared/PROCEDURES.md
supraspinatus partial tear row.
"""

from __future__ import annotations

from anatomy_meshes.primitives import ellipsoid
from anatomy_meshes.regions import subacromial_bursa as sab

SCENE = "supraspinatus_tendon"

#: Tear: centre, semi-axes (along the fibres, across, in depth), slope about y (deg).
TEAR_C = (4.0, 0.0, 15.9)
TEAR_R = (3.5, 2.5, 1.0)
TEAR_SLOPE_DEG = -18.0  # negative: the lateral end lies deeper

MESHES = {
    **sab.MESHES,
    "partial_tear.vtp": lambda: ellipsoid(TEAR_C, TEAR_R, (0.0, TEAR_SLOPE_DEG, 0.0)),
}
