"""Echoes of the needle and of point scatterers, in beam coordinates.

The needle is a straight steel shaft (``NeedleShape``). Steel is ~27 times
stiffer acoustically than soft tissue, so its wall reflects almost all of
the incident amplitude (``|Z_steel - Z| / (Z_steel + Z)`` ~ 0.93, PHYSICS.md
section 2); what reaches the probe depends on geometry:

- **Shaft**: a specular reflector. The echo comes back to the array only when
  the shaft is close to perpendicular to the beam. With ``theta`` the
  incidence angle (0 when the shaft is perpendicular to the beam, i.e. the
  needle parallel to a linear probe face) the amplitude follows
  ``diffuse + (1 - diffuse) exp(-(theta / lobe)^2)``, ``SHAFT_LOBE_DEG`` and
  ``SHAFT_DIFFUSE`` below: bright below ~30 deg insertion, poor beyond
  45-60 deg (PHYSICS.md section 5, check 6 of section 7).
- **Tip** (bevel): the bevel's facet and its edges scatter in all directions,
  so the last ``bevel_mm`` of the shaft returns an echo that does not depend
  on the angle and is the brightest part of the needle, rising toward the
  very tip.
- **Reverberation** (comet tail): sound ringing between the walls of the
  needle comes back late, as equally spaced echoes below the shaft, one
  outer diameter (measured along the beam) apart, each ``REVERB_STEP_DB``
  weaker than the last.
- **Slice thickness**: each part of the needle is weighted by the elevation
  beam profile at its depth, so an in-plane needle 1-2 mm off the plane fades
  and an out-of-plane needle shows as one dot where it crosses the slice
  (which may be the shaft, not the tip).

The shaft axis is sampled densely and each sample's weight is set so that the
image does not depend on the sampling step: one specular echo per beam line
crossed (in-plane), one echo per sample crossed (along a beam line), the
integral over the elevation profile (out of plane). Each echo sits on the
shaft's upper wall, the surface facing the probe.

The engine splats the echoes into its complex line signal before the PSF,
like point reflectors, multiplied by the two-way tissue losses down to the
echo (so a needle under bone is shadowed).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from simulator.psf import FWHM_PER_SIGMA
from simulator.scan_geometry import ScanGeometry
from simulator.tissues import get_tissue

#: 1/e half-width of the shaft's specular lobe, degrees. A mirror-smooth wide
#: plate would have a lobe of a few degrees; the needle's is wider because
#: (1) the beam is focused: at F#2 the transmitted rays span +-14 deg, so a
#: shaft tilted by ``theta`` still returns the rays whose mirror image lands
#: on the receive aperture; (2) a 0.3-1.3 mm cylinder is only 2-8
#: wavelengths across at 5-15 MHz and diffracts its echo over ``lambda / D``
#: ~ 10-20 deg; (3) drawn steel tubing has micro-scratches. Together ~20-25
#: deg, which puts the shaft 15-20 dB down at 45 deg and at the diffuse floor
#: by 60 deg, as measured on phantoms [SZ04, KL15].
SHAFT_LOBE_DEG = 25.0
#: Share of the shaft's normal-incidence echo returned at any angle
#: (roughness, edge diffraction): -30 dB. Keeps a steep needle faintly
#: visible, as on scanners.
SHAFT_DIFFUSE = 10.0 ** (-30.0 / 20.0)
#: Peak echo of the shaft relative to a flat steel plate: the wall is curved
#: around the axis, so of an elevation beam about as wide as the needle only
#: the strip near the top of the wall reflects back to the lens (-6 dB).
SHAFT_PEAK = 0.7
#: Echo of the bevel relative to a flat steel plate at the very tip, angle
#: independent (facet plus edges); it falls linearly to ``SHAFT_PEAK`` at the
#: heel of the bevel ``bevel_mm`` from the tip.
TIP_PEAK = 1.0
#: Number of reverberation echoes drawn below the shaft and their step.
REVERB_COUNT = 4
REVERB_STEP_DB = -9.0
#: Cap of the reverberation spacing, in outer diameters (a shaft nearly along
#: the beam would otherwise space them without bound; its echo is faint then).
REVERB_MAX_SPACING_DIAMETERS = 4.0
#: Elevation offsets beyond this many sigmas of the slice profile are dropped.
ELEVATION_CUTOFF_SIGMAS = 5.0
#: Coarsest axis sampling step, mm (the step is also at most half the line
#: pitch and half the sample step).
MAX_STEP_MM = 0.1


@dataclass(frozen=True)
class NeedleShape:
    """A straight steel needle shaft, world mm.

    Attributes
    ----------
    hub_mm : tuple of 3 float
        End of the shaft at the hub, world mm.
    tip_mm : tuple of 3 float
        Tip of the bevel, world mm.
    diameter_mm : float
        Outer diameter, mm.
    bevel_mm : float
        Length of the bevel (the bright tip segment), mm.
    """

    hub_mm: tuple[float, float, float]
    tip_mm: tuple[float, float, float]
    diameter_mm: float
    bevel_mm: float = 1.5

    def __post_init__(self) -> None:
        hub = np.asarray(self.hub_mm, dtype=np.float64)
        tip = np.asarray(self.tip_mm, dtype=np.float64)
        if hub.shape != (3,) or tip.shape != (3,):
            raise ValueError(
                f"NeedleShape: hub_mm {hub.shape} and tip_mm {tip.shape} must be 3-vectors in mm"
            )
        if not float(np.linalg.norm(tip - hub)) > 1e-6:
            raise ValueError("NeedleShape: tip_mm and hub_mm coincide; expected a shaft length > 0")
        if not self.diameter_mm > 0.0:
            raise ValueError(f"NeedleShape: diameter_mm = {self.diameter_mm}: expected > 0 mm")
        if not self.bevel_mm >= 0.0:
            raise ValueError(f"NeedleShape: bevel_mm = {self.bevel_mm}: expected >= 0 mm")

    @property
    def length_mm(self) -> float:
        """Shaft length hub to tip, mm."""
        return float(np.linalg.norm(np.subtract(self.tip_mm, self.hub_mm)))


@dataclass(frozen=True)
class PointScatterers:
    """Bright point scatterers (microbubbles of the injectate), world mm.

    Attributes
    ----------
    positions_mm : ndarray, shape (k, 3), float64
        World positions, mm.
    amplitude : ndarray, shape (k,), float
        Amplitude reflectivity of each (1 = a perfect planar reflector).
    """

    positions_mm: np.ndarray
    amplitude: np.ndarray

    def __post_init__(self) -> None:
        p = np.asarray(self.positions_mm)
        a = np.asarray(self.amplitude)
        if p.ndim != 2 or p.shape[1] != 3 or a.shape != (p.shape[0],):
            raise ValueError(
                f"PointScatterers: positions_mm {p.shape} must be (k, 3) and amplitude "
                f"{a.shape} must be (k,)"
            )


@dataclass(frozen=True)
class BeamEchoes:
    """Echo sources in beam coordinates, ready to be splatted.

    Attributes
    ----------
    line, sample : ndarray, shape (k,), float64
        Fractional line and sample indices (``ScanGeometry.to_beam_coords``).
    amplitude : ndarray, shape (k,), float32
        Echo amplitude before the tissue losses.
    loss_sample : ndarray, shape (k,), float64
        Sample whose two-way tissue losses apply (``sample`` except for
        reverberations, which ring inside the steel, below the shaft echo).
    """

    line: np.ndarray
    sample: np.ndarray
    amplitude: np.ndarray
    loss_sample: np.ndarray

    @property
    def size(self) -> int:
        """Number of echoes."""
        return int(self.line.size)

    @staticmethod
    def empty() -> BeamEchoes:
        """No echoes."""
        z = np.zeros(0)
        return BeamEchoes(z, z, np.zeros(0, np.float32), z)


@dataclass(frozen=True)
class NeedleView:
    """How the needle shows on this frame (for the GUI and the scoring).

    Attributes
    ----------
    tip_in_image : bool
        The tip lies inside the sector and within the slice: ``|y_tip|`` at
        most half the elevation -6 dB width at its depth.
    tip_probe_mm : tuple of 3 float
        Tip in the probe frame (x lateral, y elevation, z axial), mm.
    shaft_in_slice_fraction : float
        Share (0-1) of the shaft below the probe face (range >= 0, taken as
        inserted) whose axis lies inside the sector and within the slice.
    angle_to_beam_deg : float
        Angle between the shaft and the beam line through the tip, degrees:
        90 when the shaft is perpendicular to the beam (brightest), 0 along it.
    """

    tip_in_image: bool
    tip_probe_mm: tuple[float, float, float]
    shaft_in_slice_fraction: float
    angle_to_beam_deg: float


def steel_reflection(tissue_impedance_mrayl: np.ndarray | float) -> np.ndarray:
    """Amplitude reflection coefficient of steel in a tissue, ``|Z2 - Z1| / (Z2 + Z1)``."""
    z_steel = get_tissue("steel").impedance_mrayl
    z = np.asarray(tissue_impedance_mrayl, dtype=np.float64)
    return np.abs(z_steel - z) / (z_steel + z)


def in_slice(
    points_probe_mm: np.ndarray, scan: ScanGeometry, elevation_sigma_mm: np.ndarray
) -> np.ndarray:
    """Whether probe-frame points lie in the imaged slice.

    In the sector (between the first and last line, from the face down to the
    depth) and within the slice's half-maximum thickness at their range.

    Parameters
    ----------
    points_probe_mm : ndarray, shape (n, 3)
        Probe frame, mm.
    scan : ScanGeometry
    elevation_sigma_mm : ndarray, shape (n_samples,)
        Gaussian sigma of the slice profile at each sample, mm.

    Returns
    -------
    ndarray of bool, shape (n,)
    """
    rng, _, _, _ = _beam_frame(scan, points_probe_mm)
    line, _ = scan.to_beam_coords(points_probe_mm[:, 0], points_probe_mm[:, 2])
    half = 0.5 * FWHM_PER_SIGMA * _sigma_at(elevation_sigma_mm, scan, np.maximum(rng, 0.0))
    in_sector = (line >= -0.5) & (line <= scan.n_lines - 0.5)
    in_sector &= (rng >= 0.0) & (rng <= scan.depth_mm)
    return in_sector & (np.abs(points_probe_mm[:, 1]) <= half)


def _probe_frame(needle: NeedleShape, probe2world: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hub and tip in the probe frame, shape (3,) each."""
    world2probe = np.linalg.inv(np.asarray(probe2world, dtype=np.float64))
    rot, t = world2probe[:3, :3], world2probe[:3, 3]
    hub = rot @ np.asarray(needle.hub_mm, dtype=np.float64) + t
    tip = rot @ np.asarray(needle.tip_mm, dtype=np.float64) + t
    return hub, tip


