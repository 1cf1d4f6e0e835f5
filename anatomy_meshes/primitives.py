"""Shape primitives of the anatomy authoring program, built with NumPy.

Every function returns a closed, consistently oriented (outward normals)
triangle surface as ``vtkPolyData`` in millimetres, world frame (+z is depth,
skin at z = 0). The work-horse is ``loft``: a cross-section (ellipse or
rounded rectangle) swept along a smooth path through named stations, with
its size varying from station to station. Tendons, ligaments, nerves,
vessels, muscle bellies, bursae, fat pads and long bones are all lofts;
bone ends, joint recesses and cysts are ellipsoids; skin, fat and muscle
layers are boxes.

The output depends only on the parameters (no randomness, no threads), so
regenerating a mesh file gives identical bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.interpolate import PchipInterpolator
from vtkmodules.util.numpy_support import numpy_to_vtk, numpy_to_vtkIdTypeArray
from vtkmodules.vtkCommonCore import vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData
from vtkmodules.vtkIOXML import vtkXMLPolyDataWriter

Vec3 = tuple[float, float, float]


@dataclass(frozen=True)
class Station:
    """One cross-section of a loft.

    Attributes
    ----------
    centre_mm : tuple of 3 float
        Centre of the cross-section, world frame, mm.
    half_width_mm : float
        Semi-axis along the loft's width direction, mm.
    half_height_mm : float
        Semi-axis along the third direction (tangent x width), mm. For a
        structure running parallel to the skin with ``width_dir`` parallel
        to the skin, this is half its thickness in depth.
    """

    centre_mm: Vec3
    half_width_mm: float
    half_height_mm: float


def polydata(points: np.ndarray, triangles: np.ndarray) -> vtkPolyData:
    """``vtkPolyData`` from arrays.

    Parameters
    ----------
    points : ndarray, shape (n, 3)
        Vertex positions, mm (stored as float32).
    triangles : ndarray, shape (m, 3) int
        Vertex indices of each triangle.
    """
    pts = vtkPoints()
    pts.SetData(numpy_to_vtk(np.ascontiguousarray(points, dtype=np.float32), deep=True))
    tri = np.asarray(triangles, dtype=np.int64)
    offsets = np.arange(0, 3 * tri.shape[0] + 1, 3, dtype=np.int64)
    cells = vtkCellArray()
    cells.SetData(
        numpy_to_vtkIdTypeArray(offsets, deep=True),
        numpy_to_vtkIdTypeArray(np.ascontiguousarray(tri.ravel()), deep=True),
    )
    out = vtkPolyData()
    out.SetPoints(pts)
    out.SetPolys(cells)
    return out


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _section_profile(n_around: int, exponent: float) -> tuple[np.ndarray, np.ndarray]:
    """Unit superellipse ``|u|^p + |v|^p = 1`` sampled at ``n_around`` angles."""
    theta = 2.0 * np.pi * np.arange(n_around) / n_around
    c, s = np.cos(theta), np.sin(theta)
    e = 2.0 / exponent
    return np.sign(c) * np.abs(c) ** e, np.sign(s) * np.abs(s) ** e


def _resample_path(
    stations: Sequence[Station], step_mm: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Smooth path through the stations: centres (k, 3), half widths, half heights."""
    centres = np.array([s.centre_mm for s in stations], dtype=np.float64)
    widths = np.array([s.half_width_mm for s in stations], dtype=np.float64)
    heights = np.array([s.half_height_mm for s in stations], dtype=np.float64)
    seg = np.linalg.norm(np.diff(centres, axis=0), axis=1)
    if np.any(seg <= 0.0):
        raise ValueError("loft stations must be distinct points")
    arc = np.concatenate([[0.0], np.cumsum(seg)])
    n = max(int(np.ceil(arc[-1] / step_mm)), len(stations) - 1, 1) + 1
    t = np.linspace(0.0, arc[-1], n)
    if len(stations) == 2:
        frac = t / arc[-1]
        return (
            centres[0] + frac[:, None] * (centres[1] - centres[0]),
            np.interp(t, arc, widths),
            np.interp(t, arc, heights),
        )
    return (
        PchipInterpolator(arc, centres, axis=0)(t),
        PchipInterpolator(arc, widths)(t),
        PchipInterpolator(arc, heights)(t),
    )


