"""The tissue table against PHYSICS.md section 1."""

from __future__ import annotations

import pytest

from simulator.tissues import SOURCES, TEXTURE_KINDS, TISSUES, get_tissue

# PHYSICS.md section 1: impedance ranges (MRayl), widened by 3 % where the
# table gives a single approximate value.
IMPEDANCE_MRAYL = {
    "skin": (1.75, 1.93),
    "fat": (1.36, 1.40),
    "muscle": (1.65, 1.69),
    "tendon": (1.85, 2.05),
    "ligament": (1.78, 1.89),
    "fascia": (1.78, 1.89),
    "nerve": (1.70, 1.80),
    "cartilage": (1.63, 1.73),
    "bone": (5.9, 6.5),
    "fluid": (1.47, 1.56),
    "blood": (1.61, 1.71),
    "injectate": (1.49, 1.59),
    "steel": (43.6, 46.4),
}

NUMERIC = ("speed_m_s", "density_kg_m3", "atten_db_cm_mhz", "atten_exponent")


@pytest.mark.parametrize("name", sorted(IMPEDANCE_MRAYL))
def test_impedance_matches_physics_table(name):
    lo, hi = IMPEDANCE_MRAYL[name]
    assert lo <= get_tissue(name).impedance_mrayl <= hi


@pytest.mark.parametrize("name", sorted(TISSUES))
def test_every_value_has_a_known_source(name):
    tissue = TISSUES[name]
    assert tissue.texture in TEXTURE_KINDS
    for field in NUMERIC:
        source = tissue.sources.get(field)
        assert source, f"{name}.{field} has no source"
        tags = {t.strip(" ,;()") for t in source.replace(",", " ").split()}
        assert tags & set(SOURCES), f"{name}.{field}: {source!r} names no known source"


def test_reflections_match_the_worked_examples():
    def r(a: str, b: str) -> float:
        za, zb = get_tissue(a).impedance_mrayl, get_tissue(b).impedance_mrayl
        return ((zb - za) / (zb + za)) ** 2

    assert r("muscle", "bone") == pytest.approx(0.31, abs=0.04)
    assert r("fat", "bone") == pytest.approx(0.40, abs=0.04)
    assert r("muscle", "fluid") == pytest.approx(0.0025, abs=0.0015)
    assert r("fat", "muscle") == pytest.approx(0.01, abs=0.005)
    assert r("muscle", "steel") == pytest.approx(0.86, abs=0.02)


def test_water_attenuation_grows_with_frequency_squared():
    fluid = get_tissue("fluid")
    assert fluid.attenuation_db_cm(10.0) == pytest.approx(4 * fluid.attenuation_db_cm(5.0))


def test_unknown_tissue_lists_the_known_ones():
    with pytest.raises(KeyError, match=r"known tissues: .*tendon"):
        get_tissue("tendom")
