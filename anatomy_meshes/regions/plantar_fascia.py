"""Plantar fascia at its calcaneal origin, long axis (sagittal) from the plantar heel.

A heel with plantar fasciitis: the fascia is thickened (5.5 at the origin,
normal < 4) where it arises from the medial process of the calcaneal
tuberosity.

Frame: x along the foot, distal (+, towards the toes) / proximal (-, the back
of the heel); y medial (+) / lateral (-); z depth from the plantar skin
(towards the dorsum). Plantar heel skin at z = 0; the section of the
canonical view is y = 0, over the medial band of the fascia.

Dimensions (mm unless stated), typical adult values:

- plantar heel skin 2.0 (thick glabrous skin, 1.5-2.5) [Jac], [Uzel];
- heel fat pad 10 thick under the fascia origin (skin to fascia 12; skin to
  the calcaneal tuberosity ~16, normal heel pad 13-20), with curved
  fibrous septa enclosing fat chambers [Prich], [Uzel], [Jac];
- plantar fascia (central band): 5.5 thick at its origin (normal 2-4, > 4
  plantar fasciitis), tapering to 3.5 at 16 distal to the origin and ~2.5
  further distally; about 18 wide at the origin [McM], [Jac], [Bianchi];
  superficial surface 12 deep, deep surface blending with the inferior
  cortex of the calcaneal tuberosity proximally;
- calcaneus: the plantar surface of the tuberosity ~16-18 deep, rising
  (deeper) distally towards the anterior process; modelled as an ellipsoid
  64 x 44 x 38 [Gray];
- flexor digitorum brevis: arises from the medial process of the tuberosity
  and the deep surface of the fascia, ~8 thick, deep to the fascia distal to
  the origin [Gray], [Jac]; quadratus plantae deeper;
- medial calcaneal nerve branches: ~1 diameter, crossing the plantar-medial
  heel fat obliquely [Dellon], [Gray];
- first branch of the lateral plantar nerve (inferior calcaneal nerve,
  Baxter's nerve): ~1.8 diameter, running medial to lateral deep to flexor
  digitorum brevis just distal to the tuberosity [Baxter], [Gray].

Sources: [PROC] ../shared/PROCEDURES.md plantar fascia row (5-15 mm,
thickened > 4 mm); [Jac] Jacobson, Fundamentals of Musculoskeletal
Ultrasound, 3rd ed., ankle and foot chapter; [Bianchi] Bianchi & Martinoli,
Ultrasound of the Musculoskeletal System, Springer 2007, foot chapter; [McM]
McMillan et al., J Foot Ankle Res 2009;2:32 (meta-analysis: fascia 2-4 mm
normal, thickened in plantar heel pain); [Uzel] Uzel et al., J Foot Ankle
Surg 2006;45:305 (heel pad thickness on ultrasound); [Prich] Prichasuk,
Clin Orthop 1994;300:191 (heel pad thickness); [Dellon] Dellon et al., Foot
Ankle Int 2002 (medial calcaneal nerve anatomy); [Baxter] Baxter & Pfeffer,
Clin Orthop 1992;279:229 (first branch of the lateral plantar nerve); [Gray]
Standring, Gray's Anatomy 41st ed., foot.
"""

from __future__ import annotations

from anatomy_meshes.primitives import Station, box, ellipsoid, loft, merge

SCENE = "plantar_fascia"

#: Modelled block, mm: x from X_MIN to X_MAX, y within +-HALF_Y, depth 0..DEPTH.
X_MIN, X_MAX, HALF_Y, DEPTH = -34.0, 30.0, 14.0, 34.0

SKIN_MM = 2.0
#: Heel fat pad block (deeper parts are taken over by the fascia, muscles and bone).
FAT_PAD_BOTTOM_MM = 18.0

#: Plantar fascia: stations (x, centre depth, half thickness); half width in y.
#: Thickest (5.5) at the origin, x = -14 .. -2; it dives into the tuberosity
#: proximally (the bone, of higher priority, takes over there).
FASCIA_STATIONS = (
    (-22.0, 17.2, 2.0),
    (-14.0, 16.0, 2.75),
    (-8.0, 14.75, 2.75),
    (-2.0, 14.75, 2.75),
    (8.0, 13.75, 1.75),
    (18.0, 13.4, 1.4),
    (X_MAX + 2.0, 13.25, 1.25),
)
FASCIA_HALF_WIDTH = 9.0
FASCIA_ORIGIN_THICK_MM = 2 * 2.75
FASCIA_TOP_MM = 14.75 - 2.75  # 12.0 at the origin

#: Calcaneus (stylised ellipsoid): plantar surface 16 deep at x = -26.
CALCANEUS_C, CALCANEUS_R = (-26.0, 0.0, 35.0), (32.0, 22.0, 19.0)

#: Flexor digitorum brevis: stations (x, centre depth, half thickness), half width.
#: Its top lies FDB_GAP_MM below the fascia's deep surface (a thin fat plane that
#: shows the fascia's deep border), its bottom at the intermuscular plane.
FDB_GAP_MM = 0.5
INTERMUSCULAR_Z = (23.7, 24.1)
FDB_STATIONS = tuple(
    (
        x,
        0.5 * (c + h + FDB_GAP_MM + INTERMUSCULAR_Z[0]),
        0.5 * (INTERMUSCULAR_Z[0] - c - h - FDB_GAP_MM),
    )
    for x, c, h in FASCIA_STATIONS[1:]
)
FDB_HALF_WIDTH = 10.0
#: Quadratus plantae, deep to FDB, separated by a thin intermuscular fascia.
QP_STATIONS = ((-4.0, 29.0, 3.5), (8.0, 28.5, 4.5), (X_MAX + 2.0, 28.5, 4.5))
QP_HALF_WIDTH = 12.0

