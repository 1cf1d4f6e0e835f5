"""Achilles tendon mid-portion, short axis: paratenon injection (paratendinopathy).

The target is the paratenon (not the retrocalcaneal bursa): the probe lies
transverse on the back of the ankle about 4 cm above the calcaneal insertion,
the level of mid-portion tendinopathy and paratendinopathy.

Frame: x medial (+) / lateral (-), y along the leg (proximal +), z depth
(posterior to anterior); posterior skin surface z = 0, the section of the
canonical view is y = 0.

Dimensions (mm unless stated), typical adult values:

- skin 1.3 over the posterior ankle, subcutaneous fat to 3.0 (a thin layer
  over the tendon, thicker at its sides) [Jac], [Bianchi];
- paratenon: a thin sheath of loose areolar tissue around the tendon, under
  1 mm in health; modelled as a 0.8 ring (the potential space of a
  paratenon injection; thickened and hypoechoic in paratendinopathy) [Kvist],
  [Paav];
- superficial crural fascia 0.25, enclosing paratenon and tendon [Bianchi];
- Achilles tendon at the mid-portion: flat oval, 13 wide (normal 12-15) and
  5.5 thick antero-posteriorly (normal 4-6, > 6 suggests tendinopathy),
  top at 3.8 [Fornage], [Ying], [Bianchi];
- Kager's fat pad: the triangle of fat between the tendon and the deep
  posterior compartment, about 20 wide and 10 deep at this level, from 10.1 to
  20.1 (its top under the fascia at 10.35) [Jac], [Theo];
- deep transverse crural fascia 0.5 at 20.1-20.6; flexor hallucis long muscle
  deep to it (the muscle belly reaches this level, down to ~30) [Jac];
- lateral, subcutaneous: small saphenous vein 3.2 outer diameter (lumen 2.6),
  and the sural nerve beside it, flat oval 2.2 x 1.6 (CSA ~2.8 mm², normal
  2-4 mm²) about 1-1.5 cm lateral to the tendon edge [Cart], [Ricc];
- medial and deep (avoid if the needle strays deep): posterior tibial artery
  3.0 outer diameter and the tibial nerve, flat oval 5.0 x 3.2 (CSA ~12.6
  mm², normal 10-15 at the ankle) between FDL and FHL, about 15 deep [Cart].

Sources: [PROC] ../shared/PROCEDURES.md Achilles row (3-10 mm, short axis,
in-plane); [Jac] Jacobson, Fundamentals of Musculoskeletal Ultrasound, 3rd
ed., ankle chapter; [Bianchi] Bianchi & Martinoli, Ultrasound of the
Musculoskeletal System, Springer 2007, ankle chapter; [Fornage] Fornage,
Radiology 1986;159:759 (Achilles tendon sonography, thickness 4-6 mm);
[Ying] Ying et al., Ultrasound Med Biol 2003;29:637 (Achilles thickness and
width); [Kvist] Kvist et al., Am J Sports Med 1987 / Kvist 1994 (paratenon
anatomy, paratenonitis); [Paav] Paavola et al., Foot Ankle Clin 2005 (paratenon
and Kager's fat, peritendinous injection); [Theo] Theobald et al., J Anat
2006;208:91 (Kager's fat pad); [Cart] Cartwright et al., Muscle Nerve
2008;37:566 (tibial and sural nerve CSA); [Ricc] Riccio et al. / Standring,
Gray's Anatomy 41st ed. (sural nerve and small saphenous vein lateral to the
Achilles tendon).
"""

from __future__ import annotations

import math

from anatomy_meshes.primitives import Station, box, loft, nerve_core

SCENE = "achilles_paratenon"

#: Half extents of the modelled block, mm (x, y); depth 32.
HALF_X, HALF_Y, DEPTH = 32.0, 14.0, 32.0

SKIN_MM = 1.3
FAT_BOTTOM_MM = 3.0

#: Achilles tendon: centre depth, semi-axes (medio-lateral, antero-posterior).
TENDON_CENTRE_XZ = (0.0, 6.55)
TENDON_SEMI = (6.5, 2.75)  # 13.0 wide, 5.5 thick, top at 3.8
TENDON_EXPONENT = 2.2  # slightly flattened oval
PARATENON_MM = 0.8
PARATENON_SEMI = (TENDON_SEMI[0] + PARATENON_MM, TENDON_SEMI[1] + PARATENON_MM)
#: Superficial crural fascia: the thin sheet that splits to enclose tendon and paratenon.
CRURAL_FASCIA_MM = 0.25
CRURAL_SEMI = (PARATENON_SEMI[0] + CRURAL_FASCIA_MM, PARATENON_SEMI[1] + CRURAL_FASCIA_MM)