def _frames(
    centres: np.ndarray, width_dir: Vec3 | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tangent, width axis and height axis at each path point, each (k, 3).

    ``width_dir`` None: the width axis is horizontal (parallel to the skin),
    ``depth x tangent``; for a path running straight down, world x.
    """
    tangent = np.gradient(centres, axis=0)
    tangent = _unit(tangent)
    if width_dir is None:
        w = np.cross(np.array([0.0, 0.0, 1.0]), tangent)
        w[np.linalg.norm(w, axis=1) < 1e-6] = (1.0, 0.0, 0.0)
        u = w - np.einsum("ij,ij->i", tangent, w)[:, None] * tangent
    else:
        w = np.asarray(width_dir, dtype=np.float64)
        u = w - (tangent @ w)[:, None] * tangent
    if np.any(np.linalg.norm(u, axis=1) < 1e-6):
        raise ValueError(f"width_dir {width_dir} is parallel to the loft path somewhere")
    u = _unit(u)
    v = np.cross(tangent, u)
    return tangent, u, v


def loft(
    stations: Sequence[Station],
    width_dir: Vec3 | None = None,
    *,
    exponent: float = 2.0,
    n_around: int = 40,
    step_mm: float = 1.0,
    round_ends: bool = True,
) -> vtkPolyData:
    """Closed tube whose cross-section is swept along a smooth path.

    Parameters
    ----------
    stations : sequence of Station
        At least 2; the path is a monotone cubic (PCHIP) through their
        centres, the semi-axes interpolate the same way.
    width_dir : tuple of 3 float or None
        World direction of the cross-section's width axis (projected
        perpendicular to the path at each point). None: horizontal (parallel
        to the skin) and perpendicular to the path, so ``half_height_mm`` is
        half the thickness in depth of a structure running under the skin.
    exponent : float
        Superellipse exponent of the cross-section: 2 is an ellipse, 4-8 a
        rounded rectangle (flat tendons, fascia, bone plates).
    n_around : int
        Vertices per cross-section.
    step_mm : float
        Path sampling step, mm.
    round_ends : bool
        Close each end with a half-ellipsoid dome whose length is the
        smaller semi-axis there (True), or with a flat cap (False).

    Returns
    -------
    vtkPolyData
        Closed, outward-oriented triangle surface.
    """
    if len(stations) < 2:
        raise ValueError("a loft needs at least 2 stations")
    centres, hw, hh = _resample_path(stations, step_mm)
    tangent, u, v = _frames(centres, width_dir)
    pu, pv = _section_profile(n_around, exponent)
    scale = np.ones(len(centres))
    if round_ends:
        centres, hw, hh, tangent, u, v, scale = _add_domes(centres, hw, hh, tangent, u, v)
    rings = (
        centres[:, None, :]
        + (scale * hw)[:, None, None] * pu[None, :, None] * u[:, None, :]
        + (scale * hh)[:, None, None] * pv[None, :, None] * v[:, None, :]
    )
    return _close_tube(rings, centres[0], centres[-1])


def _add_domes(
    centres: np.ndarray,
    hw: np.ndarray,
    hh: np.ndarray,
    tangent: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    n_dome: int = 8,
) -> tuple[np.ndarray, ...]:
    """Extend both ends with shrinking rings (a half-ellipsoid) before capping."""
    out = [centres, hw, hh, tangent, u, v, np.ones(len(centres))]
    for end, sign in ((0, -1.0), (-1, 1.0)):
        length = min(hw[end], hh[end])
        angle = np.linspace(0.0, 0.5 * np.pi, n_dome + 1)[1:]
        angle[-1] = 0.5 * np.pi * 0.995  # keep a tiny last ring: no degenerate triangles
        offs = sign * length * np.sin(angle)
        extra = [
            centres[end] + offs[:, None] * tangent[end],
            np.full(n_dome, hw[end]),
            np.full(n_dome, hh[end]),
            np.repeat(tangent[end][None], n_dome, 0),
            np.repeat(u[end][None], n_dome, 0),
            np.repeat(v[end][None], n_dome, 0),
            np.cos(angle),
        ]
        for i, arr in enumerate(extra):
            if end == 0:
                out[i] = np.concatenate([arr[::-1], out[i]])
            else:
                out[i] = np.concatenate([out[i], arr])
    return tuple(out)


def _close_tube(
    rings: np.ndarray, first_centre: np.ndarray, last_centre: np.ndarray
) -> vtkPolyData:
    """Triangulate rings (k, m, 3) into a tube closed by a fan at each end."""
    k, m, _ = rings.shape
    pts = np.concatenate([rings.reshape(-1, 3), first_centre[None], last_centre[None]])
    i = np.arange(k - 1)[:, None] * m
    j = np.arange(m)[None, :]
    jn = (j + 1) % m
    a, b, c, d = i + j, i + jn, i + m + j, i + m + jn
    side = np.concatenate(
        [np.stack([a, c, b], -1).reshape(-1, 3), np.stack([b, c, d], -1).reshape(-1, 3)]
    )
    start, end = k * m, k * m + 1
    jj = np.arange(m)
    cap0 = np.stack([np.full(m, start), jj, (jj + 1) % m], -1)
    last = (k - 1) * m
    cap1 = np.stack([np.full(m, end), last + (jj + 1) % m, last + jj], -1)
    tris = np.concatenate([side, cap0, cap1])
    tris = _orient_outward(pts, tris)
    return polydata(pts, tris)


def _orient_outward(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Flip every triangle when the enclosed signed volume is negative."""
    p0, p1, p2 = (points[triangles[:, i]] for i in range(3))
    signed = np.einsum("ij,ij->i", p0, np.cross(p1, p2)).sum() / 6.0
    return triangles if signed > 0 else triangles[:, ::-1].copy()


