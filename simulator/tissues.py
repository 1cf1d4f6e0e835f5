"""Acoustic properties of the tissues the simulator knows.

Every value carries its source tag (see ``SOURCES``). The table follows
``PHYSICS.md`` section 1; where a range is given there, the value used is the
middle of the range and the source says so. Appearance parameters
(backscatter level, texture, anisotropy, interface lobe) are calibrations of
the textbook MSK appearance; their source tag says what they were matched to.

Conventions
-----------
- ``backscatter_db`` is the diffuse backscatter amplitude of the tissue
  relative to skeletal muscle (0 dB), seen with the beam perpendicular to its
  fibres.
- ``anisotropy_db`` is how far the backscatter falls when the beam is far from
  perpendicular to the fibres; the fall follows
  ``anisotropy_db * (1 - exp(-(psi / anisotropy_width_deg)**2))`` where ``psi``
  is the deviation from perpendicular in degrees.
- ``interface_lobe_deg`` is the 1/e half-width of the specular reflection lobe
  of the tissue's surface, ``interface_diffuse`` the fraction of the normal
  incidence echo a rough surface returns at any angle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType

#: Texture kinds the B-mode engine can draw on top of speckle.
TEXTURE_KINDS: tuple[str, ...] = (
    "none",  # no scatterers: anechoic (fluid, blood) or opaque (bone, steel)
    "speckle",  # fully developed speckle only
    "fibrillar",  # tendon/ligament: bright lines along the fibres
    "fascicular",  # nerve: dark fascicles in bright epineurium
    "perimysium",  # muscle: bright septa between fascicles ("feather", "starry sky")
    "septa",  # subcutaneous fat: thin bright septa in a dark lobular background
)

#: Source tags used in the table, with the reference they stand for.
SOURCES = MappingProxyType(
    {
        "B25": "Bioengineering 2025;12:946",
        "M12": "Mech Mater 2012;44:174, Table 3",
        "S23": "Sensors 2023;23:5942, Table A2",
        "D23": "Diagnostics 2023;13:855, Table 4",
        "Mi96": "Miles et al., JASA 1996;99:3225",
        "Pa04": "Patil et al., Ultrasound Med Biol 2004;30:953",
        "KW": "k-Wave speedSoundWater (Marczak 1997)",
        "Duck90": "Duck, Physical Properties of Tissue, 1990",
        "SF/OL": "steel sound speed tables",
        "CR88": "Crass et al., Radiology 1988;167:499",
        "OB95": "O'Brien & Olerud, Proc IEEE Ultrasonics Symp 1995:1145 (Achilles tendon)",
        "CG": "clinicalgate.com, peripheral nerves",
        "IEC61391": "tissue-mimicking phantom values, IEC 61391 / ATS-CIRS phantom sheets",
        "calc": "arithmetic from the other values",
        "textbook": "standard MSK ultrasound teaching, appearance calibration",
        "assumed": "assumed in PHYSICS.md, no measurement",
    }
)


@dataclass(frozen=True)
class Tissue:
    """Acoustic and appearance properties of one tissue.

    Attributes
    ----------
    name : str
        Key used in scene files.
    speed_m_s : float
        Speed of sound, m/s.
    density_kg_m3 : float
        Mass density, kg/m^3.
    atten_db_cm_mhz : float
        Attenuation coefficient alpha0 in dB/cm/MHz^y (for a fibrous tissue:
        with the beam across the fibres).
    atten_exponent : float
        Frequency exponent y of ``alpha(f) = alpha0 * f**y`` (f in MHz).
    backscatter_db : float
        Diffuse backscatter amplitude relative to muscle, dB (beam
        perpendicular to fibres). ``-inf`` is not used; anechoic tissues use
        texture ``"none"``.
    texture : str
        One of ``TEXTURE_KINDS``.
    anisotropy_db : float
        Backscatter drop far from perpendicular incidence, dB (0 = isotropic).
    anisotropy_width_deg : float
        Angular width of the anisotropy lobe, degrees.
    interface_lobe_deg : float
        1/e half-width of the specular lobe of the tissue's surface, degrees.
    interface_diffuse : float
        Fraction (0-1) of the normal-incidence echo returned at any angle.
    atten_along_ratio : float
        Attenuation with the beam along the fibres over that across them
        (1 = isotropic); in between it goes with ``cos^2`` of the beam-fibre angle.
    sources : Mapping[str, str]
        Field name -> source tag (keys of ``SOURCES``).
    """

    name: str
    speed_m_s: float
    density_kg_m3: float
    atten_db_cm_mhz: float
    atten_exponent: float
    backscatter_db: float
    texture: str
    anisotropy_db: float
    anisotropy_width_deg: float
    interface_lobe_deg: float
    interface_diffuse: float
    atten_along_ratio: float = 1.0
    sources: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))

    @property
    def impedance_mrayl(self) -> float:
        """Characteristic acoustic impedance Z = rho * c, in MRayl."""
        return self.speed_m_s * self.density_kg_m3 * 1e-6

    def attenuation_db_cm(self, freq_mhz: float, cos2_along: float = 0.0) -> float:
        """Attenuation at ``freq_mhz``, dB/cm (one way).

        ``cos2_along`` is the squared cosine of the angle between the beam and
        the fibres (0: across them, the default; 1: along them).
        """
        along = 1.0 + (self.atten_along_ratio - 1.0) * cos2_along
        return self.atten_db_cm_mhz * along * freq_mhz**self.atten_exponent


def _t(name: str, **kw: object) -> Tissue:
    sources = kw.pop("sources")
    return Tissue(name=name, sources=MappingProxyType(dict(sources)), **kw)  # type: ignore[arg-type]


_SOFT = {"interface_lobe_deg": 20.0, "interface_diffuse": 0.5}
_CONNECTIVE_SRC = {
    "appearance": "textbook",
    "anisotropy": "CR88",
}

_TABLE: tuple[Tissue, ...] = (
    _t(
        "skin",
        speed_m_s=1625.0,
        density_kg_m3=1110.0,
        atten_db_cm_mhz=0.35,
        atten_exponent=1.0,
        backscatter_db=8.0,
        texture="speckle",
        anisotropy_db=0.0,
        anisotropy_width_deg=90.0,
        **_SOFT,
        sources={
            "speed_m_s": "B25, M12 (1595-1655, middle)",
            "density_kg_m3": "B25 (1090-1131, middle)",
            "atten_db_cm_mhz": "D23",
            "atten_exponent": "assumed (soft tissue y = 1)",
            "backscatter_db": "textbook (thin bright layer)",
        },
    ),
    _t(
        "fat",
        speed_m_s=1475.0,
        density_kg_m3=938.0,
        atten_db_cm_mhz=0.63,
        atten_exponent=1.0,
        backscatter_db=-10.0,
        texture="septa",
        anisotropy_db=0.0,
        anisotropy_width_deg=90.0,
        **_SOFT,
        sources={
            "speed_m_s": "B25, M12 (1462-1488, middle)",
            "density_kg_m3": "B25 (927-950, middle)",
            "atten_db_cm_mhz": "D23 (0.63; S23 gives 0.8)",
            "atten_exponent": "assumed (soft tissue y = 1)",
            "backscatter_db": (
                "textbook (hypoechoic lobules, thin echogenic septa parallel to the skin: "
                "Valle & Zamorani in Bianchi & Martinoli; not anechoic like fluid)"
            ),
        },
    ),
    _t(
        "muscle",
        speed_m_s=1580.0,
        density_kg_m3=1058.0,
        atten_db_cm_mhz=0.96,
        atten_along_ratio=1.40 / 0.96,
        atten_exponent=1.0,
        backscatter_db=0.0,
        texture="perimysium",
        anisotropy_db=3.0,
        anisotropy_width_deg=20.0,
        **_SOFT,
        sources={
            "speed_m_s": "B25 (1562 across / 1599 along fibres, mean)",
            "density_kg_m3": "B25",
            "atten_db_cm_mhz": "D23 (across fibres; 1.40 along)",
            "atten_along_ratio": "D23 (1.40 along / 0.96 across)",
            "atten_exponent": "assumed (soft tissue y = 1)",
            "backscatter_db": "reference level (0 dB by definition)",
            "anisotropy_db": "textbook (muscle mildly anisotropic)",
        },
    ),
    _t(
        "tendon",
        speed_m_s=1750.0,
        density_kg_m3=1125.0,
        atten_db_cm_mhz=1.6 * 0.96 / 1.40,
        atten_along_ratio=1.40 / 0.96,
        atten_exponent=1.0,
        backscatter_db=14.0,
        texture="fibrillar",
        anisotropy_db=18.0,
        anisotropy_width_deg=5.0,
        interface_lobe_deg=6.0,
        interface_diffuse=0.25,
        sources={
            "speed_m_s": "B25, M12, Mi96 (1650-1850, middle)",
            "density_kg_m3": "B25 (1121-1130)",
            "atten_db_cm_mhz": (
                "D23 (connective tissue 1.57, taken along the fibres, where OB95 finds "
                "tendon attenuation greatest); across: times muscle's across/along ratio"
            ),
            "atten_along_ratio": "OB95 (greater along), D23 (muscle's 1.40 / 0.96, assumed)",
            "atten_exponent": "assumed (soft tissue y = 1)",
            "backscatter_db": (
                "textbook (hyperechoic, compact fibrillar: CCJM MSK US table; fibrillar "
                "echoes at bundle/endotenon interfaces: Martinoli, Radiology 1993;186:839); "
                "+14 dB puts tendon >= 6 dB over muscle and its perimysium at normal incidence"
            ),
            "anisotropy_db": (
                "CR88 (isoechoic to muscle at 2-7 deg, hypoechoic beyond): with the "
                "+14 dB level, 18 dB puts the tendon 2.6 dB over muscle at 5 deg, "
                "1.5 dB under it at 7 deg and 3.7 dB under at 10 deg; "
                "Mi96 gives 8 dB for diffuse backscatter alone"
            ),
            "anisotropy_width_deg": "CR88",
        },
    ),
    _t(
        "tendinosis",
        speed_m_s=1640.0,
        density_kg_m3=1080.0,
        atten_db_cm_mhz=1.0,
        atten_exponent=1.0,
        backscatter_db=-6.0,
        texture="fibrillar",
        anisotropy_db=4.0,
        anisotropy_width_deg=10.0,
        interface_lobe_deg=10.0,
        interface_diffuse=0.4,
        sources={
            "speed_m_s": "assumed (degenerate tendon: more water, between tendon and fluid)",
            "density_kg_m3": "assumed (between tendon B25 and fluid KW)",
            "atten_db_cm_mhz": "assumed (less collagen than tendon D23)",
            "atten_exponent": "assumed (soft tissue y = 1)",
            "backscatter_db": (
                "textbook (tendinosis, enthesopathy, fasciitis: hypoechoic, fibrillar "
                "pattern partly lost)"
            ),
            "anisotropy_db": "textbook (disorganised fibres: little anisotropy)",
        },
    ),
    _t(
        "ligament",
        speed_m_s=1664.0,
        density_kg_m3=1101.0,
        atten_db_cm_mhz=1.6 * 0.96 / 1.40,
        atten_along_ratio=1.40 / 0.96,
        atten_exponent=1.0,
        backscatter_db=8.0,
        texture="fibrillar",
        anisotropy_db=10.0,
        anisotropy_width_deg=7.0,
        interface_lobe_deg=6.0,
        interface_diffuse=0.3,
        sources={
            "speed_m_s": "B25",
            "density_kg_m3": "B25",
            "atten_db_cm_mhz": (
                "D23 (connective tissue 1.57, taken along the fibres, where OB95 finds "
                "tendon attenuation greatest); across: times muscle's across/along ratio"
            ),
            "atten_along_ratio": "OB95 (greater along), D23 (muscle's 1.40 / 0.96, assumed)",
            "atten_exponent": "assumed (soft tissue y = 1)",
            "backscatter_db": "textbook (bright, compact)",
            "anisotropy_db": "textbook (less anisotropic than tendon), CR88",
        },
    ),
    _t(
        "fascia",
        speed_m_s=1664.0,
        density_kg_m3=1101.0,
        atten_db_cm_mhz=1.6,
        atten_exponent=1.0,
        backscatter_db=10.0,
        texture="fibrillar",
        anisotropy_db=8.0,
        anisotropy_width_deg=8.0,
        interface_lobe_deg=5.0,
        interface_diffuse=0.3,
        sources={
            "speed_m_s": "B25 (as ligament)",
            "density_kg_m3": "B25 (as ligament)",
            "atten_db_cm_mhz": "D23 (connective tissue)",
            "atten_exponent": "assumed (soft tissue y = 1)",
            "backscatter_db": "textbook (thin bright line)",
        },
    ),
    _t(
        "nerve",
        speed_m_s=1630.0,
        density_kg_m3=1075.0,
        atten_db_cm_mhz=1.0,
        atten_exponent=1.0,
        backscatter_db=2.0,
        texture="fascicular",
        anisotropy_db=6.0,
        anisotropy_width_deg=10.0,
        interface_lobe_deg=10.0,
        interface_diffuse=0.4,
        sources={
            "speed_m_s": "textbook (~1630)",
            "density_kg_m3": "calc (~1.75 MRayl / 1630 m/s)",
            "atten_db_cm_mhz": "assumed (~1)",
            "atten_exponent": "assumed (soft tissue y = 1)",
            "backscatter_db": (
                "CG (honeycomb: dark fascicles, bright epineurium); +2 dB: overall a little "
                "over muscle and well under tendon (+14), which a trainee tells it from"
            ),
            "anisotropy_db": "textbook (nerve less anisotropic than tendon)",
        },
    ),
    _t(
        "cartilage",
        speed_m_s=1640.0,
        density_kg_m3=1033.0,
        atten_db_cm_mhz=1.75,
        atten_exponent=1.0,
        backscatter_db=-30.0,
        texture="speckle",
        anisotropy_db=0.0,
        anisotropy_width_deg=90.0,
        interface_lobe_deg=8.0,
        interface_diffuse=0.3,
        sources={
            "speed_m_s": "Pa04 (1574-1701, middle)",
            "density_kg_m3": "Pa04",
            "atten_db_cm_mhz": "assumed (1.5-2, middle)",
            "atten_exponent": "assumed (soft tissue y = 1)",
            "backscatter_db": "textbook (uniform anechoic/hypoechoic band)",
        },
    ),
    _t(
        "fibrocartilage",
        speed_m_s=1664.0,
        density_kg_m3=1101.0,
        atten_db_cm_mhz=1.6,
        atten_exponent=1.0,
        backscatter_db=8.0,
        texture="speckle",
        anisotropy_db=3.0,
        anisotropy_width_deg=15.0,
        interface_lobe_deg=10.0,
        interface_diffuse=0.4,
        sources={
            "speed_m_s": "B25 (as ligament)",
            "density_kg_m3": "B25 (as ligament)",
            "atten_db_cm_mhz": "D23 (connective tissue)",
            "atten_exponent": "assumed (soft tissue y = 1)",
            "backscatter_db": "textbook (hyperechoic triangle)",
        },
    ),
    _t(
        "bone",
        speed_m_s=3300.0,
        density_kg_m3=1900.0,
        atten_db_cm_mhz=20.0,
        atten_exponent=1.0,
        backscatter_db=-10.0,
        texture="none",
        anisotropy_db=0.0,
        anisotropy_width_deg=90.0,
        interface_lobe_deg=25.0,
        interface_diffuse=0.5,
        sources={
            "speed_m_s": "B25, M12, S23 (3200-4000; with the density, Z = 6.3 MRayl, "
            "inside the 5.9-6.5 MRayl of PHYSICS.md)",
            "density_kg_m3": "B25, M12 (1800-2200)",
            "atten_db_cm_mhz": "D23 (15 and more)",
            "atten_exponent": "assumed (y = 1)",
            "interface_lobe_deg": "textbook (cortex seen at most angles, brightest square-on)",
        },
    ),
    _t(
        "fluid",
        speed_m_s=1524.0,
        density_kg_m3=1000.0,
        atten_db_cm_mhz=0.002,
        atten_exponent=2.0,
        backscatter_db=0.0,
        texture="none",
        anisotropy_db=0.0,
        anisotropy_width_deg=90.0,
        interface_lobe_deg=20.0,
        interface_diffuse=0.5,
        sources={
            "speed_m_s": "KW (water at 37 C)",
            "density_kg_m3": "KW",
            "atten_db_cm_mhz": "KW (0.002 dB/cm/MHz^2)",
            "atten_exponent": "KW (alpha proportional to f^2)",
            "texture": "textbook (anechoic)",
        },
    ),
    _t(
        "blood",
        speed_m_s=1577.0,
        density_kg_m3=1055.0,
        atten_db_cm_mhz=0.15,
        atten_exponent=1.0,
        backscatter_db=0.0,
        texture="none",
        anisotropy_db=0.0,
        anisotropy_width_deg=90.0,
        interface_lobe_deg=20.0,
        interface_diffuse=0.5,
        sources={
            "speed_m_s": "Duck90 (1570-1584)",
            "density_kg_m3": "Duck90 (1050-1060)",
            "atten_db_cm_mhz": "D23",
            "atten_exponent": "assumed (y = 1)",
            "texture": "textbook (anechoic at 5-15 MHz)",
        },
    ),
    _t(
        "vessel_wall",
        speed_m_s=1664.0,
        density_kg_m3=1101.0,
        atten_db_cm_mhz=1.6,
        atten_exponent=1.0,
        backscatter_db=10.0,
        texture="speckle",
        anisotropy_db=3.0,
        anisotropy_width_deg=15.0,
        interface_lobe_deg=8.0,
        interface_diffuse=0.3,
        sources={
            "speed_m_s": "B25 (as connective tissue)",
            "density_kg_m3": "B25 (as connective tissue)",
            "atten_db_cm_mhz": "D23 (~1.6)",
            "atten_exponent": "assumed (y = 1)",
            "backscatter_db": "textbook (bright wall)",
        },
    ),
    _t(
        "injectate",
        speed_m_s=1537.0,
        density_kg_m3=1005.0,
        atten_db_cm_mhz=0.002,
        atten_exponent=2.0,
        backscatter_db=0.0,
        texture="none",
        anisotropy_db=0.0,
        anisotropy_width_deg=90.0,
        interface_lobe_deg=20.0,
        interface_diffuse=0.5,
        sources={
            "speed_m_s": "calc (saline / 5 % dextrose)",
            "density_kg_m3": "calc",
            "atten_db_cm_mhz": "KW (as water)",
            "atten_exponent": "KW (as water)",
        },
    ),
    _t(
        "steel",
        speed_m_s=5720.0,
        density_kg_m3=7900.0,
        atten_db_cm_mhz=0.0,
        atten_exponent=1.0,
        backscatter_db=0.0,
        texture="none",
        anisotropy_db=0.0,
        anisotropy_width_deg=90.0,
        interface_lobe_deg=3.0,
        interface_diffuse=0.02,
        sources={
            "speed_m_s": "SF/OL (5660-5790, middle)",
            "density_kg_m3": "SF/OL",
            "atten_db_cm_mhz": "SF/OL (~0)",
            "atten_exponent": "assumed (attenuation ~0, exponent immaterial)",
            "interface_lobe_deg": "textbook (very specular)",
        },
    ),
    _t(
        "soft_tissue",
        speed_m_s=1540.0,
        density_kg_m3=1040.0,
        atten_db_cm_mhz=0.5,
        atten_exponent=1.0,
        backscatter_db=0.0,
        texture="speckle",
        anisotropy_db=0.0,
        anisotropy_width_deg=90.0,
        **_SOFT,
        sources={
            "speed_m_s": "IEC61391 (phantom, 1540)",
            "density_kg_m3": "IEC61391",
            "atten_db_cm_mhz": "IEC61391 (0.5 dB/cm/MHz)",
            "atten_exponent": "IEC61391 (y = 1)",
            "backscatter_db": "IEC61391 (uniform speckle, as muscle)",
        },
    ),
)

#: Tissue name -> Tissue. Read only.
TISSUES: MappingProxyType = MappingProxyType({t.name: t for t in _TABLE})


def get_tissue(name: str) -> Tissue:
    """Return the tissue called ``name``.

    Raises
    ------
    KeyError
        With the list of known tissue names when ``name`` is unknown.
    """
    try:
        return TISSUES[name]
    except KeyError:
        known = ", ".join(sorted(TISSUES))
        raise KeyError(f"unknown tissue {name!r}; known tissues: {known}") from None
