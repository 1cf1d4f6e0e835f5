"""Scan conversion: beam data (lines x samples) to a Cartesian image.

The mapping is a sparse matrix with the four bilinear weights of each pixel,
built once per geometry and cached, so converting a frame is one sparse
matrix-vector product. Pixels are square; the image carries its millimetre
geometry so a depth scale and calipers can be drawn exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from simulator.scan_geometry import ScanGeometry

#: Default number of image rows for the full depth.
DEFAULT_ROWS = 512


@dataclass(frozen=True)
class ImageGeometry:
    """Millimetre geometry of a displayed image.

    Pixel ``(row, col)`` is centred at probe-frame ``x = x0_mm + col *
    pixel_mm`` (lateral) and ``z = z0_mm + row * pixel_mm`` (depth).

    Attributes
    ----------
    rows, cols : int
        Image shape.
    pixel_mm : float
        Square pixel size, mm.
    x0_mm, z0_mm : float
        Probe-frame position of the centre of pixel (0, 0), mm.
    """

    rows: int
    cols: int
    pixel_mm: float
    x0_mm: float
    z0_mm: float

    def pixel_of(self, x_mm: float, z_mm: float) -> tuple[float, float]:
        """Fractional (row, col) of a probe-frame point."""
        return (z_mm - self.z0_mm) / self.pixel_mm, (x_mm - self.x0_mm) / self.pixel_mm

    def position_of(self, row: float, col: float) -> tuple[float, float]:
        """Probe-frame (x_mm, z_mm) of a fractional pixel."""
        return self.x0_mm + col * self.pixel_mm, self.z0_mm + row * self.pixel_mm


@dataclass(frozen=True)
class ScanConverter:
    """Cached beam-to-image mapping.

    Attributes
    ----------
    geometry : ImageGeometry
    matrix : scipy.sparse.csr_matrix, shape (rows * cols, n_lines * n_samples), float32
        Bilinear weights; input is beam data in (n_lines, n_samples) C order.
    inside : ndarray, shape (rows, cols), bool
        Pixels inside the imaged sector.
    """

    geometry: ImageGeometry
    matrix: sparse.csr_matrix
    inside: np.ndarray

    def convert(self, beam_lines_samples: np.ndarray) -> np.ndarray:
        """Scan-convert one frame.

        Parameters
        ----------
        beam_lines_samples : ndarray, shape (n_lines, n_samples), float32
            Beam data, line-major (the transpose of the public
            ``(n_samples, n_lines)`` layout).

        Returns
        -------
        ndarray, shape (rows, cols), float32
            Zero outside the sector.
        """
        flat = np.ascontiguousarray(beam_lines_samples, dtype=np.float32).ravel()
        g = self.geometry
        return (self.matrix @ flat).reshape(g.rows, g.cols)


def image_geometry(scan: ScanGeometry, pixel_mm: float | None = None) -> ImageGeometry:
    """Smallest image grid covering the imaged region of ``scan``."""
    if scan.kind == "linear":
        x_min = scan.line_x_mm[0]
        x_max = scan.line_x_mm[-1]
        z_min = 0.0
    else:
        half = abs(scan.line_angle_rad[0])
        r_far = scan.radius_mm + scan.depth_mm
        x_max = r_far * math.sin(half)
        x_min = -x_max
        z_min = scan.radius_mm * (math.cos(half) - 1.0)
    z_max = scan.depth_mm
    if pixel_mm is None:
        pixel_mm = (z_max - z_min) / DEFAULT_ROWS
    cols = math.floor((x_max - x_min) / pixel_mm) + 1
    rows = math.floor((z_max - z_min) / pixel_mm) + 1
    # centre the lateral grid on the image so x = 0 falls on the grid symmetrically
    x0 = -(cols - 1) * pixel_mm / 2.0 if scan.kind == "curvilinear" else x_min
    return ImageGeometry(rows=rows, cols=cols, pixel_mm=pixel_mm, x0_mm=x0, z0_mm=z_min)


def build_converter(scan: ScanGeometry, geometry: ImageGeometry) -> ScanConverter:
    """Sparse bilinear beam-to-pixel matrix for ``scan`` onto ``geometry``."""
    rows, cols = geometry.rows, geometry.cols
    zz, xx = np.meshgrid(
        geometry.z0_mm + np.arange(rows) * geometry.pixel_mm,
        geometry.x0_mm + np.arange(cols) * geometry.pixel_mm,
        indexing="ij",
    )
    line, sample = scan.to_beam_coords(xx, zz)
    nl, ns = scan.n_lines, scan.n_samples
    eps = 1e-6
    # samples start half a step below the face: the first half step repeats sample 0
    sample = np.where((sample < 0) & (sample > -0.5 - eps), 0.0, sample)
    inside = (line >= -eps) & (line <= nl - 1 + eps) & (sample >= -eps) & (sample <= ns - 1 + eps)
    if scan.kind == "linear":
        inside &= zz >= -eps
    line = np.clip(line, 0, nl - 1)
    sample = np.clip(sample, 0, ns - 1)
    l0 = np.minimum(np.floor(line).astype(np.int64), max(nl - 2, 0))
    s0 = np.minimum(np.floor(sample).astype(np.int64), max(ns - 2, 0))
    fl = line - l0
    fs = sample - s0
    pix = np.flatnonzero(inside.ravel())
    l0, s0, fl, fs = (a.ravel()[pix] for a in (l0, s0, fl, fs))
    row_idx = np.repeat(pix, 4)
    col_idx = np.stack(
        [l0 * ns + s0, l0 * ns + s0 + 1, (l0 + 1) * ns + s0, (l0 + 1) * ns + s0 + 1], axis=1
    ).ravel()
    weights = np.stack([(1 - fl) * (1 - fs), (1 - fl) * fs, fl * (1 - fs), fl * fs], axis=1).ravel()
    matrix = sparse.csr_matrix(
        (weights.astype(np.float32), (row_idx, col_idx)), shape=(rows * cols, nl * ns)
    )
    return ScanConverter(geometry=geometry, matrix=matrix, inside=inside)


_CACHE: dict[tuple, ScanConverter] = {}
_CACHE_SIZE = 8


def get_converter(scan: ScanGeometry, pixel_mm: float | None = None) -> ScanConverter:
    """Cached converter for a scan geometry (keyed on its defining numbers)."""
    key = (
        scan.kind,
        scan.n_lines,
        scan.n_samples,
        round(scan.dr_mm, 9),
        round(scan.depth_mm, 9),
        round(scan.radius_mm, 9),
        round(float(scan.line_x_mm[0]), 9),
        round(float(scan.line_angle_rad[0]), 9),
        None if pixel_mm is None else round(pixel_mm, 9),
    )
    conv = _CACHE.get(key)
    if conv is None:
        conv = build_converter(scan, image_geometry(scan, pixel_mm))
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = conv
    return conv
