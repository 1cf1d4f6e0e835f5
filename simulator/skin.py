"""The skin as a height field, for keeping the probe on the body surface.

World frame (ARCHITECTURE.md): millimetres, +z is depth into the body. The
skin is described as ``z = h(x, y)``: for every point of the xy plane, the
smallest z where a vertical ray coming from above (from z = -inf) meets the
skin mesh. It is sampled on a regular xy grid and interpolated bilinearly;
outside the grid the edge values are used (the surface is extended flat).

Pure NumPy/SciPy: no Qt, no VTK (``scenes.skin`` turns a scene's mesh into
the triangles this module reads).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from simulator.probe import rotation_deg

#: Maximum number of (triangle, grid node) candidate pairs tested at once.
CHUNK_PAIRS = 1 << 20

#: Barycentric tolerance: nodes on a shared edge belong to both triangles.
_BARY_EPS = 1e-9


class SkinSurface:
    """The skin as a sampled height field ``z = h(x, y)`` (mm, +z into the body).

    Build one with :meth:`flat` or :meth:`from_triangles`.

    Parameters
    ----------
    heights_mm : ndarray, shape (nx, ny)
        Skin depth at the grid nodes, mm; axis 0 is x, axis 1 is y. At
        least 2 nodes per axis; every value finite.
    origin_xy_mm : tuple of 2 float
        World (x, y) of node ``[0, 0]``, mm.
    spacing_mm : float
        Node spacing along x and y, mm (> 0).

    Attributes
    ----------
    heights_mm : ndarray, shape (nx, ny), float64
        Read-only copy of the node heights.
    origin_xy_mm : tuple of 2 float
    spacing_mm : float
    """

    def __init__(
        self,
        heights_mm: np.ndarray,
        origin_xy_mm: tuple[float, float],
        spacing_mm: float,
    ) -> None:
        heights = np.array(heights_mm, dtype=np.float64)
        if heights.ndim != 2 or min(heights.shape) < 2:
            raise ValueError(
                f"heights_mm has shape {heights.shape}: expected (nx, ny) with nx, ny >= 2"
            )
        if not np.all(np.isfinite(heights)):
            raise ValueError("heights_mm contains non-finite values")
        if not (math.isfinite(spacing_mm) and spacing_mm > 0.0):
            raise ValueError(f"spacing_mm = {spacing_mm}: expected a positive spacing in mm")
        heights.setflags(write=False)
        self.heights_mm = heights
        self.origin_xy_mm = (float(origin_xy_mm[0]), float(origin_xy_mm[1]))
        self.spacing_mm = float(spacing_mm)

    # ------------------------------------------------------------------ builders

    @classmethod
    def flat(cls, z_mm: float = 0.0) -> SkinSurface:
        """An infinite horizontal skin at depth ``z_mm`` (normal +z everywhere)."""
        return cls(np.full((2, 2), float(z_mm)), (-0.5, -0.5), 1.0)

    @classmethod
    def from_triangles(
        cls,
        vertices_mm: np.ndarray,
        faces: np.ndarray,
        spacing_mm: float = 0.5,
        bounds_xy_mm: tuple[float, float, float, float] | None = None,
    ) -> SkinSurface:
        """Sample the top of a triangle mesh by casting vertical rays.

        Every grid node takes the smallest z of the triangles its vertical
        line crosses (the skin seen from above); nodes no triangle covers
        take the value of the nearest covered node.

        Parameters
        ----------
        vertices_mm : ndarray, shape (n, 3), float
            Vertex positions, world mm.
        faces : ndarray, shape (m, 3), int
            Vertex indices of each triangle.
        spacing_mm : float
            Grid spacing, mm.
        bounds_xy_mm : tuple (x_min, y_min, x_max, y_max), optional
            Region to sample, mm; default the xy extent of the vertices. The
            grid starts at (x_min, y_min) and covers up to the max bounds.

        Returns
        -------
        SkinSurface

        Raises
        ------
        ValueError
            Malformed arrays, bad bounds or spacing, or no triangle seen from
            above inside the bounds.
        """
        verts = np.asarray(vertices_mm, dtype=np.float64)
        tris = np.asarray(faces)
        if verts.ndim != 2 or verts.shape[1] != 3:
            raise ValueError(f"vertices_mm has shape {verts.shape}: expected (n, 3)")
        if tris.ndim != 2 or tris.shape[1] != 3 or not np.issubdtype(tris.dtype, np.integer):
            raise ValueError(f"faces has shape {tris.shape} {tris.dtype}: expected (m, 3) int")
        if tris.size and (tris.min() < 0 or tris.max() >= len(verts)):
            raise ValueError(f"faces index vertices outside 0..{len(verts) - 1}")
        if not (math.isfinite(spacing_mm) and spacing_mm > 0.0):
            raise ValueError(f"spacing_mm = {spacing_mm}: expected a positive spacing in mm")
        if bounds_xy_mm is None:
            if len(verts) == 0:
                raise ValueError("no vertices and no bounds_xy_mm: nothing to sample")
            x_min, y_min = verts[:, :2].min(axis=0)
            x_max, y_max = verts[:, :2].max(axis=0)
        else:
            x_min, y_min, x_max, y_max = (float(v) for v in bounds_xy_mm)
        if not (x_max > x_min and y_max > y_min):
            raise ValueError(
                f"bounds_xy_mm = ({x_min}, {y_min}, {x_max}, {y_max}): expected "
                "(x_min, y_min, x_max, y_max) with min < max"
            )
        nx = max(2, math.ceil((x_max - x_min) / spacing_mm - 1e-9) + 1)
        ny = max(2, math.ceil((y_max - y_min) / spacing_mm - 1e-9) + 1)
        heights = _rasterise_min_z(verts, tris, (x_min, y_min), spacing_mm, (nx, ny))
        valid = np.isfinite(heights)
        if not valid.any():
            raise ValueError(
                f"no triangle seen from above inside bounds ({x_min}, {y_min}, {x_max}, {y_max}) mm"
            )
        if not valid.all():
            idx = ndimage.distance_transform_edt(
                ~valid, return_distances=False, return_indices=True
            )
            heights = heights[idx[0], idx[1]]
        return cls(heights, (x_min, y_min), spacing_mm)

    # ------------------------------------------------------------------ queries

    @property
    def shape(self) -> tuple[int, int]:
        """Grid size ``(nx, ny)``."""
        return self.heights_mm.shape  # type: ignore[return-value]

    @property
    def bounds_xy_mm(self) -> tuple[float, float, float, float]:
        """Sampled region ``(x_min, y_min, x_max, y_max)``, mm (node centres)."""
        nx, ny = self.shape
        x0, y0 = self.origin_xy_mm
        return (x0, y0, x0 + (nx - 1) * self.spacing_mm, y0 + (ny - 1) * self.spacing_mm)

    def height_mm(self, x_mm: float | np.ndarray, y_mm: float | np.ndarray) -> float | np.ndarray:
        """Skin depth ``h(x, y)``, mm (bilinear, clamped at the grid edges).

        Parameters
        ----------
        x_mm, y_mm : float or array_like
            World xy, mm; arrays broadcast together.

        Returns
        -------
        float, or ndarray of the broadcast shape (float64)
        """
        x = np.asarray(x_mm, dtype=np.float64)
        y = np.asarray(y_mm, dtype=np.float64)
        h = self._bilinear(x, y)
        return float(h) if h.ndim == 0 else h

    def normals(self, x_mm: float | np.ndarray, y_mm: float | np.ndarray) -> np.ndarray:
        """Unit skin normals pointing into the body, shape ``broadcast(x, y).shape + (3,)``.

        Central differences of the bilinear surface over one grid spacing
        either side: ``n = (-dh/dx, -dh/dy, 1) / norm``.
        """
        x = np.asarray(x_mm, dtype=np.float64)
        y = np.asarray(y_mm, dtype=np.float64)
        d = self.spacing_mm
        gx = (self._bilinear(x + d, y) - self._bilinear(x - d, y)) / (2.0 * d)
        gy = (self._bilinear(x, y + d) - self._bilinear(x, y - d)) / (2.0 * d)
        gx, gy = np.broadcast_arrays(gx, gy)
        n = np.stack([-gx, -gy, np.ones_like(gx)], axis=-1)
        return n / np.linalg.norm(n, axis=-1, keepdims=True)

    def normal(self, x_mm: float, y_mm: float) -> np.ndarray:
        """Unit skin normal at one point, pointing into the body (+z for a flat skin).

        Returns
        -------
        ndarray, shape (3,), float64
        """
        return self.normals(float(x_mm), float(y_mm))

    def surface_frame(self, x_mm: float, y_mm: float, yaw_deg: float) -> np.ndarray:
        """Probe base orientation on the skin at (x, y) for a yaw.

        Third column: the inward normal ``n``. First column: the yaw
        direction ``d = (cos yaw, sin yaw, 0)`` projected on the tangent plane
        along z, i.e. the tangent vector straight above/below ``d``
        (``d + (grad h . d) e_z``, normalised), so the array's footprint on
        the xy plane points along the yaw exactly and
        ``ProbeHandle.slide`` moves along it. Second: ``n x first``
        (right-handed). On a flat skin this is exactly
        ``simulator.probe.rotation_deg(yaw_deg, 0, 0)``.

        Returns
        -------
        ndarray, shape (3, 3), float64
            Rotation matrix (columns are the probe x, y, z axes in world).
        """
        n = self.normal(x_mm, y_mm)
        if n[0] == 0.0 and n[1] == 0.0:
            return rotation_deg(yaw_deg, 0.0, 0.0)
        a = math.radians(yaw_deg)
        d = np.array([math.cos(a), math.sin(a), 0.0])
        # grad h = (-n_x / n_z, -n_y / n_z); n_z > 0 for a height field
        ax = d + np.array([0.0, 0.0, -(n[0] * d[0] + n[1] * d[1]) / n[2]])
        ax /= np.linalg.norm(ax)
        ay = np.cross(n, ax)
        return np.column_stack([ax, ay, n])

    # ------------------------------------------------------------------ internals

    def _bilinear(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Bilinear interpolation of the node heights, clamped at the edges."""
        nx, ny = self.shape
        fx = np.clip((x - self.origin_xy_mm[0]) / self.spacing_mm, 0.0, nx - 1.0)
        fy = np.clip((y - self.origin_xy_mm[1]) / self.spacing_mm, 0.0, ny - 1.0)
        i = np.minimum(np.floor(fx).astype(np.intp), nx - 2)
        j = np.minimum(np.floor(fy).astype(np.intp), ny - 2)
        tx = fx - i
        ty = fy - j
        h = self.heights_mm
        z00, z10, z01, z11 = h[i, j], h[i + 1, j], h[i, j + 1], h[i + 1, j + 1]
        # a + t (b - a): exact for a constant surface
        h0 = z00 + tx * (z10 - z00)
        h1 = z01 + tx * (z11 - z01)
        return h0 + ty * (h1 - h0)

    def __repr__(self) -> str:
        x0, y0, x1, y1 = self.bounds_xy_mm
        return (
            f"SkinSurface({self.shape[0]}x{self.shape[1]} nodes at {self.spacing_mm} mm over "
            f"x {x0:.1f}..{x1:.1f}, y {y0:.1f}..{y1:.1f} mm; z {self.heights_mm.min():.2f}.."
            f"{self.heights_mm.max():.2f} mm)"
        )


