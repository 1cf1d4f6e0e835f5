"""Tissue appearance by numbers: the contrasts a sonographer relies on.

Each test renders a small in-memory phantom (or the carpal tunnel canonical
view) and measures, on the beam envelope, what the textbook describes:

- tendon: long parallel fibrillar lines in long axis (correlation along the
  fibres much longer than across them), brighter than muscle and fat;
- nerve: hypoechoic fascicles in hyperechoic epineurium (honeycomb) in short
  axis;
- fat: hypoechoic but clearly brighter than fluid;
- the carpal tunnel: flexor tendons and the median nerve told apart;
- the skin: its deep border is not ruler-straight (``scenes.dermis``).

Sources of the appearance targets: ``simulator.textures`` and
``simulator.tissues``.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from scenes import load_scene
from scenes.checks import render_canonical
from scenes.dermis import MIN_SKIN_MM, roughen_deep_border
from simulator import beam
from simulator.engine import BModeEngine, FrameRequest
from simulator.probe import ImagingSettings, get_probe, probe_pose
from simulator.tissues import get_tissue
from simulator.volume import AcousticVolume, StructureAcoustics, interface_normals
from tests.physics_helpers import sample_world_positions

VOXEL_MM = 0.1
FREQ_MHZ = 10.0
#: Columns of the phantom start this deep, under a layer of phantom material, mm.
TOP_MM = 3.0
#: Width of each tissue column, mm.
COLUMN_MM = 6.0
SEED = 11


def _column_phantom(tissues: list[str], fibre: tuple[float, float, float]) -> AcousticVolume:
    """Tissues side by side along x, each a column from TOP_MM to 15 mm, in soft_tissue."""
    x = np.arange(-20.0, 20.0 + VOXEL_MM / 2, VOXEL_MM)
    y = np.arange(-1.0, 1.0 + VOXEL_MM / 2, VOXEL_MM)
    z = np.arange(-1.0, 20.0 + VOXEL_MM / 2, VOXEL_MM)
    labels = np.zeros((x.size, y.size, z.size), np.uint8)
    x0 = -len(tissues) * COLUMN_MM / 2
    in_depth = (z >= TOP_MM) & (z < 15.0)
    for i, _ in enumerate(tissues):
        in_x = (x >= x0 + i * COLUMN_MM) & (x < x0 + (i + 1) * COLUMN_MM)
        labels[np.ix_(in_x, np.ones(y.size, bool), in_depth)] = i + 1
    structs = [StructureAcoustics("background", get_tissue("soft_tissue"), np.array([1.0, 0, 0]))]
    structs += [StructureAcoustics(t, get_tissue(t), np.asarray(fibre, float)) for t in tissues]
    impedance = np.array([s.tissue.impedance_mrayl for s in structs])
    index, normal = interface_normals(labels, impedance)
    origin = np.array([x[0], y[0], z[0]])
    return AcousticVolume(labels, origin, VOXEL_MM, tuple(structs), index, normal, seed=SEED)


def _render(volume: AcousticVolume):
    engine = BModeEngine(volume, get_probe("linear_38"), n_threads=2)
    settings = ImagingSettings(depth_mm=20.0, freq_mhz=FREQ_MHZ, focus_mm=6.0)
    frame = engine.render(FrameRequest(probe_pose((0.0, 0.0, 0.0)), settings))
    return engine, frame, settings


def _texture_at_samples(engine: BModeEngine, frame, settings) -> np.ndarray:
    """The texture factor the engine applied at every beam sample, (n_samples, n_lines)."""
    sc = engine._for_settings(settings)
    plan = engine._plan(np.asarray(frame.probe2world), sc)
    idx = np.arange(plan.n_samples, dtype=np.float32)
    labels, _ = beam.sample_labels(engine.volume, plan, slice(0, plan.n_lines), idx)
    label_line = labels.astype(np.int32) * plan.n_lines
    label_line += np.arange(plan.n_lines, dtype=np.int32)[:, None]
    return beam.texture_factors(engine.field, plan, label_line, labels).T


class Columns:
    """A rendered column phantom with per-column masks and attenuation-free amplitudes."""

    def __init__(self, tissues: list[str], fibre: tuple[float, float, float]) -> None:
        self.tissues = tissues
        self.volume = _column_phantom(tissues, fibre)
        self.engine, self.frame, self.settings = _render(self.volume)
        self.world = sample_world_positions(self.frame)
        self.labels = self.volume.label_at(self.world)
        self.x0 = -len(tissues) * COLUMN_MM / 2

    def mask(self, tissue: str, z_range: tuple[float, float] = (3.4, 5.4)) -> np.ndarray:
        """Samples inside the column, 0.7 mm from its sides, in ``z_range`` (mm)."""
        i = self.tissues.index(tissue)
        w = self.world
        m = (self.labels == i + 1) & (w[..., 2] > z_range[0]) & (w[..., 2] < z_range[1])
        lo = self.x0 + i * COLUMN_MM + 0.7
        return m & (w[..., 0] > lo) & (w[..., 0] < lo + COLUMN_MM - 1.4)

    def amplitude(self, tissue: str) -> np.ndarray:
        """Envelope with the column's own two-way attenuation below TOP_MM undone."""
        alpha = get_tissue(tissue).attenuation_db_cm(FREQ_MHZ)
        below = np.clip(self.world[..., 2] - TOP_MM, 0.0, None)
        return self.frame.envelope * 10.0 ** (2.0 * alpha * below / 10.0 / 20.0)

    def level_db(self, tissue: str) -> float:
        """Mean amplitude of the column's top 2 mm, dB."""
        return float(20.0 * np.log10(self.amplitude(tissue)[self.mask(tissue)].mean()))


