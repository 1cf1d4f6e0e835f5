"""Beam-line geometry of a frame: where each line starts and where it points.

All in the probe frame (mm): origin at the centre of the transducer face,
+z along the central beam, +x along the array. Lines are numbered from -x to
+x; samples are taken at ranges ``r_i = (i + 0.5) * dr_mm`` from the face
along each line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simulator.probe import ImagingSettings, ProbeModel
from simulator.psf import axial_fwhm_mm

#: Sound speed the scanner assumes for range <-> time, m/s.
ASSUMED_SPEED_M_S = 1540.0

#: Axial samples per -6 dB axial resolution cell.
SAMPLES_PER_AXIAL_CELL = 2.5


@dataclass(frozen=True)
class ScanGeometry:
    """Geometry of the beam lines of one probe at one setting.

    Attributes
    ----------
    kind : str
        ``"linear"`` or ``"curvilinear"``.
    n_lines, n_samples : int
        Beam data shape is ``(n_samples, n_lines)``.
    dr_mm : float
        Sample spacing along a line, mm.
    depth_mm : float
        Imaged range, mm.
    line_x_mm : ndarray, shape (n_lines,)
        Linear: lateral position of each line, mm (curvilinear: face x).
    line_angle_rad : ndarray, shape (n_lines,)
        Curvilinear: steering angle of each line from +z, rad (0 for linear).
    radius_mm : float
        Curvilinear radius of the face (0 for linear).
    origins_mm : ndarray, shape (n_lines, 3)
        Start of each line on the face, probe frame.
    directions : ndarray, shape (n_lines, 3)
        Unit direction of each line, probe frame.
    """

    kind: str
    n_lines: int
    n_samples: int
    dr_mm: float
    depth_mm: float
    line_x_mm: np.ndarray
    line_angle_rad: np.ndarray
    radius_mm: float
    origins_mm: np.ndarray
    directions: np.ndarray

    @property
    def ranges_mm(self) -> np.ndarray:
        """Range of each sample from the face along its line, shape (n_samples,), mm."""
        return (np.arange(self.n_samples) + 0.5) * self.dr_mm

    @property
    def line_pitch(self) -> float:
        """Linear: line spacing in mm. Curvilinear: angular spacing in rad."""
        if self.kind == "linear":
            return float(self.line_x_mm[1] - self.line_x_mm[0])
        return float(self.line_angle_rad[1] - self.line_angle_rad[0])

    def to_beam_coords(self, x_mm: np.ndarray, z_mm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Fractional (line, sample) indices of image-plane points.

        Parameters
        ----------
        x_mm, z_mm : ndarray
            Lateral and axial probe-frame coordinates, mm (same shape).

        Returns
        -------
        line, sample : ndarray of float64
            Fractional line index and sample index (sample ``i`` sits at range
            ``(i + 0.5) * dr_mm``).
        """
        x_mm = np.asarray(x_mm, dtype=np.float64)
        z_mm = np.asarray(z_mm, dtype=np.float64)
        if self.kind == "linear":
            line = (x_mm - self.line_x_mm[0]) / self.line_pitch
            rng = z_mm
        else:
            zc = z_mm + self.radius_mm
            theta = np.arctan2(x_mm, zc)
            rng = np.hypot(x_mm, zc) - self.radius_mm
            line = (theta - self.line_angle_rad[0]) / self.line_pitch
        return line, rng / self.dr_mm - 0.5

    def beam_to_plane(self, line: np.ndarray, sample: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Probe-frame (x, z) in mm of fractional (line, sample) indices."""
        rng = (np.asarray(sample, dtype=np.float64) + 0.5) * self.dr_mm
        line = np.asarray(line, dtype=np.float64)
        if self.kind == "linear":
            return self.line_x_mm[0] + line * self.line_pitch, rng
        theta = self.line_angle_rad[0] + line * self.line_pitch
        r = self.radius_mm + rng
        return r * np.sin(theta), r * np.cos(theta) - self.radius_mm


def make_scan_geometry(probe: ProbeModel, settings: ImagingSettings) -> ScanGeometry:
    """Beam lines of ``probe`` at ``settings`` (settings must be valid)."""
    n_lines = settings.n_lines or probe.default_lines
    dr = axial_fwhm_mm(settings.freq_mhz, probe.fractional_bandwidth) / SAMPLES_PER_AXIAL_CELL
    n_samples = math.ceil(settings.depth_mm / dr)
    if probe.kind == "linear":
        pitch = probe.footprint_mm / n_lines
        x = -probe.footprint_mm / 2 + (np.arange(n_lines) + 0.5) * pitch
        angles = np.zeros(n_lines)
        origins = np.stack([x, np.zeros(n_lines), np.zeros(n_lines)], axis=1)
        dirs = np.tile([0.0, 0.0, 1.0], (n_lines, 1))
        radius = 0.0
    elif probe.kind == "curvilinear":
        radius = probe.radius_mm
        fov = probe.fov_rad
        angles = -fov / 2 + (np.arange(n_lines) + 0.5) * fov / n_lines
        dirs = np.stack([np.sin(angles), np.zeros(n_lines), np.cos(angles)], axis=1)
        origins = dirs * radius - np.array([0.0, 0.0, radius])
        x = origins[:, 0].copy()
    else:
        raise ValueError(f"unknown probe kind {probe.kind!r}")
    return ScanGeometry(
        kind=probe.kind,
        n_lines=n_lines,
        n_samples=n_samples,
        dr_mm=dr,
        depth_mm=settings.depth_mm,
        line_x_mm=x,
        line_angle_rad=angles,
        radius_mm=radius,
        origins_mm=origins,
        directions=dirs,
    )
