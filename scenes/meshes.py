"""Reading surface meshes and checking that they are closed.

Supported formats, chosen by the (case-insensitive) extension: ``.vtp``
(VTK XML PolyData), ``.stl``, ``.obj`` and ``.ply``. Meshes are in scene
millimetres. Every mesh is triangulated and its duplicate points merged, so
an STL (one copy of each point per triangle) becomes a connected surface.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from vtkmodules.util import numpy_support
from vtkmodules.vtkCommonCore import vtkCommand, vtkObject
from vtkmodules.vtkCommonDataModel import vtkPolyData
from vtkmodules.vtkFiltersCore import vtkCleanPolyData, vtkFeatureEdges, vtkTriangleFilter
from vtkmodules.vtkIOGeometry import vtkOBJReader, vtkSTLReader
from vtkmodules.vtkIOPLY import vtkPLYReader
from vtkmodules.vtkIOXML import vtkXMLPolyDataReader

#: Extension (lower case, with dot) -> VTK reader class.
READERS = {
    ".vtp": vtkXMLPolyDataReader,
    ".stl": vtkSTLReader,
    ".obj": vtkOBJReader,
    ".ply": vtkPLYReader,
}

_CACHE: dict[tuple[str, int, int], vtkPolyData] = {}
#: Serialises mesh reading and checking across threads: cached meshes are
#: shared, and VTK filters build links on their input (the scene loader and the
#: scene picker's validator read meshes on two worker threads at once).
_LOCK = threading.RLock()


class MeshError(ValueError):
    """A mesh file that cannot be used; the message names the file."""


@contextlib.contextmanager
def _quiet_vtk() -> Iterator[None]:
    """Silence VTK's message window (the caller checks the readers' results)."""
    previous = vtkObject.GetGlobalWarningDisplay()
    vtkObject.GlobalWarningDisplayOff()
    try:
        yield
    finally:
        vtkObject.SetGlobalWarningDisplay(previous)


def supported_extensions() -> tuple[str, ...]:
    """Mesh file extensions the reader understands, e.g. ``('.vtp', '.stl', ...)``."""
    return tuple(READERS)


def read_mesh(path: str | Path) -> vtkPolyData:
    """Read a triangle surface mesh.

    Parameters
    ----------
    path : str or Path
        Mesh file (.vtp, .stl, .obj, .ply; any case), coordinates in mm.

    Returns
    -------
    vtkPolyData
        Triangles only, duplicate points merged. Cached per (path, mtime,
        size) within the process: treat it as read-only.

    Raises
    ------
    MeshError
        Unknown extension, missing, unreadable or empty file.
    """
    path = Path(path).resolve()
    ext = path.suffix.lower()
    if ext not in READERS:
        raise MeshError(
            f"mesh file '{path}': unsupported extension {path.suffix!r}; "
            f"supported: {', '.join(READERS)}"
        )
    try:
        stat = path.stat()
    except OSError as exc:
        raise MeshError(f"mesh file '{path}': cannot read it ({exc.strerror})") from None
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    with _LOCK:
        cached = _CACHE.get(key)
        if cached is not None:
            return cached
        polydata = _read_uncached(path, ext)
        for old in [k for k in _CACHE if k[0] == key[0]]:
            del _CACHE[old]
        _CACHE[key] = polydata
        return polydata


def _read_uncached(path: Path, ext: str) -> vtkPolyData:
    reader = READERS[ext]()
    reader.SetFileName(str(path))
    errors: list[str] = []
    reader.AddObserver(vtkCommand.ErrorEvent, lambda *_: errors.append("error"))
    with _quiet_vtk():
        reader.Update()
        tri = vtkTriangleFilter()
        tri.SetInputConnection(reader.GetOutputPort())
        tri.PassLinesOff()
        tri.PassVertsOff()
        clean = vtkCleanPolyData()
        clean.SetInputConnection(tri.GetOutputPort())
        clean.PointMergingOn()
        clean.Update()
    out = vtkPolyData()
    out.ShallowCopy(clean.GetOutput())
    if errors or out.GetNumberOfPolys() == 0:
        why = "VTK could not parse it" if errors else "it holds no surface triangles"
        raise MeshError(f"mesh file '{path}': unreadable or empty mesh ({why})")
    return out


def load_mesh(path: str | Path, matrix: np.ndarray | None = None) -> vtkPolyData:
    """``read_mesh``, then the scene's mesh-to-scene transform when there is one.

    Parameters
    ----------
    path : str or Path
        Mesh file.
    matrix : ndarray, shape (4, 4), optional
        ``SceneSpec.mesh_matrix``; None leaves the coordinates as they are.

    Returns
    -------
    vtkPolyData
        The caller's own copy (safe to hand to another thread).
    """
    mesh = read_mesh(path)
    with _LOCK:
        if matrix is None:
            # a private copy: VTK filters and mappers build links and cell tables
            # on their input, so threads must not share one polydata
            out = vtkPolyData()
            out.DeepCopy(mesh)
            return out
        return _transformed(mesh, matrix)


def _transformed(mesh: vtkPolyData, matrix: np.ndarray) -> vtkPolyData:
    pts = mesh_points(mesh)
    moved = pts @ matrix[:3, :3].T + matrix[:3, 3]
    out = vtkPolyData()
    out.DeepCopy(mesh)
    out.GetPoints().SetData(numpy_support.numpy_to_vtk(moved, deep=True))
    if np.linalg.det(matrix[:3, :3]) < 0:  # a mirror turns the surface inside out
        from vtkmodules.vtkFiltersCore import vtkReverseSense

        flip = vtkReverseSense()
        flip.SetInputData(out)
        flip.Update()
        out = flip.GetOutput()
    return out


def check_closed(polydata: vtkPolyData) -> tuple[int, int]:
    """Count the edges that keep a surface from being watertight.

    Parameters
    ----------
    polydata : vtkPolyData
        Triangle surface with merged points.

    Returns
    -------
    n_boundary_edges : int
        Edges used by one triangle only (holes).
    n_nonmanifold_edges : int
        Edges shared by more than two triangles.
    """
    with _LOCK:
        counts = _count_open_edges(polydata)
    return counts[0], counts[1]


def _count_open_edges(polydata: vtkPolyData) -> list[int]:
    counts = []
    for boundary in (True, False):
        edges = vtkFeatureEdges()
        edges.SetInputData(polydata)
        edges.FeatureEdgesOff()
        edges.ManifoldEdgesOff()
        edges.SetBoundaryEdges(boundary)
        edges.SetNonManifoldEdges(not boundary)
        edges.ColoringOff()
        edges.Update()
        counts.append(int(edges.GetOutput().GetNumberOfLines()))
    return counts


def mesh_points(polydata: vtkPolyData) -> np.ndarray:
    """Point coordinates, shape (n, 3) float64, mm."""
    return numpy_support.vtk_to_numpy(polydata.GetPoints().GetData()).astype(np.float64)


def principal_axis(polydata: vtkPolyData) -> np.ndarray:
    """Unit eigenvector of the largest eigenvalue of the point covariance.

    Sign fixed so that the largest-magnitude component is positive.

    Returns
    -------
    ndarray, shape (3,), float64
    """
    pts = mesh_points(polydata)
    centred = pts - pts.mean(axis=0)
    _, vecs = np.linalg.eigh(centred.T @ centred)
    axis = vecs[:, -1]
    if axis[np.argmax(np.abs(axis))] < 0:
        axis = -axis
    return axis / np.linalg.norm(axis)