def _rasterise_min_z(
    verts: np.ndarray,
    tris: np.ndarray,
    origin_xy: tuple[float, float],
    spacing: float,
    shape: tuple[int, int],
) -> np.ndarray:
    """Smallest z of the triangles above each grid node (inf where none).

    Each triangle is tested against the grid nodes of its xy bounding box;
    the (triangle, node) pairs are generated in chunks of at most
    ``CHUNK_PAIRS`` (one triangle alone may exceed it, up to the grid size).

    Returns
    -------
    ndarray, shape (nx, ny), float64
    """
    nx, ny = shape
    out = np.full(nx * ny, np.inf)
    if len(tris) == 0:
        return out.reshape(shape)
    a, b, c = verts[tris[:, 0]], verts[tris[:, 1]], verts[tris[:, 2]]
    e1 = b - a
    e2 = c - a
    det = e1[:, 0] * e2[:, 1] - e2[:, 0] * e1[:, 1]
    scale = np.sum(e1[:, :2] ** 2, axis=1) + np.sum(e2[:, :2] ** 2, axis=1)
    keep = np.abs(det) > 1e-12 * np.maximum(scale, 1e-300)  # vertical faces are invisible
    lo = (np.minimum(np.minimum(a, b), c)[:, :2] - origin_xy) / spacing
    hi = (np.maximum(np.maximum(a, b), c)[:, :2] - origin_xy) / spacing
    i0 = np.maximum(np.ceil(lo[:, 0] - 1e-7), 0).astype(np.int64)
    i1 = np.minimum(np.floor(hi[:, 0] + 1e-7), nx - 1).astype(np.int64)
    j0 = np.maximum(np.ceil(lo[:, 1] - 1e-7), 0).astype(np.int64)
    j1 = np.minimum(np.floor(hi[:, 1] + 1e-7), ny - 1).astype(np.int64)
    ni = np.maximum(i1 - i0 + 1, 0)
    nj = np.maximum(j1 - j0 + 1, 0)
    counts = np.where(keep, ni * nj, 0)
    ids = np.flatnonzero(counts)
    if ids.size == 0:
        return out.reshape(shape)
    cum = np.cumsum(counts[ids])
    start = 0
    while start < ids.size:
        base = cum[start - 1] if start else 0
        stop = max(int(np.searchsorted(cum, base + CHUNK_PAIRS, side="right")), start + 1)
        t = ids[start:stop]
        cnt = counts[t]
        tri = np.repeat(np.arange(t.size), cnt)
        first = np.cumsum(cnt) - cnt
        k = np.arange(int(cnt.sum()), dtype=np.int64) - first[tri]
        nj_t = nj[t][tri]
        ii = i0[t][tri] + k // nj_t
        jj = j0[t][tri] + k % nj_t
        tg = t[tri]
        wx = origin_xy[0] + ii * spacing - a[tg, 0]
        wy = origin_xy[1] + jj * spacing - a[tg, 1]
        inv = 1.0 / det[tg]
        u = (wx * e2[tg, 1] - e2[tg, 0] * wy) * inv
        v = (e1[tg, 0] * wy - wx * e1[tg, 1]) * inv
        inside = (u >= -_BARY_EPS) & (v >= -_BARY_EPS) & (u + v <= 1.0 + _BARY_EPS)
        tg, u, v = tg[inside], u[inside], v[inside]
        z = a[tg, 2] + u * e1[tg, 2] + v * e2[tg, 2]
        np.minimum.at(out, ii[inside] * ny + jj[inside], z)
        start = stop
    return out.reshape(shape)
