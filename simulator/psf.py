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
- Lateral profile: the two-way pattern of an unapodised aperture,
  ``sinc^2(x / a)`` (first null at ``a``, first side lobe -26.5 dB), scaled
  so that its -6 dB width is the lateral width above at every range.
- Focal gain: the transmit beam concentrates its energy near the transmit
  focus; on the beam axis its amplitude relative to the focus is
  ``(1 + ((r - F) / z_tx)^2)^(-1/4)``, where ``z_tx`` is the half depth of
  field of the transmit aperture (the lateral beam width of a Gaussian beam
  grows as ``sqrt(1 + (dz / z_tx)^2)`` and its lateral energy is conserved).
  Transmit apertures are smaller than the receive aperture (F-number
  ``TRANSMIT_F_NUMBER_RATIO`` times the receive one), which keeps the focal
  zone a band a few decibels brighter rather than a bright line.
- Elevation: a fixed lens focus, widening as a Gaussian beam.
"""

from __future__ import annotations

import numpy as np

FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))

#: Sound speed used for wavelengths, mm/us (1540 m/s).
SPEED_MM_US = 1.540
#: -6 dB full width of ``sinc(u)^2`` in units of its first null.
SINC2_FWHM = 0.8859
#: Transmit F-number over receive F-number (assumed: a transmit aperture half
#: the receive one; gives a focal zone 2-3 dB brighter than 10-15 mm away at 10 MHz).
TRANSMIT_F_NUMBER_RATIO = 2.0


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


def focal_gain(
    range_mm: np.ndarray, freq_mhz: float, f_number: float, focus_mm: float
) -> np.ndarray:
    """Amplitude of the transmit beam on its axis relative to the transmit focus.

    Parameters
    ----------
    range_mm : ndarray, shape (n,)
        Ranges from the face, mm.
    freq_mhz, f_number, focus_mm : float
        Centre frequency, receive F-number, transmit focus depth.

    Returns
    -------
    ndarray, shape (n,), float64
        1 at the focus, falling as ``(1 + (dz / z_tx)^2)^(-1/4)``.
    """
    f_tx = TRANSMIT_F_NUMBER_RATIO * f_number
    half_dof = 3.55 * wavelength_mm(freq_mhz) * f_tx**2
    return (1.0 + ((np.asarray(range_mm, dtype=np.float64) - focus_mm) / half_dof) ** 2) ** -0.25


def lateral_profile(x_mm: np.ndarray, fwhm_mm: np.ndarray) -> np.ndarray:
    """Two-way lateral beam profile ``sinc^2``, unit peak, with the given -6 dB width.

    Parameters
    ----------
    x_mm : ndarray
        Lateral distances from the beam axis, mm.
    fwhm_mm : ndarray
        -6 dB width at each point (broadcast with ``x_mm``), mm.

    Returns
    -------
    ndarray, float64
        Amplitude; side lobes at -26.5, -35.7, ... dB.
    """
    first_null_mm = np.asarray(fwhm_mm, dtype=np.float64) / SINC2_FWHM
    return np.sinc(np.asarray(x_mm, dtype=np.float64) / first_null_mm) ** 2


def elevation_fwhm_mm(
    range_mm: np.ndarray, freq_mhz: float, lens_focus_mm: float, aperture_mm: float
) -> np.ndarray:
    """-6 dB slice thickness at each range for a fixed elevation lens, mm."""
    f_number = lens_focus_mm / aperture_mm
    w0 = 0.89 * wavelength_mm(freq_mhz) * f_number
    half_dof = 3.55 * wavelength_mm(freq_mhz) * f_number**2
    return w0 * np.sqrt(1.0 + ((np.asarray(range_mm) - lens_focus_mm) / half_dof) ** 2)