#: Inferior calcaneal (Baxter's) nerve: runs along y at (x, z), radius.
BAXTER_XZ, BAXTER_R = (3.0, 23.9), 0.9

#: Medial calcaneal nerve branches: (x, y, z) at the medial edge and at the lateral end.
MCN_BRANCHES = (
    ((-19.0, HALF_Y - 1.0, 8.0), (-12.0, -8.0, 4.0)),
    ((-6.0, HALF_Y - 1.0, 9.0), (2.0, -8.0, 5.5)),
)
MCN_R = 0.5

#: Fibrous septa of the heel pad (curved sheets running medio-laterally, outlining the
#: fat chambers): three points (x, z) each, start / middle / end. Hand-placed, irregular.
SEPTA = (
    ((-30.0, 4.0), (-26.5, 6.8), (-24.0, 5.2)),
    ((-29.0, 10.5), (-25.0, 9.0), (-21.0, 11.8)),
    ((-22.5, 3.2), (-19.5, 5.0), (-18.0, 8.3)),
    ((-16.5, 5.5), (-13.5, 7.4), (-10.5, 6.0)),
    ((-20.0, 12.5), (-16.0, 10.6), (-13.5, 11.2)),
    ((-11.0, 9.6), (-7.5, 10.8), (-4.0, 9.0)),
    ((-8.5, 3.5), (-6.0, 5.8), (-4.5, 4.6)),
    ((-2.5, 4.5), (0.5, 6.2), (2.5, 9.0)),
    ((-1.5, 10.8), (2.5, 10.0), (6.5, 11.0)),
    ((4.5, 3.8), (7.5, 5.2), (10.5, 4.0)),
    ((8.0, 8.2), (11.0, 9.8), (14.0, 8.6)),
    ((13.0, 3.6), (15.5, 5.9), (17.0, 7.8)),
    ((17.5, 10.0), (21.0, 9.0), (25.0, 10.5)),
    ((20.5, 4.8), (24.0, 6.4), (27.5, 4.6)),
)
SEPTUM_HALF_THICK = 0.12


def _band(stations, half_width: float, exponent: float = 4.0, n_around: int = 48):
    """A flat band running along x (width in y, thickness in depth)."""
    return loft(
        [Station((x, 0.0, z), half_width, h) for x, z, h in stations],
        width_dir=(0.0, 1.0, 0.0),
        exponent=exponent,
        n_around=n_around,
        step_mm=1.0,
    )


def _septa():
    parts = []
    for points in SEPTA:
        stations = [Station((x, 0.0, z), HALF_Y - 2.0, SEPTUM_HALF_THICK) for x, z in points]
        parts.append(
            loft(stations, width_dir=(0.0, 1.0, 0.0), exponent=6.0, n_around=24, step_mm=1.0)
        )
    return merge(parts)


def _mcn_branches():
    parts = []
    for a, b in MCN_BRANCHES:
        parts.append(
            loft(
                [Station(a, MCN_R, MCN_R), Station(b, MCN_R, MCN_R)],
                n_around=16,
                step_mm=2.0,
            )
        )
    return merge(parts)


MESHES = {
    "skin.vtp": lambda: box((X_MIN, X_MAX, -HALF_Y, HALF_Y, 0.0, SKIN_MM)),
    "heel_fat_pad.vtp": lambda: box((X_MIN, X_MAX, -HALF_Y, HALF_Y, SKIN_MM, FAT_PAD_BOTTOM_MM)),
    "heel_pad_septa.vtp": _septa,
    "plantar_fascia.vtp": lambda: _band(FASCIA_STATIONS, FASCIA_HALF_WIDTH),
    "calcaneus.vtp": lambda: ellipsoid(CALCANEUS_C, CALCANEUS_R, n_around=64, n_rings=48),
    "flexor_digitorum_brevis.vtp": lambda: _band(FDB_STATIONS, FDB_HALF_WIDTH, 3.0),
    "quadratus_plantae.vtp": lambda: _band(QP_STATIONS, QP_HALF_WIDTH, 3.0),
    "intermuscular_fascia.vtp": lambda: box(
        (-8.0, X_MAX, -HALF_Y, HALF_Y, INTERMUSCULAR_Z[0], INTERMUSCULAR_Z[1])
    ),
    "inferior_calcaneal_nerve.vtp": lambda: loft(
        [
            Station((BAXTER_XZ[0], -HALF_Y + 1.0, BAXTER_XZ[1]), BAXTER_R, BAXTER_R),
            Station((BAXTER_XZ[0], HALF_Y - 1.0, BAXTER_XZ[1]), BAXTER_R, BAXTER_R),
        ],
        n_around=24,
        step_mm=2.0,
        round_ends=False,
    ),
    "medial_calcaneal_nerve_branches.vtp": _mcn_branches,
}
