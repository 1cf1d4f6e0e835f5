"""The procedure scenes' own anatomy gives the textbook images, checked by numbers.

Each test renders a procedure scene at its canonical view (scene seed and
settings, as ``main.py gallery``) and measures the beam data over the
samples of named structures:

- nerves: a fascicular core (tissue ``nerve``: dark fascicles in bright
  interfascicular epineurium, the honeycomb) inside a thin echogenic rim
  (the outer epineurium with the perineural fat), not a thick bright sheath
  round a small core (anatomy_meshes.primitives.nerve_core and its sources);
- bursae: the normal subacromial-subdeltoid bursa is a thin low-reflective
  line between bright layers of peribursal fat (radiologykey.com,
  "Shoulder 2: the SASD bursa"; "Specific sites": "a thin hyperechoic line
  representing the peribursal fat and adjacent fascia");
- fat pads: fat scatters (hypoechoic lobules with bright septa), fluid does
  not (anechoic), so a fat pad stands clearly above the fluid beside it.
"""

from __future__ import annotations

import numpy as np
import pytest

from scenes import load_scene
from scenes.checks import render_canonical
from simulator import beam
from simulator.structure_kinds import structure_kinds
from tests.physics_helpers import sample_world_positions

#: Perineural scenes whose nerve the canonical view resolves: scene -> (the
#: nerve's outline = outer-epineurium rim, its fascicular core).
NERVES = {
    "carpal_tunnel_median": ("median_nerve", "median_nerve_fascicles"),
    "ulnar_nerve_cubital_tunnel": ("ulnar_nerve", "ulnar_nerve_fascicles"),
    "sciatic_piriformis": ("sciatic_nerve", "sciatic_nerve_fascicles"),
    "suprascapular_nerve": ("suprascapular_nerve", "suprascapular_nerve_fascicles"),
    "infrapatellar_saphenous": ("ipbsn", "ipbsn_fascicles"),
    "achilles_paratenon": ("tibial_nerve", "tibial_nerve_fascicles"),
    "hip_anterior_recess": ("femoral_nerve", "femoral_nerve_fascicles"),
}
# Not here: the suprascapular nerve of shoulder_glenohumeral_posterior (2.8 x
# 2.4 mm at 42 mm under a curvilinear-depth view: 2.5 dB of fascicle contrast,
# as a real nerve that deep shows little honeycomb) and the 1 mm superomedial
# genicular nerve (a dot next to its artery, below the fascicle size).


class View:
    """A scene's canonical frame with the label and texture of every beam sample."""

    def __init__(self, name: str, cache_dir) -> None:
        self.scene = load_scene(name, cache_dir=cache_dir)
        spec = self.scene.spec
        self.frame = render_canonical(self.scene).frame
        self.world = sample_world_positions(self.frame)
        self.labels = self.scene.volume.label_at(self.world)
        self._spec = spec

    def index(self, name: str) -> int:
        return self.scene.volume.structure_index(name)

    def interior(self, names: tuple[str, ...], margin_mm: float) -> np.ndarray:
        """Samples at least ``margin_mm`` inside the union of ``names`` (4 directions)."""
        idx = [self.index(n) for n in names]
        inside = np.isin(self.labels, idx)
        vol = self.scene.volume
        for d in ([1, 0, 0], [-1, 0, 0], [0, 0, 1], [0, 0, -1]):
            inside &= np.isin(vol.label_at(self.world + margin_mm * np.array(d, float)), idx)
        return inside

    def mean_db(self, mask: np.ndarray) -> float:
        """Mean ``beam_db`` over the samples of ``mask`` (the displayed level)."""
        assert mask.sum() > 20, mask.sum()
        return float(self.frame.beam_db[mask].mean())

    def texture(self) -> np.ndarray:
        """The texture factor the engine applied at every beam sample."""
        from simulator.engine import BModeEngine

        spec = self._spec
        engine = BModeEngine(self.scene.volume, spec.probe.probe, n_threads=2, seed=spec.seed)
        try:
            sc = engine._for_settings(self.frame.settings)
            plan = engine._plan(np.asarray(self.frame.probe2world), sc)
            idx = np.arange(plan.n_samples, dtype=np.float32)
            labels, _ = beam.sample_labels(engine.volume, plan, slice(0, plan.n_lines), idx)
            line = labels.astype(np.int32) * plan.n_lines
            line += np.arange(plan.n_lines, dtype=np.int32)[:, None]
            return beam.texture_factors(engine.field, plan, line, labels).T
        finally:
            engine.close()


@pytest.fixture(scope="module")
def views(tmp_path_factory):
    cache = tmp_path_factory.mktemp("scene-cache")
    made: dict[str, View] = {}

    def get(name: str) -> View:
        if name not in made:
            made[name] = View(name, cache)
        return made[name]

    return get


