"""Proximal patellar tendon at the inferior pole of the patella (jumper's knee), long axis.

Frame: x along the leg (distal +), y mediolateral (lateral +), z depth
(anterior to posterior); skin surface z = 0, the section of the canonical view
is the sagittal midline y = 0; the apex (inferior pole) of the patella is at
x = 0.5, the tibial tuberosity about 45 mm distal to it. Knee in slight flexion.

Dimensions (mm unless stated), typical adult values:

- skin 1.2, subcutaneous fat to 3.0 over the patellar tendon [Jac];
- patella: 40 high, 42 wide; only its anterior surface and the inferior pole
  matter for the image (the rest is in the shadow); anterior cortex 3.5-4.7
  deep, the pole curving down to the apex 13.5 deep [Gray];
- patellar tendon: 4.5 thick and 22-26 wide in its normal mid and distal
  part (normal proximal thickness 3-5 mm), continuing over the patella as
  a thin prepatellar expansion [Jac], [Bia];
- jumper's knee: the proximal tendon thickened to 7.0 at the pole, with a
  hypoechoic focus in its deep (posterior) fibres just distal to the pole,
  10 long, 8 wide, 3.6 thick [Khan], [Jac];
- Hoffa (infrapatellar) fat pad deep to the tendon, from the pole to the
  tibia, about 40 long and 20 deep [Gray], [Jac];
- proximal tibia deep (22-25 at the distal edge of the view); the tibial
  tuberosity, 45-55 distal to the pole where the tendon inserts, lies beyond
  the modelled block [Gray].

Sources: [PROC] ../shared/PROCEDURES.md patellar tendon row (3-8 mm);
[Khan] Khan et al., Radiology 1996;200:821 (patellar tendinosis: hypoechoic
area in the deep proximal tendon at the inferior pole, thickening);
[Jac] Jacobson, Fundamentals of Musculoskeletal Ultrasound, 3rd ed., knee
chapter; [Bia] Bianchi & Martinoli, Ultrasound of the Musculoskeletal System,
2007, knee chapter (patellar tendon thickness); [Gray] Gray's Anatomy, 41st
ed., knee.
"""

from __future__ import annotations

from anatomy_meshes.primitives import Station, box, ellipsoid, loft

SCENE = "patellar_tendon"

#: Half extents of the modelled block, mm (x, y).
X_MIN, X_MAX, HALF_Y = -30.0, 60.0, 20.0

SKIN_MM = 1.2
FAT_BOTTOM_MM = 3.0

PATELLA_C, PATELLA_R = (-19.5, 0.0, 13.5), (20.0, 21.0, 10.0)

#: Patellar tendon: (x, half width, half thickness) along its course; top surface at FAT_BOTTOM_MM.
TENDON_STATIONS = (
    (-24.0, 14.0, 1.0),  # thin prepatellar expansion over the patella
    (-12.0, 14.0, 2.0),
    (-4.0, 13.5, 3.0),
    (2.0, 13.0, 3.5),  # thickened to 7.0 at the pole (tendinopathy)
    (8.0, 12.5, 3.3),
    (16.0, 12.0, 2.4),
    (26.0, 11.5, 2.25),  # normal tendon, 4.5 thick
    (46.0, 11.0, 2.25),
)
TENDON_NORMAL_THICK_MM = 4.5
TENDON_LESION_THICK_MM = 7.0

#: Tendinopathy focus (hypoechoic) in the deep fibres just distal to the pole.
LESION_C, LESION_R = (4.0, 0.0, 7.4), (5.0, 4.0, 1.8)

HOFFA_C, HOFFA_R = (14.0, 0.0, 18.0), (20.0, 22.0, 10.5)  # top 7.5 deep at x = 14

TIBIA_C, TIBIA_R = (48.0, 0.0, 44.0), (40.0, 30.0, 28.0)


def _tendon():
    stations = [Station((x, 0.0, FAT_BOTTOM_MM + hh), hw, hh) for x, hw, hh in TENDON_STATIONS]
    return loft(stations, exponent=3.0, n_around=48, step_mm=1.0)


MESHES = {
    "skin.vtp": lambda: box((X_MIN, X_MAX, -HALF_Y, HALF_Y, 0.0, SKIN_MM)),
    "subcutaneous_fat.vtp": lambda: box((X_MIN, X_MAX, -HALF_Y, HALF_Y, SKIN_MM, FAT_BOTTOM_MM)),
    "patellar_tendon.vtp": _tendon,
    "tendinopathy_focus.vtp": lambda: ellipsoid(LESION_C, LESION_R, n_around=40, n_rings=20),
    "hoffa_fat_pad.vtp": lambda: ellipsoid(HOFFA_C, HOFFA_R),
    "patella.vtp": lambda: ellipsoid(PATELLA_C, PATELLA_R, n_around=64, n_rings=32),
    "tibia.vtp": lambda: ellipsoid(TIBIA_C, TIBIA_R, n_around=64, n_rings=32),
}
