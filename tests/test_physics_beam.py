"""Beam physics of the B-mode engine, measured on rendered phantom images.

Speckle level independent of the line count and of the probe geometry, the
speckle grain set by the point-spread function, the sinc^2 beam's first side
lobe, the focal zone, and the receiver noise. Each test renders a phantom
scene and measures the number it checks; the comment by each threshold says
where it comes from.
"""

from __future__ import annotations

import numpy as np
import pytest

from simulator import display, engine, psf
from simulator.engine import FrameRequest
from simulator.probe import get_probe, probe_pose
from simulator.tissues import TISSUES
from tests.physics_helpers import find_point, render, scene_engine, scene_loader

SOFT = TISSUES["soft_tissue"]


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory):
    return scene_loader(tmp_path_factory.mktemp("scene-cache-beam"))


def _attenuation_db(ranges_mm: np.ndarray, freq_mhz: float) -> np.ndarray:
    """Two-way soft-tissue loss down to each range, dB (added back to undo it)."""
    return 2.0 * SOFT.attenuation_db_cm(freq_mhz) * ranges_mm / 10.0


def _power_db(amp: np.ndarray) -> float:
    """Mean power of linear amplitudes, dB."""
    return float(10.0 * np.log10(np.mean(np.asarray(amp, dtype=np.float64) ** 2)))


def _row_power_db(frame, lines: slice = slice(None)) -> np.ndarray:
    """Mean envelope power of each row (over ``lines``), attenuation added back, dB."""
    p = frame.envelope[:, lines].astype(np.float64) ** 2
    return 10.0 * np.log10(p.mean(axis=1)) + _attenuation_db(
        frame.scan.ranges_mm, frame.settings.freq_mhz
    )


# ------------------------------------------------- 1: level vs line count
def test_speckle_level_does_not_depend_on_line_count(scene):
    s = scene("phantom_homogeneous")
    eng = scene_engine(scene, "phantom_homogeneous")
    levels = {}
    for n in (128, 256, 512, 1024):
        frame = render(eng, s.spec.imaging.with_(n_lines=n))
        r = frame.scan.ranges_mm
        band = (r > 15.0) & (r < 25.0)  # +-5 mm about the 20 mm focus
        edge = n // 16  # leave the ends of the array out (the kernel runs off them)
        levels[n] = float(np.mean(_row_power_db(frame, slice(edge, -edge))[band]))
    spread = max(levels.values()) - min(levels.values())
    # the speckle scale makes the power after the lateral PSF that of the
    # continuous beam whatever the pitch; 0.5 dB is well under what an eye sees
    # and 2-3x the estimate's own noise (10 mm x ~100 speckle cells across)
    assert spread <= 0.5, levels


