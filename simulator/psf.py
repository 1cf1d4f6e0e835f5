"""Point-spread function: axial, lateral and elevational beam widths.

Widths are -6 dB full widths of the echo amplitude envelope (the envelope is
Gaussian, so sigma = FWHM / 2.3548).

- Axial: the echo of a Gaussian pulse whose -6 dB fractional bandwidth is
  ``B`` lasts ``0.883 / (B f)`` (time-bandwidth product of a Gaussian), so the
  axial width is ``0.883 * lambda / (2 B)``: half the spatial pulse length
  (PHYSICS.md section 4; a 2-cycle pulse, B = 0.44, gives lambda).
- Lateral: ``0.89 * lambda * F#`` at the transmit focus. The transmit beam
  widens away from the focus as a Gaussian beam whose half depth of field is
  ``3.55 lambda F#^2``; receive is dynamically focused at constant F#, so the
  two-way width goes from the focal width at the focus to sqrt(2) times it
  far from it.
- Elevation: a fixed lens focus, widening as a Gaussian beam.
"""

from __future__ import annotations

import numpy as np

FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))

#: Sound speed used for wavelengths, mm/us (1540 m/s).
SPEED_MM_US = 1.540


def wavelength_mm(freq_mhz: float) -> float:
    """Wavelength at ``freq_mhz`` in soft tissue (1540 m/s), mm."""
    return SPEED_MM_US / freq_mhz


def axial_fwhm_mm(freq_mhz: float, fractional_bandwidth: float) -> float:
    """-6 dB axial width of the echo envelope, mm."""
    return 0.883 * wavelength_mm(freq_mhz) / (2.0 * fractional_bandwidth)


def lateral_fwhm_focus_mm(freq_mhz: float, f_number: float) -> float:
    """-6 dB lateral width at the transmit focus, mm."""
    return 0.89 * wavelength_mm(freq_mhz) * f_number


def lateral_fwhm_mm(
    range_mm: np.ndarray, freq_mhz: float, f_number: float, focus_mm: float
) -> np.ndarray:
    """Two-way -6 dB lateral width at each range, mm.

    Parameters
    ----------
    range_mm : ndarray, shape (n,)
        Ranges from the face, mm.
    freq_mhz, f_number, focus_mm : float
        Centre frequency, F-number at focus, transmit focus depth.

    Returns
    -------
    ndarray, shape (n,), float64
    """
    w0 = lateral_fwhm_focus_mm(freq_mhz, f_number)
    lam = wavelength_mm(freq_mhz)
    half_dof = 3.55 * lam * f_number**2
    w_one_way0 = np.sqrt(2.0) * w0
    w_tx = w_one_way0 * np.sqrt(1.0 + ((np.asarray(range_mm) - focus_mm) / half_dof) ** 2)
    return 1.0 / np.sqrt(1.0 / w_tx**2 + 1.0 / w_one_way0**2)


def elevation_fwhm_mm(
    range_mm: np.ndarray, freq_mhz: float, lens_focus_mm: float, aperture_mm: float
) -> np.ndarray:
    """-6 dB slice thickness at each range for a fixed elevation lens, mm."""
    f_number = lens_focus_mm / aperture_mm
    w0 = 0.89 * wavelength_mm(freq_mhz) * f_number
    half_dof = 3.55 * wavelength_mm(freq_mhz) * f_number**2
    return w0 * np.sqrt(1.0 + ((np.asarray(range_mm) - lens_focus_mm) / half_dof) ** 2)


def gaussian_transfer(sigma: np.ndarray, n_fft: int) -> np.ndarray:
    """DFT of unit-peak Gaussian kernels centred at index 0 (circular).

    Parameters
    ----------
    sigma : ndarray, shape (m,)
        Kernel standard deviations in samples.
    n_fft : int
        Transform length.

    Returns
    -------
    ndarray, shape (n_fft, m), float64
        The continuous Gaussian's Fourier transform sampled at the DFT
        frequencies: ``sigma sqrt(2 pi) exp(-2 (pi sigma nu)^2)``, real because
        the kernel is even; accurate for sigma above ~0.7 samples.
    """
    nu = np.fft.fftfreq(n_fft)[:, None]
    s = np.asarray(sigma, dtype=np.float64)[None, :]
    return s * np.sqrt(2 * np.pi) * np.exp(-2 * (np.pi * s * nu) ** 2)