def _beam_frame(
    scan: ScanGeometry, p: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Range, beam direction, lateral unit vector and line pitch at probe-frame points.

    Parameters
    ----------
    p : ndarray, shape (k, 3)

    Returns
    -------
    range_mm : ndarray, shape (k,)
    beam_dir, lateral : ndarray, shape (k, 3)
        Unit beam direction through the point, and the in-plane unit vector
        across the lines (toward increasing line index).
    pitch_mm : ndarray, shape (k,)
        Distance between neighbouring lines at the point, mm.
    """
    k = p.shape[0]
    if scan.kind == "linear":
        beam_dir = np.tile([0.0, 0.0, 1.0], (k, 1))
        lateral = np.tile([1.0, 0.0, 0.0], (k, 1))
        return p[:, 2].copy(), beam_dir, lateral, np.full(k, scan.line_pitch)
    zc = p[:, 2] + scan.radius_mm
    phi = np.arctan2(p[:, 0], zc)
    s, c = np.sin(phi), np.cos(phi)
    zero = np.zeros(k)
    beam_dir = np.stack([s, zero, c], axis=1)
    lateral = np.stack([c, zero, -s], axis=1)
    rng = np.hypot(p[:, 0], zc) - scan.radius_mm
    return rng, beam_dir, lateral, (scan.radius_mm + np.maximum(rng, 0.0)) * scan.line_pitch


def _sigma_at(elevation_sigma_mm: np.ndarray, scan: ScanGeometry, range_mm: np.ndarray):
    """Elevation sigma (mm) at ranges, interpolated on the sample grid."""
    return np.interp(range_mm / scan.dr_mm - 0.5, np.arange(scan.n_samples), elevation_sigma_mm)


def _step_mm(scan: ScanGeometry) -> float:
    """Axis sampling step: at most half the finest line pitch and half the sample step, mm."""
    pitch = scan.line_pitch if scan.kind == "linear" else scan.radius_mm * scan.line_pitch
    return min(MAX_STEP_MM, 0.5 * pitch, 0.5 * scan.dr_mm)


def _axis_samples(
    hub: np.ndarray, tip: np.ndarray, t_lo: float, t_hi: float, step_mm: float
) -> tuple[np.ndarray, float]:
    """Midpoints of equal steps along ``hub + t (tip - hub)``, ``t_lo <= t <= t_hi``.

    Returns the parameters ``t`` (shape (n,)) and the step actually used, mm.
    """
    length = float(np.linalg.norm(tip - hub)) * (t_hi - t_lo)
    if length <= 0.0:
        return np.zeros(0), step_mm
    n = max(1, math.ceil(length / step_mm))
    t = t_lo + (np.arange(n) + 0.5) * (t_hi - t_lo) / n
    return t, length / n


def _elevation_window(
    hub: np.ndarray, tip: np.ndarray, half_width_mm: float
) -> tuple[float, float]:
    """Parameter range of the axis with ``|y| <= half_width_mm`` (clipped to [0, 1])."""
    y0, y1 = hub[1], tip[1]
    dy = y1 - y0
    if abs(dy) < 1e-12:
        return (0.0, 1.0) if abs(y0) <= half_width_mm else (1.0, 0.0)
    ta = (-half_width_mm - y0) / dy
    tb = (half_width_mm - y0) / dy
    lo, hi = min(ta, tb), max(ta, tb)
    return max(lo, 0.0), min(hi, 1.0)


def _face_window(hub: np.ndarray, tip: np.ndarray, scan: ScanGeometry) -> tuple[float, float]:
    """Parameter range of the axis in front of the face (linear: z >= 0; curvilinear: bound)."""
    if scan.kind != "linear":
        return 0.0, 1.0  # masked per sample by range >= 0
    z0, z1 = hub[2], tip[2]
    dz = z1 - z0
    if abs(dz) < 1e-12:
        return (0.0, 1.0) if z0 >= 0.0 else (1.0, 0.0)
    t0 = -z0 / dz
    return (max(t0, 0.0), 1.0) if dz > 0 else (0.0, min(t0, 1.0))


def needle_echoes(
    needle: NeedleShape,
    probe2world: np.ndarray,
    scan: ScanGeometry,
    elevation_sigma_mm: np.ndarray,
    impedance_at: Callable[[np.ndarray], np.ndarray] | None = None,
) -> BeamEchoes:
    """Echoes of the needle in one frame, in beam coordinates.

    Parameters
    ----------
    needle : NeedleShape
    probe2world : ndarray, shape (4, 4)
        Probe pose, world mm.
    scan : ScanGeometry
        Beam lines of the frame.
    elevation_sigma_mm : ndarray, shape (n_samples,)
        Gaussian sigma of the elevation (slice) profile at each sample, mm.
    impedance_at : callable, optional
        ``f(points_world_mm (k, 3)) -> (k,)`` impedance (MRayl) of the tissue
        around the needle at those points; default muscle everywhere.

    Returns
    -------
    BeamEchoes
        Shaft, tip and reverberation echoes (amplitudes before tissue losses);
        empty if no part of the needle is near the slice.
    """
    hub, tip = _probe_frame(needle, probe2world)
    radius = 0.5 * needle.diameter_mm
    half_width = radius + ELEVATION_CUTOFF_SIGMAS * float(np.max(elevation_sigma_mm))
    ea, eb = _elevation_window(hub, tip, half_width)
    fa, fb = _face_window(hub, tip, scan)
    t_lo, t_hi = max(ea, fa), min(eb, fb)
    if t_hi <= t_lo:
        return BeamEchoes.empty()
    t, ds = _axis_samples(hub, tip, t_lo, t_hi, _step_mm(scan))
    axis = tip - hub
    length = float(np.linalg.norm(axis))
    u = axis / length
    p = hub + t[:, None] * axis
    rng, d, lat, pitch = _beam_frame(scan, p)
    keep = rng >= 0.0
    if not np.any(keep):
        return BeamEchoes.empty()
    t, p, rng, d, lat, pitch = t[keep], p[keep], rng[keep], d[keep], lat[keep], pitch[keep]

    # the upper wall: the point of the wall facing the probe along the beam
    du = d @ u
    across = d - du[:, None] * u
    norm = np.linalg.norm(across, axis=1)
    wall = p.copy()
    ok = norm > 1e-6
    wall[ok] -= radius * across[ok] / norm[ok, None]
    wall_rng, _, _, _ = _beam_frame(scan, wall)
    sigma = _sigma_at(elevation_sigma_mm, scan, np.maximum(wall_rng, 0.0))

    # sampling weight: the integral over whichever resolution cell the shaft crosses
    u_lat = np.abs(lat @ u)
    u_ax = np.abs(du)
    u_el = abs(u[1])
    density = np.maximum(
        np.maximum(u_lat / pitch, u_ax / scan.dr_mm), u_el / (sigma * math.sqrt(2 * math.pi))
    )
    elev = np.exp(-0.5 * (np.maximum(np.abs(wall[:, 1]) - radius, 0.0) / sigma) ** 2)

    # specular lobe of the shaft, angle-independent bevel near the tip
    theta = np.arcsin(np.clip(u_ax, 0.0, 1.0))
    lobe = SHAFT_DIFFUSE + (1.0 - SHAFT_DIFFUSE) * np.exp(
        -((theta / math.radians(SHAFT_LOBE_DEG)) ** 2)
    )
    shaft = SHAFT_PEAK * lobe
    from_tip_mm = (1.0 - t) * length
    if needle.bevel_mm > 0.0:
        frac = np.clip(1.0 - from_tip_mm / needle.bevel_mm, 0.0, 1.0)
        bevel = np.where(
            from_tip_mm <= needle.bevel_mm, SHAFT_PEAK + (TIP_PEAK - SHAFT_PEAK) * frac, 0.0
        )
        shaft = np.maximum(shaft, bevel)
    if impedance_at is None:
        refl = steel_reflection(get_tissue("muscle").impedance_mrayl)
    else:
        world = _to_world(wall, probe2world)
        refl = steel_reflection(impedance_at(world))
    amp = refl * shaft * density * ds * elev

    line, sample = scan.to_beam_coords(wall[:, 0], wall[:, 2])
    vis = (amp > 1e-7) & (line > -1) & (line < scan.n_lines) & (sample > -1)
    vis &= sample < scan.n_samples
    if not np.any(vis):
        return BeamEchoes.empty()
    line, sample, amp, cos_t = line[vis], sample[vis], amp[vis], np.cos(theta[vis])

    # comet tail: repeats one diameter (along the beam) apart on the same line
    spacing_mm = needle.diameter_mm / np.maximum(cos_t, 1.0 / REVERB_MAX_SPACING_DIAMETERS)
    k = np.arange(REVERB_COUNT + 1, dtype=np.float64)
    step = 10.0 ** (REVERB_STEP_DB / 20.0)
    all_sample = sample[None, :] + k[:, None] * (spacing_mm / scan.dr_mm)[None, :]
    all_amp = amp[None, :] * (step**k)[:, None]
    all_line = np.broadcast_to(line, all_sample.shape)
    loss_sample = np.broadcast_to(sample, all_sample.shape)
    return BeamEchoes(
        line=all_line.reshape(-1).copy(),
        sample=all_sample.reshape(-1),
        amplitude=all_amp.reshape(-1).astype(np.float32),
        loss_sample=loss_sample.reshape(-1).copy(),
    )


def _to_world(p: np.ndarray, probe2world: np.ndarray) -> np.ndarray:
    m = np.asarray(probe2world, dtype=np.float64)
    return p @ m[:3, :3].T + m[:3, 3]


def needle_view(
    needle: NeedleShape,
    probe2world: np.ndarray,
    scan: ScanGeometry,
    elevation_sigma_mm: np.ndarray,
) -> NeedleView:
    """Where the needle is relative to the image (see ``NeedleView``).

    Parameters
    ----------
    needle : NeedleShape
    probe2world : ndarray, shape (4, 4)
    scan : ScanGeometry
    elevation_sigma_mm : ndarray, shape (n_samples,)
        Gaussian sigma of the slice profile at each sample, mm.

    Returns
    -------
    NeedleView
    """
    hub, tip = _probe_frame(needle, probe2world)
    u = (tip - hub) / np.linalg.norm(tip - hub)

    def inside(points: np.ndarray) -> np.ndarray:
        return in_slice(points, scan, elevation_sigma_mm)

    tip_in = bool(inside(tip[None, :])[0])
    fa, fb = _face_window(hub, tip, scan)
    frac = 0.0
    if fb > fa:
        t, _ = _axis_samples(hub, tip, fa, fb, MAX_STEP_MM)
        p = hub + t[:, None] * (tip - hub)
        rng, _, _, _ = _beam_frame(scan, p)
        below = rng >= 0.0
        if np.any(below):
            frac = float(np.count_nonzero(inside(p[below]))) / float(np.count_nonzero(below))
    _, d, _, _ = _beam_frame(scan, tip[None, :])
    angle = math.degrees(math.acos(min(abs(float(d[0] @ u)), 1.0)))
    return NeedleView(
        tip_in_image=tip_in,
        tip_probe_mm=(float(tip[0]), float(tip[1]), float(tip[2])),
        shaft_in_slice_fraction=frac,
        angle_to_beam_deg=angle,
    )
