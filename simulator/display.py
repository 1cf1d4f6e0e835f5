"""Display chain: depth gain, log compression and grey map.

``grey = clip((20 log10(A / Aref) + gain + TGC(r) + DR) / DR, 0, 1)``
(PHYSICS.md section 6), with Aref the echo of a perfect planar reflector at
the focus, so a gain of 0 dB shows it white.
"""

from __future__ import annotations

import numpy as np

from simulator.probe import N_TGC_BANDS, ImagingSettings

#: Smallest envelope value fed to the logarithm (-200 dB).
ENVELOPE_FLOOR = 1e-10
#: 20 log10(x) = _DB_PER_NEPER * ln(x).
_DB_PER_NEPER = float(20.0 / np.log(10.0))


def depth_gain_db(ranges_mm: np.ndarray, settings: ImagingSettings) -> np.ndarray:
    """Total gain at each range: overall gain + built-in compensation + TGC sliders.

    Parameters
    ----------
    ranges_mm : ndarray, shape (n_samples,)
        Ranges from the face, mm.
    settings : ImagingSettings

    Returns
    -------
    ndarray, shape (n_samples,), float32
        Gain in dB. The sliders are the gains at the centres of
        ``N_TGC_BANDS`` equal depth bands, linearly interpolated between and
        held flat beyond the first and last centre.
    """
    r = np.asarray(ranges_mm, dtype=np.float64)
    centres = (np.arange(N_TGC_BANDS) + 0.5) * settings.depth_mm / N_TGC_BANDS
    tgc = np.interp(r, centres, np.asarray(settings.tgc_db, dtype=np.float64))
    compensation = 2.0 * settings.compensation_db_cm_mhz * settings.freq_mhz * r / 10.0
    return (settings.gain_db + compensation + tgc).astype(np.float32)


def log_compress(
    envelope: np.ndarray, gain_db_per_sample: np.ndarray, out: np.ndarray | None = None
) -> np.ndarray:
    """Envelope to decibels with the depth gain applied.

    Parameters
    ----------
    envelope : ndarray, shape (n_lines, n_samples), float32
        Linear echo amplitude.
    gain_db_per_sample : ndarray, shape (n_samples,), float32
        From ``depth_gain_db``.
    out : ndarray, optional
        Output array of the same shape.

    Returns
    -------
    ndarray, shape (n_lines, n_samples), float32
        ``20 log10(envelope) + gain`` in dB.
    """
    out = np.maximum(envelope, ENVELOPE_FLOOR, out=out)
    # the natural log has a vector kernel on every x86 CPU; log10 only with AVX-512
    np.log(out, out=out)
    out *= _DB_PER_NEPER
    out += gain_db_per_sample[None, :]
    return out


def grey_map(db: np.ndarray, dynamic_range_db: float, out: np.ndarray | None = None) -> np.ndarray:
    """Decibels to display grey in [0, 1] (0 dB -> 1, -DR dB -> 0)."""
    out = np.add(db, dynamic_range_db, out=out)
    out *= 1.0 / dynamic_range_db
    np.clip(out, 0.0, 1.0, out=out)
    return out


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Grey image in [0, 1] to 8-bit, shape preserved."""
    return np.rint(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)
