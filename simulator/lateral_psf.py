"""The lateral point-spread function of a frame and the speckle level it gives.

At each range the lateral kernel is the two-way beam profile
``psf.lateral_profile`` (sinc^2: main lobe and side lobes) sampled at the line
pitch there (mm; for a curvilinear probe the pitch widens with range), scaled
so that its taps sum to the focal gain ``psf.focal_gain``: a planar reflector
then gives the same echo whatever the line count, brightest at the focus.

Diffuse scatterers are another matter: their power after the kernel is the
sum over pairs of taps of the kernel products times the scatterer field's
correlation between the two lines, and that depends on the line pitch and on
how the lines lie in the field (``speckle.SPECKLE_SMOOTH_CELLS``: smooth across,
white in depth). ``speckle_scale`` gives each sample the amplitude factor that
makes the speckle power after the PSF equal to that of the continuous beam,
``g(r)^2 w_focus / w(r)`` relative to the focus, whatever the sampling.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.fft as sfft

from simulator import psf
from simulator.scan_geometry import ScanGeometry
from simulator.speckle import SPECKLE_DEPTH_MM, SPECKLE_SMOOTH_CELLS, lateral_cell_mm

#: Kernel half-length, first nulls of the sinc^2 profile (-57 dB there).
LATERAL_SPAN_NULLS = 8.0
#: Line-to-line directions are grouped by their depth component in this many
#: bins of equal width over [0, 1] when the speckle scale is computed.
DEPTH_SLOPE_BINS = 64


@dataclass(frozen=True)
class LateralPSF:
    """Lateral kernels of one scan geometry and setting.

    Attributes
    ----------
    transfer : ndarray, shape (n_fft, n_samples), float32
        DFT across the lines of the kernel at each range (real: the kernel is
        even); multiply the lines' DFT (length ``n_fft``) by it.
    lag_power : ndarray, shape (n_lags, n_samples), float64
        ``sum_i k_i k_(i+m)`` for lag ``m`` (doubled for ``m > 0``): the power a
        field correlated ``rho(m)`` between lines ``m`` apart passes is
        ``sum_m rho(m) lag_power[m]``.
    pitch_mm : ndarray, shape (n_samples,)
        Distance between neighbouring lines at each range, mm.
    energy_rel : ndarray, shape (n_samples,)
        Power of the continuous beam's speckle at each range relative to the
        focus, ``g(r)^2 w_focus / w(r)``.
    point_scale : float
        ``focal gain / kernel peak`` at the range nearest the focus: splatting
        ``a * point_scale`` on one line gives a point of peak ``a`` there.
    cell_mm : float
        Size of the scatterer field's cells across for this beam, mm
        (``speckle.lateral_cell_mm``): the engine reads the field with it.
    """

    transfer: np.ndarray
    lag_power: np.ndarray
    pitch_mm: np.ndarray
    energy_rel: np.ndarray
    point_scale: float
    cell_mm: float


def line_pitch_mm(scan: ScanGeometry) -> np.ndarray:
    """Distance between neighbouring lines at each range, shape (n_samples,), mm."""
    r = scan.ranges_mm
    if scan.kind == "linear":
        return np.full_like(r, scan.line_pitch)
    return (scan.radius_mm + r) * scan.line_pitch


def build_lateral_psf(
    scan: ScanGeometry, freq_mhz: float, f_number: float, focus_mm: float
) -> LateralPSF:
    """Lateral kernels for ``scan`` at a frequency, receive F-number and transmit focus."""
    r = scan.ranges_mm
    pitch_mm = line_pitch_mm(scan)
    width_mm = psf.lateral_fwhm_mm(r, freq_mhz, f_number, focus_mm)
    gain = psf.focal_gain(r, freq_mhz, f_number, focus_mm)
    null_lines = width_mm / psf.SINC2_FWHM / pitch_mm
    half = max(1, math.ceil(LATERAL_SPAN_NULLS * float(null_lines.max())))
    taps = np.arange(-half, half + 1, dtype=np.float64)
    kernel = psf.lateral_profile(taps[:, None] * pitch_mm[None, :], width_mm[None, :])
    kernel *= gain / kernel.sum(axis=0)
    n_fft = sfft.next_fast_len(scan.n_lines + half + 1)
    circular = np.zeros((n_fft, r.size))
    circular[: half + 1] = kernel[half:]
    circular[n_fft - half :] = kernel[:half]
    transfer = sfft.fft(circular, axis=0).real.astype(np.float32)
    # lags over which the field can still be correlated (it is never beyond 5 sigma)
    cell_mm = lateral_cell_mm(psf.lateral_fwhm_focus_mm(freq_mhz, f_number))
    reach_mm = 5.0 * math.sqrt(_lateral_variance_mm2(cell_mm))
    n_lags = min(2 * half, math.ceil(reach_mm / float(pitch_mm.min()))) + 1
    lag_power = np.empty((n_lags, r.size))
    lag_power[0] = np.sum(kernel**2, axis=0)
    for lag in range(1, n_lags):
        lag_power[lag] = 2.0 * np.sum(kernel[lag:] * kernel[:-lag], axis=0)
    k_focus = int(np.argmin(np.abs(r - focus_mm)))
    width_focus = psf.lateral_fwhm_focus_mm(freq_mhz, f_number)
    return LateralPSF(
        transfer=transfer,
        lag_power=lag_power,
        pitch_mm=pitch_mm,
        energy_rel=gain**2 * width_focus / width_mm,
        point_scale=float(gain[k_focus] / kernel[half, k_focus]),
        cell_mm=cell_mm,
    )


def _lateral_variance_mm2(cell_mm: float) -> float:
    """Variance of the field's Gaussian correlation across (smoothing and nearest cell), mm^2."""
    return 2.0 * (SPECKLE_SMOOTH_CELLS * cell_mm) ** 2 + cell_mm**2 / 6.0


