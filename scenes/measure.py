"""Sizes of meshed structures, measured on their surfaces.

The ``[[dimensions]]`` of a procedure scene state sizes (a tendon's
thickness, a nerve's cross-sectional area) with their sources; these
functions measure the same quantities on the committed meshes so the tests
can hold the meshes to the stated values.
"""

from __future__ import annotations

import numpy as np
from vtkmodules.util.numpy_support import vtk_to_numpy
from vtkmodules.vtkCommonDataModel import vtkPlane, vtkPolyData
from vtkmodules.vtkFiltersCore import vtkCutter, vtkStripper


def chord_mm(mesh: vtkPolyData, at_mm: np.ndarray, axis: np.ndarray) -> float:
    """Length of the straight chord through ``at_mm`` along ``axis`` inside ``mesh``.

    Parameters
    ----------
    mesh : vtkPolyData
        Closed surface.
    at_mm : ndarray, shape (3,)
        A point inside the structure, mm.
    axis : ndarray, shape (3,)
        Chord direction (any length).

    Returns
    -------
    float
        Distance between the surface crossings just before and just after
        ``at_mm``, mm; NaN when the point is not enclosed.
    """
    at = np.asarray(at_mm, dtype=np.float64)
    d = np.asarray(axis, dtype=np.float64)
    d = d / np.linalg.norm(d)
    t = np.sort(_line_hits(mesh, at, d))
    before, after = t[t <= 0.0], t[t > 0.0]
    if before.size == 0 or after.size == 0:
        return float("nan")
    return float(after[0] - before[-1])


def _line_hits(mesh: vtkPolyData, origin: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """Signed distances along the infinite line where it crosses the surface.

    Moller-Trumbore against every triangle at once; a crossing exactly
    through an edge or a vertex, found once per triangle sharing it, is
    counted once.
    """
    pts = vtk_to_numpy(mesh.GetPoints().GetData()).astype(np.float64)
    tri = vtk_to_numpy(mesh.GetPolys().GetConnectivityArray()).reshape(-1, 3)
    p0, e1, e2 = pts[tri[:, 0]], pts[tri[:, 1]] - pts[tri[:, 0]], pts[tri[:, 2]] - pts[tri[:, 0]]
    h = np.cross(direction, e2)
    a = np.einsum("ij,ij->i", e1, h)
    ok = np.abs(a) > 1e-12
    f = np.zeros_like(a)
    f[ok] = 1.0 / a[ok]
    s = origin - p0
    u = f * np.einsum("ij,ij->i", s, h)
    q = np.cross(s, e1)
    v = f * (q @ direction)
    t = f * np.einsum("ij,ij->i", e2, q)
    eps = 1e-9
    hit = ok & (u >= -eps) & (v >= -eps) & (u + v <= 1.0 + eps)
    t = np.sort(t[hit])
    if t.size:
        t = t[np.concatenate([[True], np.diff(t) > 1e-6])]
    return t


def section_area_mm2(mesh: vtkPolyData, at_mm: np.ndarray, normal: np.ndarray) -> float:
    """Area of the mesh's cross-section loop that encloses ``at_mm``.

    The mesh is cut by the plane through ``at_mm`` with the given normal;
    of the closed loops of the cut, the one containing the point is measured
    (other components of a merged mesh are ignored).

    Returns
    -------
    float
        Area in mm², NaN when no loop encloses the point.
    """
    at = np.asarray(at_mm, dtype=np.float64)
    n = np.asarray(normal, dtype=np.float64)
    n = n / np.linalg.norm(n)
    plane = vtkPlane()
    plane.SetOrigin(*at)
    plane.SetNormal(*n)
    cutter = vtkCutter()
    cutter.SetInputData(mesh)
    cutter.SetCutFunction(plane)
    stripper = vtkStripper()
    stripper.SetInputConnection(cutter.GetOutputPort())
    stripper.JoinContiguousSegmentsOn()
    stripper.Update()
    out = stripper.GetOutput()
    if out.GetNumberOfPoints() == 0:
        return float("nan")
    pts = vtk_to_numpy(out.GetPoints().GetData()).astype(np.float64)
    u = np.cross(n, [1.0, 0.0, 0.0] if abs(n[0]) < 0.9 else [0.0, 1.0, 0.0])
    u /= np.linalg.norm(u)
    v = np.cross(n, u)
    uv = np.stack([(pts - at) @ u, (pts - at) @ v], axis=1)
    lines = out.GetLines()
    conn = vtk_to_numpy(lines.GetConnectivityArray())
    offsets = vtk_to_numpy(lines.GetOffsetsArray())
    for k in range(len(offsets) - 1):
        loop = uv[conn[offsets[k] : offsets[k + 1]]]
        if _contains_origin(loop):
            x, y = loop[:, 0], loop[:, 1]
            return float(0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))
    return float("nan")


def _contains_origin(loop: np.ndarray) -> bool:
    """Even-odd test of the point (0, 0) against a closed polygon (k, 2)."""
    x, y = loop[:, 0], loop[:, 1]
    x2, y2 = np.roll(x, -1), np.roll(y, -1)
    crosses = (y > 0) != (y2 > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        xi = x + (0.0 - y) * (x2 - x) / (y2 - y)
    return bool(np.count_nonzero(crosses & (xi > 0)) % 2)