# -------------------------------------------- 2: curvilinear level vs depth
def _curvilinear_excess_db(scene, n_lines: int | None) -> tuple[np.ndarray, np.ndarray, dict]:
    """Speckle power over the continuous beam's expected variation, per row and by region."""
    s = scene("phantom_homogeneous")
    probe = get_probe("curvilinear_60")
    settings = s.spec.imaging.with_(freq_mhz=5.0, depth_mm=45.0, focus_mm=20.0, n_lines=n_lines)
    f = settings.freq_mhz
    powers = []
    # two seeds of the scatterer field: halves the variance of the estimate
    for seed in (None, 7):
        frame = render(
            scene_engine(scene, "phantom_homogeneous", "curvilinear_60", seed=seed), settings
        )
        powers.append(frame.envelope.astype(np.float64) ** 2)
    r = frame.scan.ranges_mm
    g = psf.focal_gain(r, f, probe.f_number, settings.focus_mm)
    w = psf.lateral_fwhm_mm(r, f, probe.f_number, settings.focus_mm)
    w0 = psf.lateral_fwhm_focus_mm(f, probe.f_number)
    # expected power: the tissue level times g^2 w_focus / w(r), times the attenuation
    expected = g**2 * w0 / w * 10.0 ** (-_attenuation_db(r, f) / 10.0)
    rel = np.concatenate(powers, axis=1) / expected[:, None]
    n = powers[0].shape[1]
    k = n // 8
    keep = (r >= 10.0) & (r <= 40.0)
    regions = {}
    for name, cols in (
        ("left", np.r_[0:k]),
        ("centre", np.r_[n // 2 - k // 2 : n // 2 + k // 2]),
        ("right", np.r_[n - k : n]),
    ):
        both = np.concatenate([cols, cols + n])
        regions[name] = float(10.0 * np.log10(rel[keep][:, both].mean()))
    return r, rel, regions


@pytest.mark.parametrize("n_lines", [None, 512])
def test_curvilinear_speckle_follows_the_continuous_beam(scene, n_lines):
    r, rel, regions = _curvilinear_excess_db(scene, n_lines)
    bands = {}
    for lo in np.arange(10.0, 40.0, 3.0):  # 3 mm bands: ~13 axial x ~100+ lateral cells
        b = (r >= lo) & (r < lo + 3.0)
        bands[float(lo)] = float(10.0 * np.log10(rel[b].mean()))
    values = np.array(list(bands.values()))
    # the engine scales the speckle to g^2 w_focus / w(r) at every range however
    # the pitch widens with depth; 0.5 dB peak to peak leaves room for the
    # estimate's own noise (~0.1 dB per band with two seeds)
    assert values.max() - values.min() <= 0.5, bands
    # the slanted edge lines cross the field at an angle (the world-fixed field is
    # white in depth); the speckle scale accounts for it, so edges match the centre
    assert abs(regions["left"] - regions["centre"]) <= 0.5, regions
    assert abs(regions["right"] - regions["centre"]) <= 0.5, regions


# ------------------------------------------------------- 3: speckle grain
def _half_height_lag(acov: np.ndarray, step: float) -> float:
    """Lag (mm) where a normalised autocovariance first falls to 0.5, linear between lags."""
    below = np.nonzero(acov < 0.5)[0]
    m = int(below[0])
    frac = (acov[m - 1] - 0.5) / (acov[m - 1] - acov[m])
    return float((m - 1 + frac) * step)


def _autocov(x: np.ndarray, axis: int, max_lag: int) -> np.ndarray:
    """Normalised autocovariance along ``axis`` (mean already removed), lags 0..max_lag."""
    x = np.moveaxis(x, axis, 0)
    c = np.array([np.mean(x[: x.shape[0] - m] * x[m:]) for m in range(max_lag + 1)])
    return c / c[0]


def _grain_widths(scene, freq_mhz: float, n_lines: int) -> tuple[float, float]:
    """Half-height full widths (axial, lateral) of the envelope's autocovariance near focus, mm."""
    s = scene("phantom_homogeneous")
    settings = s.spec.imaging.with_(
        freq_mhz=freq_mhz,
        n_lines=n_lines,
        compensation_db_cm_mhz=SOFT.attenuation_db_cm(freq_mhz) / freq_mhz,
    )
    eng = scene_engine(scene, "phantom_homogeneous")
    axial_acov, lateral_acov = [], []
    # three independent stretches of tissue (the probe slid 12 mm each time):
    # the autocovariance of one frame's band wanders by ~10 % with its speckle
    for x_mm in (-12.0, 0.0, 12.0):
        frame = render(eng, settings, position=(x_mm, 0.0, 0.0))
        r = frame.scan.ranges_mm
        band = (r > 16.0) & (r < 24.0)  # near the 20 mm focus
        edge = n_lines // 16
        amp = 10.0 ** (frame.beam_db[band][:, edge:-edge].astype(np.float64) / 20.0)
        # mean removed row by row: what is left of the focal-gain trend adds no correlation
        amp -= amp.mean(axis=1, keepdims=True)
        axial_acov.append(_autocov(amp, 0, 20))
        lateral_acov.append(_autocov(amp, 1, 20))
    axial = 2.0 * _half_height_lag(np.mean(axial_acov, axis=0), frame.scan.dr_mm)
    lateral = 2.0 * _half_height_lag(np.mean(lateral_acov, axis=0), frame.scan.line_pitch)
    return axial, lateral


# The intensity autocovariance of fully developed speckle is |PSF autocorrelation|^2,
# whose half-height width is the PSF's -6 dB width (Wagner et al. 1983); 20% allows
# for the envelope (not intensity), the sinc^2 shape and the sampling.
@pytest.mark.parametrize("freq_mhz", [7.5, 12.0])
@pytest.mark.parametrize("n_lines", [256, 512])
def test_axial_speckle_grain_is_set_by_the_psf(scene, freq_mhz, n_lines):
    axial, _ = _grain_widths(scene, freq_mhz, n_lines)
    probe = scene("phantom_homogeneous").spec.probe.probe
    expected = psf.axial_fwhm_mm(freq_mhz, probe.fractional_bandwidth)
    assert axial == pytest.approx(expected, rel=0.20), (axial, expected)


@pytest.mark.parametrize("freq_mhz", [7.5, 12.0])
@pytest.mark.parametrize("n_lines", [256, 512])
def test_lateral_speckle_grain_is_set_by_the_psf(scene, freq_mhz, n_lines):
    _, lateral = _grain_widths(scene, freq_mhz, n_lines)
    probe = scene("phantom_homogeneous").spec.probe.probe
    expected = psf.lateral_fwhm_focus_mm(freq_mhz, probe.f_number)
    assert lateral == pytest.approx(expected, rel=0.20), (lateral, expected)


# ------------------------------------------------------ 4: side lobes
def test_first_lateral_side_lobe(scene):
    s = scene("phantom_points")
    probe = s.spec.probe.probe
    settings = s.spec.imaging.with_(focus_mm=20.0, n_lines=1024)
    frame = render(scene_engine(scene, "phantom_points"), settings)
    i, j = find_point(frame, 0.0, 20.0)
    profile = frame.envelope[i, :].astype(np.float64)
    peak = profile[j]
    width_20 = float(
        psf.lateral_fwhm_mm(np.array([20.0]), settings.freq_mhz, probe.f_number, 20.0)[0]
    )
    # one side lobe of sinc^2 spans the distance between nulls, in lines
    lobe_lines = round(width_20 / psf.SINC2_FWHM / frame.scan.line_pitch)
    levels = []
    for step in (1, -1):
        k = j
        while profile[k + step] < profile[k]:  # down the main lobe to the first minimum
            k += step
        # the first side lobe's maximum: the highest sample within one lobe width
        # past the minimum (speckle ripples narrower than a lobe are not lobes)
        lobe = profile[k + step : k + step * (lobe_lines + 1) : step]
        levels.append(float(20.0 * np.log10(lobe.max() / peak)))
    # sinc^2 two-way profile of an unapodised aperture: first side lobe -26.5 dB;
    # [-35, -20] dB is the range of real linear arrays (apodisation lowers it)
    for level in levels:
        assert -35.0 <= level <= -20.0, levels
    # main lobe: -6 dB width (interpolated crossings) vs the formula at 20 mm
    half = peak / 2.0
    right = j
    while profile[right] > half:
        right += 1
    left = j
    while profile[left] > half:
        left -= 1
    x_right = right - 1 + (profile[right - 1] - half) / (profile[right - 1] - profile[right])
    x_left = left + 1 - (profile[left + 1] - half) / (profile[left + 1] - profile[left])
    width = (x_right - x_left) * frame.scan.line_pitch
    expected = width_20
    # 20%: the kernel is sampled at the 0.037 mm pitch, the crossing interpolated
    assert width == pytest.approx(expected, rel=0.20), (width, expected)


# ------------------------------------------------------- 5: focal zone
def _band_levels_db(scene, focus_mm: float) -> dict[float, float]:
    s = scene("phantom_homogeneous")
    settings = s.spec.imaging.with_(focus_mm=focus_mm)
    frame = render(scene_engine(scene, "phantom_homogeneous"), settings)
    r = frame.scan.ranges_mm
    row_db = _row_power_db(frame, slice(16, -16))
    levels = {}
    for centre in np.arange(4.0, 38.0, 2.0):  # 4 mm bands every 2 mm
        b = np.abs(r - centre) <= 2.0
        levels[float(centre)] = float(10.0 * np.log10(np.mean(10.0 ** (row_db[b] / 10.0))))
    return levels


@pytest.mark.parametrize("focus_mm", [12.0, 20.0, 30.0])
def test_focal_zone_is_the_brightest_band(scene, focus_mm):
    levels = _band_levels_db(scene, focus_mm)
    brightest = max(levels, key=levels.get)
    # the band containing the focus (centres within 2 mm of it) is the brightest
    assert abs(brightest - focus_mm) <= 2.0, (brightest, levels)
    at_focus = levels[min(levels, key=lambda c: abs(c - focus_mm))]
    far = [v for c, v in levels.items() if abs(c - focus_mm) >= 12.0]
    # focal gain^2 times w_focus/w: ~3.8 dB at 12 mm from a 10 MHz F#2 focus
    # (transmit F#4); 1 dB is a zone the eye can find and well above the noise
    assert far and at_focus - max(far) >= 1.0, (at_focus, levels)


# --------------------------------------------------- 6: receiver noise
@pytest.fixture(scope="module")
def bone(scene):
    s = scene("phantom_bone_slab")
    return s, scene_engine(scene, "phantom_bone_slab")


def _shadow(frame) -> np.ndarray:
    """Mask of the samples in the bone shadow (the slab spans 20-30 mm for x > -6 mm)."""
    r, x = frame.scan.ranges_mm, frame.scan.line_x_mm
    return ((r > 22.0) & (r < 28.0))[:, None] & ((x > 0.0) & (x < 15.0))[None, :]


def test_shadow_holds_receiver_noise(bone):
    s, eng = bone
    settings = s.spec.imaging
    frame = render(eng, settings)
    shadow = _shadow(frame)
    amp = frame.envelope[shadow].astype(np.float64)
    assert np.all(amp > 0.0)
    # complex Gaussian noise: Rayleigh amplitude, mean/std = 1.913; +-0.3 covers
    # the estimate over a few thousand correlated samples
    assert amp.mean() / amp.std() == pytest.approx(1.913, abs=0.3)
    # and its level is the noise's: NOISE_RMS, within 3 dB (Rayleigh power mean)
    assert _power_db(amp) == pytest.approx(20.0 * np.log10(engine.NOISE_RMS), abs=3.0)
    # gain raises the noise 1:1 in beam_db
    louder = render(eng, settings.with_(gain_db=settings.gain_db + 20.0))
    rise = float(np.mean(louder.beam_db[shadow]) - np.mean(frame.beam_db[shadow]))
    assert rise == pytest.approx(20.0, abs=1.0)
    # at the scene's settings the noise lies below the display floor (black
    # shadow), while 30 dB more gain shows it (the scanner's noise floor)
    floor = -settings.dynamic_range_db
    assert np.mean(frame.beam_db[shadow] < floor) >= 0.95
    loud = render(eng, settings.with_(gain_db=settings.gain_db + 30.0))
    assert np.mean(loud.beam_db[shadow] > floor) > 0.20


def test_noise_is_far_below_the_speckle(scene):
    s = scene("phantom_homogeneous")
    settings = s.spec.imaging
    frame = render(scene_engine(scene, "phantom_homogeneous"), settings)
    r = frame.scan.ranges_mm
    gain = display.depth_gain_db(r, settings).astype(np.float64)
    noise_db = 20.0 * np.log10(engine.NOISE_RMS) + gain  # noise power in beam_db
    speckle = 10.0 ** (frame.beam_db[:, 16:-16].astype(np.float64) / 10.0)
    margins = {}
    for lo in np.arange(0.5, 35.0, 2.5):
        b = (r >= lo) & (r < lo + 2.5)
        margins[float(lo)] = float(10.0 * np.log10(speckle[b].mean()) - noise_db[b].mean())
    # the speckle must be speckle, not noise, everywhere the scene images
    # tissue; 10 dB keeps the noise's share of the power under 10%
    assert min(margins.values()) >= 10.0, margins


def test_noise_changes_with_frame_time(bone):
    s, eng = bone
    pose = probe_pose()
    a = eng.render(FrameRequest(pose, s.spec.imaging, timestamp_s=1.0))
    b = eng.render(FrameRequest(pose, s.spec.imaging, timestamp_s=1.05))
    a2 = eng.render(FrameRequest(pose, s.spec.imaging, timestamp_s=1.0))
    shadow = _shadow(a)
    na = a.envelope[shadow].astype(np.float64)
    nb = b.envelope[shadow].astype(np.float64)
    # a new frame time draws a new stretch of noise: uncorrelated (|rho| < 0.1)
    assert not np.array_equal(na, nb)
    assert abs(np.corrcoef(na, nb)[0, 1]) < 0.1
    # the same frame time gives the same frame bit for bit
    assert np.array_equal(a.envelope, a2.envelope)
    assert np.array_equal(a.image, a2.image)