def field_correlation(across_mm: np.ndarray, depth_mm: np.ndarray, cell_mm: float) -> np.ndarray:
    """Correlation of the scatterer field between two points.

    Parameters
    ----------
    across_mm : ndarray
        Distance between the points parallel to the skin (world x, y), mm.
    depth_mm : ndarray
        Difference of their depths (world z), mm (broadcast with ``across_mm``).
    cell_mm : float
        The field's cell size across (``speckle.lateral_cell_mm``), mm.

    Returns
    -------
    ndarray
        Across: white noise smoothed by a Gaussian of ``SPECKLE_SMOOTH_CELLS``
        cells, read at the nearest cell. In depth every cell is independent: the
        chance that both points fall in the same cell, ``1 - |dz| / c``.
    """
    across = np.exp(-0.5 * np.asarray(across_mm) ** 2 / _lateral_variance_mm2(cell_mm))
    same_cell = np.clip(1.0 - np.abs(np.asarray(depth_mm)) / SPECKLE_DEPTH_MM, 0.0, 1.0)
    return across * same_cell


def speckle_scale(lateral: LateralPSF, depth_slope: np.ndarray, axial_energy: float) -> np.ndarray:
    """Amplitude factor of the diffuse scatterers at every sample.

    Parameters
    ----------
    lateral : LateralPSF
    depth_slope : ndarray, shape (n_lines,)
        ``|z|`` component (world depth) of the unit vector from each line to
        its neighbour at the same range: 0 for a probe square on flat skin,
        ``sin(angle)`` for a line steered or rocked by that angle.
    axial_energy : float
        Sum of the squared taps of the axial kernel (unit peak).

    Returns
    -------
    ndarray, shape (n_lines, n_samples), float32
        Factor that makes the speckle power after both kernels
        ``energy_rel`` (times the tissue's level).
    """
    slope = np.clip(np.asarray(depth_slope, dtype=np.float64), 0.0, 1.0)
    bins = np.minimum((slope * DEPTH_SLOPE_BINS).astype(np.int64), DEPTH_SLOPE_BINS - 1)
    _, line_bin = np.unique(bins, return_inverse=True)
    line_bin = line_bin.reshape(-1)
    # each bin at the mean slope of its lines (exactly 0 for a probe square on the skin)
    sin_b = np.bincount(line_bin, weights=slope) / np.bincount(line_bin)
    cos_b = np.sqrt(1.0 - sin_b**2)
    lags = np.arange(lateral.lag_power.shape[0], dtype=np.float64)
    dist = lags[None, :, None] * lateral.pitch_mm[None, None, :]  # (1, n_lags, n_samples)
    rho = field_correlation(
        dist * cos_b[:, None, None], dist * sin_b[:, None, None], lateral.cell_mm
    )
    power = np.einsum("bls,ls->bs", rho, lateral.lag_power)  # (n_bins_used, n_samples)
    scale = np.sqrt(lateral.energy_rel[None, :] / (power * axial_energy))
    return scale.astype(np.float32)[line_bin]