def rotation_matrix(angles_deg: Vec3) -> np.ndarray:
    """Rotation ``Rz @ Ry @ Rx`` from angles about x, y, z (degrees), shape (3, 3)."""
    ax, ay, az = np.radians(angles_deg)
    cx, sx, cy, sy, cz, sz = np.cos(ax), np.sin(ax), np.cos(ay), np.sin(ay), np.cos(az), np.sin(az)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ ry @ rx


def ellipsoid(
    centre_mm: Vec3,
    radii_mm: Vec3,
    rotation_deg: Vec3 = (0.0, 0.0, 0.0),
    *,
    exponent: float = 2.0,
    n_around: int = 48,
    n_rings: int = 24,
) -> vtkPolyData:
    """Closed (super)ellipsoid.

    Parameters
    ----------
    centre_mm : tuple of 3 float
        Centre, mm.
    radii_mm : tuple of 3 float
        Semi-axes along the body x, y, z axes before rotation, mm.
    rotation_deg : tuple of 3 float
        Rotation about world x, y, z (applied x first), degrees.
    exponent : float
        2 for an ellipsoid; larger values flatten it towards a rounded box.
    n_around, n_rings : int
        Facets around the body z axis and from pole to pole.
    """
    e = 2.0 / exponent
    polar = np.linspace(0.0, np.pi, n_rings + 1)[1:-1]
    az = 2.0 * np.pi * np.arange(n_around) / n_around
    sp, cp = np.sin(polar), np.cos(polar)
    ca, sa = np.cos(az), np.sin(az)

    def sgnpow(x: np.ndarray) -> np.ndarray:
        return np.sign(x) * np.abs(x) ** e

    x = sgnpow(sp)[:, None] * sgnpow(ca)[None, :]
    y = sgnpow(sp)[:, None] * sgnpow(sa)[None, :]
    z = np.repeat(sgnpow(cp)[:, None], n_around, 1)
    body = np.stack([x, y, z], -1) * np.asarray(radii_mm)
    rot = rotation_matrix(rotation_deg)
    centre = np.asarray(centre_mm, dtype=np.float64)
    rings = body @ rot.T + centre
    top = centre + rot @ np.array([0.0, 0.0, radii_mm[2]])
    bottom = centre + rot @ np.array([0.0, 0.0, -radii_mm[2]])
    return _close_tube(rings, top, bottom)


def box(bounds_mm: tuple[float, float, float, float, float, float]) -> vtkPolyData:
    """Closed axis-aligned box ``(xmin, xmax, ymin, ymax, zmin, zmax)``, 12 triangles."""
    x0, x1, y0, y1, z0, z1 = bounds_mm
    pts = np.array(
        [[x, y, z] for z in (z0, z1) for y in (y0, y1) for x in (x0, x1)], dtype=np.float64
    )
    quads = [(0, 2, 3, 1), (4, 5, 7, 6), (0, 1, 5, 4), (2, 6, 7, 3), (0, 4, 6, 2), (1, 3, 7, 5)]
    tris = np.array([t for q in quads for t in ((q[0], q[1], q[2]), (q[0], q[2], q[3]))])
    return polydata(pts, _orient_outward(pts, tris))


