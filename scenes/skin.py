"""A scene's skin surface, for keeping the probe on the body.

Reads the mesh(es) of the structures whose tissue is ``"skin"`` and samples
their top (the surface seen from above, smallest z) as a
:class:`simulator.skin.SkinSurface` over the scene's xy bounds.
"""

from __future__ import annotations

import numpy as np
from vtkmodules.util import numpy_support
from vtkmodules.vtkCommonDataModel import vtkPolyData
from vtkmodules.vtkFiltersCore import vtkTriangleFilter

from scenes.cache import Scene
from scenes.errors import SceneError
from simulator.skin import SkinSurface

#: Tissue key of the structures that make the skin.
SKIN_TISSUE = "skin"


def triangles_of(polydata: vtkPolyData) -> tuple[np.ndarray, np.ndarray]:
    """Vertices and triangles of a surface mesh (triangulated first if needed).

    Returns
    -------
    vertices_mm : ndarray, shape (n, 3), float64
    faces : ndarray, shape (m, 3), int64
    """
    poly = polydata
    polys = poly.GetPolys()
    offsets = numpy_support.vtk_to_numpy(polys.GetOffsetsArray())
    if poly.GetNumberOfStrips() or (offsets.size > 1 and np.any(np.diff(offsets) != 3)):
        tri = vtkTriangleFilter()
        tri.SetInputData(poly)
        tri.PassVertsOff()
        tri.PassLinesOff()
        tri.Update()
        poly = tri.GetOutput()
        polys = poly.GetPolys()
    if poly.GetNumberOfPoints() == 0 or polys.GetNumberOfCells() == 0:
        return np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64)
    vertices = numpy_support.vtk_to_numpy(poly.GetPoints().GetData()).astype(np.float64)
    conn = numpy_support.vtk_to_numpy(polys.GetConnectivityArray()).astype(np.int64)
    return vertices, conn.reshape(-1, 3)


def skin_surface(scene: Scene, spacing_mm: float = 0.5) -> SkinSurface:
    """The skin of a scene as a height field over its xy bounds.

    Parameters
    ----------
    scene : scenes.Scene
        A loaded scene; its structures with tissue ``"skin"`` are used (all
        of them, the topmost surface wins).
    spacing_mm : float
        Grid spacing of the height field, mm.

    Returns
    -------
    SkinSurface
        Sampled over ``bounds_min_mm[:2] .. bounds_max_mm[:2]``. A scene with
        no skin structure (phantoms) gets a flat skin at z = 0, or at the top
        of the volume when the volume starts deeper than 0.

    Raises
    ------
    SceneError
        The skin meshes show no surface from above inside the scene bounds.
    """
    spec = scene.spec
    names = [s.name for s in spec.structures if s.tissue == SKIN_TISSUE]
    if not names:
        return SkinSurface.flat(max(0.0, float(spec.bounds_min_mm[2])))
    verts_list: list[np.ndarray] = []
    faces_list: list[np.ndarray] = []
    offset = 0
    for name in names:
        v, f = triangles_of(scene.meshes[name])
        verts_list.append(v)
        faces_list.append(f + offset)
        offset += len(v)
    bounds = (
        float(spec.bounds_min_mm[0]),
        float(spec.bounds_min_mm[1]),
        float(spec.bounds_max_mm[0]),
        float(spec.bounds_max_mm[1]),
    )
    try:
        return SkinSurface.from_triangles(
            np.concatenate(verts_list), np.concatenate(faces_list), spacing_mm, bounds
        )
    except ValueError as exc:
        raise SceneError(
            f"scene {spec.name!r}: skin structure(s) {', '.join(names)}: {exc}"
        ) from None
