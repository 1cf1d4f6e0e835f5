"""Deterministic generator of the phantom meshes.

Run ``python -m anatomy_meshes.phantoms`` to (re)write the closed triangle
meshes of the test phantoms into ``anatomy_meshes/phantoms/``. Millimetres,
world frame, +z is depth (skin near z = 0). The files are uncompressed
binary VTK XML PolyData, so regenerating them gives identical bytes.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from pathlib import Path

from vtkmodules.vtkCommonDataModel import vtkPolyData
from vtkmodules.vtkCommonExecutionModel import vtkAlgorithm
from vtkmodules.vtkCommonTransforms import vtkTransform
from vtkmodules.vtkFiltersCore import vtkCleanPolyData, vtkTriangleFilter
from vtkmodules.vtkFiltersGeneral import vtkTransformFilter
from vtkmodules.vtkFiltersSources import vtkCubeSource, vtkCylinderSource, vtkSphereSource

from anatomy_meshes import MESH_DIR
from anatomy_meshes.primitives import write_mesh

#: Output folder of the phantom meshes.
PHANTOM_DIR: Path = MESH_DIR / "phantoms"


def finish_mesh(algorithm: vtkAlgorithm) -> vtkPolyData:
    """Triangulate, merge duplicate points and keep only points and triangles."""
    tri = vtkTriangleFilter()
    tri.SetInputConnection(algorithm.GetOutputPort())
    clean = vtkCleanPolyData()
    clean.SetInputConnection(tri.GetOutputPort())
    clean.PointMergingOn()
    clean.Update()
    src = clean.GetOutput()
    out = vtkPolyData()
    out.SetPoints(src.GetPoints())
    out.SetPolys(src.GetPolys())
    return out


#: Old private name, kept for importers.


def box_mesh(
    bounds_mm: tuple[float, float, float, float, float, float],
) -> vtkPolyData:
    """Closed box.

    Parameters
    ----------
    bounds_mm : tuple of 6 float
        ``(xmin, xmax, ymin, ymax, zmin, zmax)``, mm.

    Returns
    -------
    vtkPolyData
        12 triangles, 8 points.
    """
    cube = vtkCubeSource()
    cube.SetBounds(*bounds_mm)
    return finish_mesh(cube)


def sphere_mesh(
    centre_mm: tuple[float, float, float], radius_mm: float, resolution: int = 96
) -> vtkPolyData:
    """Closed UV sphere of ``resolution`` x ``resolution // 2`` facets."""
    sphere = vtkSphereSource()
    sphere.SetCenter(*centre_mm)
    sphere.SetRadius(radius_mm)
    sphere.SetThetaResolution(resolution)
    sphere.SetPhiResolution(max(resolution // 2, 8))
    return finish_mesh(sphere)


def capped_cylinder_source(
    radius_mm: float, length_mm: float, resolution: int
) -> vtkCylinderSource:
    """Capped cylinder source, axis along the world y axis, centred at the origin."""
    cyl = vtkCylinderSource()
    cyl.SetRadius(radius_mm)
    cyl.SetHeight(length_mm)
    cyl.SetResolution(resolution)
    cyl.CappingOn()
    return cyl


def cylinder_mesh_x(
    centre_mm: tuple[float, float, float],
    radius_mm: float,
    length_mm: float,
    resolution: int = 96,
) -> vtkPolyData:
    """Closed capped cylinder whose axis is the world x axis."""
    cyl = capped_cylinder_source(radius_mm, length_mm, resolution)
    transform = vtkTransform()
    transform.PostMultiply()
    transform.RotateZ(-90.0)  # source axis y -> world x
    transform.Translate(*centre_mm)
    move = vtkTransformFilter()
    move.SetInputConnection(cyl.GetOutputPort())
    move.SetTransform(transform)
    return finish_mesh(move)


def write_vtp(polydata: vtkPolyData, path: Path) -> None:
    """Write ``polydata`` as uncompressed binary (raw appended) VTK XML."""
    write_mesh(polydata, path, compressed=False)


#: File name -> builder of each phantom mesh.
PHANTOMS: dict[str, Callable[[], vtkPolyData]] = {
    "block.vtp": lambda: box_mesh((-30.0, 30.0, -30.0, 30.0, 0.0, 60.0)),
    "bone_slab.vtp": lambda: box_mesh((-6.0, 30.0, -20.0, 20.0, 20.0, 30.0)),
    "cyst.vtp": lambda: sphere_mesh((0.0, 0.0, 15.0), 5.0),
    "tendon.vtp": lambda: cylinder_mesh_x((0.0, 0.0, 10.0), 3.0, 60.0),
}


def generate(
    out_dir: Path = PHANTOM_DIR,
    builders: Mapping[str, Callable[[], vtkPolyData]] = PHANTOMS,
) -> list[Path]:
    """Write every mesh of ``builders`` (file name -> builder) into ``out_dir``.

    Returns
    -------
    list of Path
        The written files, in ``builders`` order.
    """
    written = []
    for name, build in builders.items():
        path = out_dir / name
        write_vtp(build(), path)
        written.append(path)
    return written


def run_generator(
    description: str,
    default_dir: Path,
    builders: Mapping[str, Callable[[], vtkPolyData]],
    argv: list[str] | None = None,
) -> None:
    """Command line of a mesh generator: ``--out DIR``, prints the written files."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", type=Path, default=default_dir, help="output folder")
    args = parser.parse_args(argv)
    for path in generate(args.out, builders):
        print(path)


def main(argv: list[str] | None = None) -> None:
    """Command line entry point."""
    run_generator(__doc__.splitlines()[0], PHANTOM_DIR, PHANTOMS, argv)


if __name__ == "__main__":
    main()