def fascicles(
    stations: Sequence[Station],
    width_dir: Vec3 | None,
    n_fascicles: int,
    fill_fraction: float = 0.55,
    *,
    n_around: int = 12,
    step_mm: float = 1.5,
) -> list[vtkPolyData]:
    """Fascicles of a nerve: ``n_fascicles`` thin tubes inside the nerve loft.

    Centres follow a sunflower (Vogel) pattern over the elliptic
    cross-section, so the pattern is deterministic and evenly filled; each
    fascicle's radius makes the fascicles cover ``fill_fraction`` of the
    nerve's cross-sectional area (about half in peripheral nerves).

    Returns
    -------
    list of vtkPolyData
        One closed tube per fascicle; pass them to ``merge``.
    """
    golden = np.pi * (3.0 - np.sqrt(5.0))
    idx = np.arange(n_fascicles)
    r = np.sqrt((idx + 0.5) / n_fascicles) * 0.72
    ang = idx * golden
    du, dv = r * np.cos(ang), r * np.sin(ang)
    radius_frac = np.sqrt(fill_fraction / n_fascicles)
    centres = np.array([s.centre_mm for s in stations], dtype=np.float64)
    _, u, v = _frames(centres, width_dir)
    out = []
    for k in range(n_fascicles):
        sub = []
        for s, uu, vv in zip(stations, u, v, strict=True):
            c = (
                np.asarray(s.centre_mm)
                + du[k] * s.half_width_mm * uu
                + dv[k] * s.half_height_mm * vv
            )
            rad = radius_frac * np.sqrt(s.half_width_mm * s.half_height_mm)
            sub.append(Station(tuple(c), rad, rad))
        out.append(loft(sub, width_dir, n_around=n_around, step_mm=step_mm))
    return out


def nerve_core(
    stations: Sequence[Station],
    rim_mm: float,
    width_dir: Vec3 | None = None,
    **loft_kwargs,
) -> vtkPolyData:
    """The fascicular core of a nerve: the nerve's own loft inset by ``rim_mm``.

    A peripheral nerve is fascicles and interfascicular epineurium inside a
    thin outer (epifascicular) epineurium; on ultrasound the interior is the
    honeycomb (dark fascicles in bright interfascicular epineurium, drawn by
    the ``nerve`` tissue's texture) and the outer epineurium with the
    perineural fat the thin echogenic rim around it ("surrounded by an
    echogenic rim representing the epifascicular epineurium and the
    perineurial fatty tissue": checkpointsignaling.com/in-normal-weight-
    people-all-major-nerves-of-the-extremities-e-g; Sci Rep 2024 s41598-024-84396-y
    Table 1: fascicles 0.55 and interfascicular epineurium 0.45 of the
    median nerve's CSA, both inside the outer epineurium). Give the nerve's
    stations and loft keywords; the core is the same loft, both semi-axes
    ``rim_mm`` smaller, so nerve (outer) minus core is a rim ``rim_mm`` thick.
    """
    inset = [
        Station(s.centre_mm, s.half_width_mm - rim_mm, s.half_height_mm - rim_mm) for s in stations
    ]
    if min(min(s.half_width_mm, s.half_height_mm) for s in inset) <= 0:
        raise ValueError(f"nerve_core: rim {rim_mm} mm leaves no core")
    return loft(inset, width_dir, **loft_kwargs)


def merge(parts: Sequence[vtkPolyData]) -> vtkPolyData:
    """One polydata of several disjoint closed surfaces (they must not overlap)."""
    points, tris, offset = [], [], 0
    from vtkmodules.util.numpy_support import vtk_to_numpy

    for part in parts:
        p = vtk_to_numpy(part.GetPoints().GetData()).astype(np.float64)
        conn = vtk_to_numpy(part.GetPolys().GetConnectivityArray()).reshape(-1, 3)
        points.append(p)
        tris.append(conn + offset)
        offset += p.shape[0]
    return polydata(np.concatenate(points), np.concatenate(tris))


def write_mesh(mesh: vtkPolyData, path: Path, *, compressed: bool = True) -> None:
    """Write ``mesh`` as binary (raw appended) VTK XML PolyData (``.vtp``).

    ``compressed`` (the procedure meshes): zlib with 32-bit headers and ids,
    which keeps the committed files small; otherwise uncompressed with 64-bit
    headers (the phantom and demo meshes, written so since issue 2). The
    bytes depend only on the mesh, so regeneration is byte-identical.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = vtkXMLPolyDataWriter()
    writer.SetFileName(str(path))
    writer.SetInputData(mesh)
    writer.SetDataModeToAppended()
    writer.EncodeAppendedDataOff()
    if compressed:
        writer.SetCompressorTypeToZLib()
        writer.SetHeaderTypeToUInt32()
        writer.SetIdTypeToInt32()
    else:
        writer.SetCompressorTypeToNone()
        writer.SetHeaderTypeToUInt64()
    if writer.Write() != 1:
        raise OSError(f"could not write mesh file {path}")