#: Kager's fat pad: centre (x, z), semi-axes; top 10.1 at the tendon's deep paratenon.
KAGER_CENTRE_XZ = (0.5, 15.1)
KAGER_SEMI = (10.0, 5.0)

#: Deep transverse crural fascia (z from, z to) and FHL muscle belly.
DEEP_FASCIA_Z = (20.1, 20.6)
FHL_CENTRE_XZ = (1.0, 26.1)
FHL_SEMI = (13.0, 5.5)  # top at 20.6

#: Lateral subcutaneous structures.
SSV_XZ, SSV_R, SSV_WALL = (-13.5, 3.6), 1.6, 0.3
SURAL_XZ, SURAL_SEMI = (-16.8, 3.4), (1.1, 0.8)
SURAL_CSA_MM2 = math.pi * SURAL_SEMI[0] * SURAL_SEMI[1]

#: Medial deep neurovascular bundle.
PTA_XZ, PTA_R, PTA_WALL = (14.5, 15.5), 1.5, 0.3
TIBIAL_XZ, TIBIAL_SEMI = (18.5, 15.0), (2.5, 1.6)
TIBIAL_CSA_MM2 = math.pi * TIBIAL_SEMI[0] * TIBIAL_SEMI[1]
#: Outer (epifascicular) epineurium: the thin echogenic rim of the nerve, tissue "fascia" here;
#: the core inside it is the fascicles and interfascicular epineurium (tissue
#: "nerve", honeycomb texture); sources in primitives.nerve_core. No measured
#: thickness was found: one voxel of the scene grid (0.15 mm), the thinnest
#: layer it holds.
EPINEURIUM_RIM_MM = 0.15


def _along_y(xz: tuple[float, float], semi: tuple[float, float]) -> list[Station]:
    """Stations of a straight structure running along y (the leg) through the block."""
    x, z = xz
    return [
        Station((x, -HALF_Y + 1.0, z), semi[0], semi[1]),
        Station((x, HALF_Y - 1.0, z), semi[0], semi[1]),
    ]


def _tube_y(
    xz: tuple[float, float],
    semi: tuple[float, float],
    n_around: int = 40,
    exponent: float = 2.0,
):
    return loft(_along_y(xz, semi), n_around=n_around, exponent=exponent, round_ends=False)


MESHES = {
    "skin.vtp": lambda: box((-HALF_X, HALF_X, -HALF_Y, HALF_Y, 0.0, SKIN_MM)),
    "subcutaneous_fat.vtp": lambda: box((-HALF_X, HALF_X, -HALF_Y, HALF_Y, SKIN_MM, FAT_BOTTOM_MM)),
    "superficial_crural_fascia.vtp": lambda: _tube_y(
        TENDON_CENTRE_XZ, CRURAL_SEMI, 64, TENDON_EXPONENT
    ),
    "paratenon.vtp": lambda: _tube_y(TENDON_CENTRE_XZ, PARATENON_SEMI, 64, TENDON_EXPONENT),
    "achilles_tendon.vtp": lambda: _tube_y(TENDON_CENTRE_XZ, TENDON_SEMI, 64, TENDON_EXPONENT),
    "kager_fat_pad.vtp": lambda: _tube_y(KAGER_CENTRE_XZ, KAGER_SEMI, 48),
    "deep_crural_fascia.vtp": lambda: box(
        (-HALF_X, HALF_X, -HALF_Y, HALF_Y, DEEP_FASCIA_Z[0], DEEP_FASCIA_Z[1])
    ),
    "flexor_hallucis_longus.vtp": lambda: _tube_y(FHL_CENTRE_XZ, FHL_SEMI, 48, 3.0),
    "small_saphenous_vein_wall.vtp": lambda: _tube_y(SSV_XZ, (SSV_R, SSV_R), 40),
    "small_saphenous_vein_lumen.vtp": lambda: _tube_y(
        SSV_XZ, (SSV_R - SSV_WALL, SSV_R - SSV_WALL), 40
    ),
    "sural_nerve.vtp": lambda: _tube_y(SURAL_XZ, SURAL_SEMI, 32),
    "posterior_tibial_artery_wall.vtp": lambda: _tube_y(PTA_XZ, (PTA_R, PTA_R), 40),
    "posterior_tibial_artery_lumen.vtp": lambda: _tube_y(
        PTA_XZ, (PTA_R - PTA_WALL, PTA_R - PTA_WALL), 40
    ),
    "tibial_nerve.vtp": lambda: _tube_y(TIBIAL_XZ, TIBIAL_SEMI, 48),
    "tibial_nerve_fascicles.vtp": lambda: nerve_core(
        _along_y(TIBIAL_XZ, TIBIAL_SEMI), EPINEURIUM_RIM_MM, n_around=48, round_ends=False
    ),
}