@pytest.fixture(scope="module")
def short_axis() -> Columns:
    return Columns(["muscle", "tendon", "nerve", "fat", "fluid"], (0.0, 1.0, 0.0))


@pytest.fixture(scope="module")
def long_axis() -> Columns:
    return Columns(["muscle", "tendon", "nerve", "fat", "fluid"], (1.0, 0.0, 0.0))


def _corr_length_mm(patch: np.ndarray, axis: int, step_mm: float) -> float:
    """1/e length of the autocovariance of ``patch`` along ``axis`` (mm), mean over the other."""
    a = patch - patch.mean()  # one mean: a line's steady brightness is pattern, not offset
    n = a.shape[axis]
    spec = np.fft.rfft(a, n=2 * n, axis=axis)
    ac = np.fft.irfft(np.abs(spec) ** 2, axis=axis)
    ac = np.take(ac, np.arange(n // 2), axis=axis).mean(axis=1 - axis)
    ac /= ac[0]
    k = int(np.argmax(ac < np.exp(-1.0)))
    if k == 0:  # never fell below 1/e inside half the patch
        return n // 2 * step_mm
    frac = (ac[k - 1] - np.exp(-1.0)) / (ac[k - 1] - ac[k])
    return (k - 1 + frac) * step_mm


def _fibre_correlation(cols: Columns, tissue: str) -> tuple[float, float]:
    """Correlation lengths (lateral, axial) of the locally averaged envelope in a column, mm."""
    scan = cols.frame.scan
    dr, pitch = scan.dr_mm, scan.line_pitch
    # average over 0.4 x 0.4 mm (the same in mm both ways): the speckle grain,
    # set by the PSF, is averaged down while patterns longer than that stay; the
    # isotropic window adds the same length to both directions
    env = ndimage.uniform_filter(
        cols.amplitude(tissue), size=(max(round(0.4 / dr), 1), max(round(0.4 / pitch), 1))
    )
    m = cols.mask(tissue, (3.6, 9.0))
    rows = np.nonzero(m.any(axis=1))[0]
    lines = np.nonzero(m.any(axis=0))[0]
    patch = np.log(env[rows[0] : rows[-1] + 1, lines[0] : lines[-1] + 1])
    return _corr_length_mm(patch, 1, pitch), _corr_length_mm(patch, 0, dr)


def test_tendon_long_axis_is_fibrillar(long_axis, short_axis):
    along, across = _fibre_correlation(long_axis, "tendon")
    # long parallel fibrillar lines (Martinoli, Radiology 1993): the pattern
    # runs on along the fibres at least 3 times as far as across them
    assert along >= 3.0 * across, (along, across)
    # the same tendon seen end-on is not streaky: its ratio stays well below
    # (so the long-axis ratio comes from the fibres, not from the PSF shape)
    end_on_lat, _ = _fibre_correlation(short_axis, "tendon")
    assert end_on_lat < 0.6 * along


@pytest.mark.parametrize("cols_name", ["short_axis", "long_axis"])
def test_tendon_brighter_than_muscle_and_fat(cols_name, request):
    cols = request.getfixturevalue(cols_name)
    tendon = cols.level_db("tendon")
    # hyperechoic tendon over hypoechoic muscle (CCJM table) at perpendicular
    # incidence: at least 6 dB, more than the 5.6 dB log-std of the speckle,
    # so the difference shows region by region and not only on average
    assert tendon - cols.level_db("muscle") >= 6.0
    assert tendon - cols.level_db("fat") >= 10.0


def test_fat_is_hypoechoic_not_anechoic(short_axis):
    fat = short_axis.level_db("fat")
    # fat lobules scatter (hypoechoic, with bright septa): fat must stand at
    # least 20 dB above fluid, which has no scatterers (anechoic)
    assert fat - short_axis.level_db("fluid") >= 20.0
    # and below muscle: subcutaneous fat is the darker of the two
    assert fat < short_axis.level_db("muscle")


def test_nerve_fascicles_darker_than_epineurium(short_axis):
    cols = short_axis
    tex = _texture_at_samples(cols.engine, cols.frame, cols.settings)
    m = cols.mask("nerve", (3.4, 8.0))
    amp = cols.amplitude("nerve")
    # the engine's own texture value says where the fascicles (lowest third) and
    # the epineurium (highest third) are; the envelope there must differ
    lo, hi = np.quantile(tex[m], [1 / 3, 2 / 3])
    fascicle = amp[m & (tex <= lo)].mean()
    epineurium = amp[m & (tex >= hi)].mean()
    contrast_db = 20.0 * np.log10(epineurium / fascicle)
    # honeycomb visible through the speckle: at least 8 dB after the PSF
    # (speckle log-std 5.6 dB per resolution cell; a fascicle spans many)
    assert contrast_db >= 8.0, contrast_db


# ------------------------------------------------------------ carpal tunnel
@pytest.fixture(scope="module")
def carpal(tmp_path_factory):
    scene = load_scene("carpal_tunnel_median", cache_dir=tmp_path_factory.mktemp("scene-cache"))
    return scene, render_canonical(scene).frame


def _interior(scene, frame, names: tuple[str, ...], margin_mm: float) -> np.ndarray:
    """Samples of the structures ``names`` at least ``margin_mm`` inside them (4 directions)."""
    vol = scene.volume
    labels = [vol.structure_index(n) for n in names]
    world = sample_world_positions(frame)
    inside = np.isin(vol.label_at(world), labels)
    for d in ([1, 0, 0], [-1, 0, 0], [0, 0, 1], [0, 0, -1]):
        inside &= np.isin(vol.label_at(world + margin_mm * np.array(d, float)), labels)
    return inside


def test_carpal_tunnel_tendons_and_nerve_told_apart(carpal):
    scene, frame = carpal
    tendon = _interior(scene, frame, ("flexor_tendons",), 0.3)
    # the whole nerve as the trainee sees it: epineurial sheath and fascicles
    nerve = _interior(scene, frame, ("median_nerve", "median_nerve_fascicles"), 0.2)
    assert tendon.sum() > 200 and nerve.sum() > 50
    # compare at the same depths (the tendons lie deeper than the nerve; keep
    # the depth band where both are, so attenuation does not decide)
    r = frame.scan.ranges_mm[:, None] * np.ones_like(frame.envelope)
    z_lo = max(r[tendon].min(), r[nerve].min())
    z_hi = min(r[tendon].max(), r[nerve].max())
    band = (r >= z_lo - 1.0) & (r <= z_hi + 1.0)
    t_db = 20.0 * np.log10(frame.envelope[tendon & band].mean())
    n_db = 20.0 * np.log10(frame.envelope[nerve & band].mean())
    # the trainee tells the bright fibrillar tendons from the darker
    # fascicular nerve: at least 4 dB between their mean levels
    assert t_db - n_db >= 4.0, (t_db, n_db)


# ------------------------------------------------------------------ dermis
def _slab(voxel_mm: float = 0.1) -> np.ndarray:
    """Gel 0.5 mm, skin 1.2 mm, fat below, as labels 0, 1, 2."""
    nz = int(8.0 / voxel_mm)
    labels = np.full((80, 60, nz), 2, np.uint8)
    labels[:, :, : int(0.5 / voxel_mm)] = 0
    labels[:, :, int(0.5 / voxel_mm) : int(1.7 / voxel_mm)] = 1
    return labels


def _skin_bottom(labels: np.ndarray) -> np.ndarray:
    skin = labels == 1
    return labels.shape[2] - 1 - np.argmax(skin[:, :, ::-1], axis=2)


def test_dermis_border_is_irregular_and_deterministic():
    a, b, c = _slab(), _slab(), _slab()
    roughen_deep_border(a, [1], 2, 0.1, seed=5)
    roughen_deep_border(b, [1], 2, 0.1, seed=5)
    roughen_deep_border(c, [1], 2, 0.1, seed=6)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    bottom = _skin_bottom(a) * 0.1
    # not ruler-straight: the border moves by a tenth of a millimetre or more
    assert bottom.std() >= 0.05
    # the skin surface stays put and the skin is never thinner than published
    top = np.argmax(a == 1, axis=2)
    assert np.all(top == 5)
    assert (bottom - top * 0.1 + 0.1).min() >= MIN_SKIN_MM - 1e-9
    # only skin and fat changed places
    changed = a != _slab()
    assert set(np.unique(a[changed])) <= {1, 2}