# ------------------------------------------------------------------ nerves
@pytest.mark.parametrize("scene", sorted(NERVES))
def test_nerve_is_mostly_fascicular_core_with_a_thin_rim(views, scene):
    v = views(scene)
    outer, core = NERVES[scene]
    kinds = structure_kinds(v.scene.volume)
    # the core is what the needle and the injectate treat as nerve
    assert kinds[v.index(core)] == "nerve"
    n_core = int((v.labels == v.index(core)).sum())
    n_rim = int((v.labels == v.index(outer)).sum())
    # mostly nerve tissue: the rim (outer epineurium) at most a third of the
    # nerve's samples (measured 0.14-0.33; the old fascia sheath was ~0.6)
    assert n_rim / (n_core + n_rim) <= 0.35, (n_core, n_rim)


@pytest.mark.parametrize("scene", sorted(NERVES))
def test_nerve_interior_shows_fascicles(views, scene):
    v = views(scene)
    _, core = NERVES[scene]
    inner = v.interior((core,), 0.2) & (v.labels == v.index(core))
    tex = v.texture()
    lo, hi = np.quantile(tex[inner], [1 / 3, 2 / 3])
    env = v.frame.envelope
    fascicle = env[inner & (tex <= lo)].mean()
    stroma = env[inner & (tex >= hi)].mean()
    contrast_db = 20.0 * np.log10(stroma / fascicle)
    # honeycomb: the samples where the engine's texture puts fascicles are
    # darker than those on the interfascicular epineurium by at least 5 dB
    # after the PSF (measured 6.3 dB for the 2 mm IPBSN and the femoral nerve
    # at 21 mm, 12 dB for the median nerve at 13 MHz); a speckle-only blob
    # would give ~0 dB
    assert contrast_db >= 5.0, contrast_db


@pytest.mark.parametrize("scene", sorted(NERVES))
def test_nerve_rim_is_brighter_than_its_core(views, scene):
    v = views(scene)
    outer, core = NERVES[scene]
    rim = v.labels == v.index(outer)
    inner = v.interior((core,), 0.2) & (v.labels == v.index(core))
    # the thin echogenic rim (outer epineurium and the interface with the
    # perineural fat or muscle) reads brighter than the honeycomb inside it
    # (measured +2.4 dB for the suprascapular nerve at 40 mm, +6 to +10 dB
    # for the superficial nerves)
    assert 20.0 * np.log10(v.frame.envelope[rim].mean() / v.frame.envelope[inner].mean()) >= 1.0


# ------------------------------------------------------------------ bursa
@pytest.mark.parametrize("scene", ["subacromial_bursa", "supraspinatus_tendon"])
def test_bursa_is_a_dark_line_between_bright_peribursal_layers(views, scene):
    v = views(scene)
    bursa = v.labels == v.index("subacromial_bursa")
    peri = v.labels == v.index("peribursal_fat")
    deltoid = v.interior(("deltoid",), 0.5)
    peri_db, bursa_db, deltoid_db = v.mean_db(peri), v.mean_db(bursa), v.mean_db(deltoid)
    # the peribursal fat is the bright line over the bursa: at least as
    # bright as the deltoid above it (measured +4 dB on subacromial_bursa)
    assert peri_db >= deltoid_db, (peri_db, deltoid_db)
    # the bursa, fluid between its walls, at least 20 dB under that line
    # (measured 35 dB)
    assert peri_db - bursa_db >= 20.0, (peri_db, bursa_db)


# ------------------------------------------------------------------ fat pads
@pytest.mark.parametrize("pad", ["suprapatellar_fat_pad", "prefemoral_fat_pad"])
def test_knee_fat_pads_brighter_than_the_recess(views, pad):
    v = views("knee_suprapatellar_recess")
    fat_db = v.mean_db(v.interior((pad,), 0.3))
    fluid_db = v.mean_db(v.interior(("suprapatellar_recess",), 0.3))
    # fat scatters (lobules and septa), the effusion does not: the fat pads
    # on either side of the recess stand at least 10 dB above it (measured
    # 15 dB for the suprapatellar pad in the quadriceps tendon's shadow,
    # 25 dB for the prefemoral pad)
    assert fat_db - fluid_db >= 10.0, (fat_db, fluid_db)


@pytest.mark.xfail(
    reason="Kager's fat pad lies in the Achilles tendon's acoustic shadow on the canonical "
    "view (engine/tissue attenuation of tendon), so it reads no brighter than a vessel lumen",
    strict=False,
)
def test_kager_fat_pad_brighter_than_fluid(views):
    v = views("achilles_paratenon")
    fat_db = v.mean_db(v.interior(("kager_fat_pad",), 0.3))
    fluid_db = max(
        v.mean_db(v.interior((n,), 0.2))
        for n in ("small_saphenous_vein_lumen", "posterior_tibial_artery_lumen")
    )
    assert fat_db - fluid_db >= 10.0, (fat_db, fluid_db)
