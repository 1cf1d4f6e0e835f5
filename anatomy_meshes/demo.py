"""Meshes of the demonstration scene ``demo_msk``.

A generic knee-like block of musculoskeletal anatomy with every tissue the
engine draws: skin, subcutaneous fat, muscle, a tendon in long axis, a bony
condyle capped with cartilage, a joint-recess effusion, a nerve and an
artery in short axis. Not a procedure scene (those come with the procedure
library); it exercises the engine and serves as the default scene.

Run ``python -m anatomy_meshes.demo`` to (re)write the files into
``anatomy_meshes/demo/``; the output is byte-identical on every run.
Millimetres, world frame, +z is depth (skin at z = 0).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from vtkmodules.vtkCommonDataModel import vtkPolyData
from vtkmodules.vtkCommonTransforms import vtkTransform
from vtkmodules.vtkFiltersGeneral import vtkTransformFilter
from vtkmodules.vtkFiltersSources import vtkSphereSource

from anatomy_meshes import MESH_DIR, phantoms
from anatomy_meshes.phantoms import box_mesh, cylinder_mesh_x, finish_mesh

DEMO_DIR: Path = MESH_DIR / "demo"
HALF_WIDTH_MM = 40.0


def cylinder_mesh_y(
    centre_mm: tuple[float, float, float],
    radius_mm: float,
    length_mm: float,
    resolution: int = 128,
) -> vtkPolyData:
    """Closed capped cylinder whose axis is the world y axis (elevation)."""
    cyl = phantoms.capped_cylinder_source(radius_mm, length_mm, resolution)
    cyl.SetCenter(*centre_mm)
    return finish_mesh(cyl)


def ellipsoid_mesh(
    centre_mm: tuple[float, float, float],
    radii_mm: tuple[float, float, float],
    resolution: int = 64,
) -> vtkPolyData:
    """Closed ellipsoid with semi-axes ``radii_mm`` along x, y, z."""
    sphere = vtkSphereSource()
    sphere.SetRadius(1.0)
    sphere.SetThetaResolution(resolution)
    sphere.SetPhiResolution(resolution // 2)
    transform = vtkTransform()
    transform.PostMultiply()
    transform.Scale(*radii_mm)
    transform.Translate(*centre_mm)
    move = vtkTransformFilter()
    move.SetInputConnection(sphere.GetOutputPort())
    move.SetTransform(transform)
    return finish_mesh(move)


_W = HALF_WIDTH_MM
#: File name -> builder. Dimensions are typical adult values around the
#: suprapatellar region (skin ~1.5 mm, subcutaneous fat ~5 mm, quadriceps
#: tendon ~5 mm thick; PROCEDURES.md depths 10-25 mm), rounded.
DEMO_MESHES: dict[str, Callable[[], vtkPolyData]] = {
    "skin.vtp": lambda: box_mesh((-_W, _W, -_W, _W, 0.0, 1.5)),
    "fat.vtp": lambda: box_mesh((-_W, _W, -_W, _W, 1.5, 6.5)),
    "muscle.vtp": lambda: box_mesh((-_W, _W, -_W, _W, 6.5, 78.0)),
    "tendon.vtp": lambda: cylinder_mesh_x((-18.0, 0.0, 10.0), 2.6, 44.0),
    "fascia.vtp": lambda: box_mesh((-_W, _W, -_W, _W, 6.5, 7.1)),
    "cartilage.vtp": lambda: cylinder_mesh_y((14.0, 0.0, 45.0), 21.0, 2 * _W),
    "condyle.vtp": lambda: cylinder_mesh_y((14.0, 0.0, 45.0), 19.0, 2 * _W),
    "effusion.vtp": lambda: ellipsoid_mesh((-6.0, 0.0, 21.0), (9.0, 12.0, 3.2)),
    "nerve.vtp": lambda: cylinder_mesh_y((-15.0, 0.0, 31.0), 2.2, 2 * _W, 64),
    "artery_wall.vtp": lambda: cylinder_mesh_y((-7.0, 0.0, 32.0), 2.9, 2 * _W, 64),
    "artery_lumen.vtp": lambda: cylinder_mesh_y((-7.0, 0.0, 32.0), 2.3, 2 * _W, 64),
}


def generate(out_dir: Path = DEMO_DIR) -> list[Path]:
    """Write every demo mesh into ``out_dir``; return the written paths."""
    return phantoms.generate(out_dir, DEMO_MESHES)


def main(argv: list[str] | None = None) -> None:
    """Command line entry point."""
    phantoms.run_generator(__doc__.splitlines()[0], DEMO_DIR, DEMO_MESHES, argv)


if __name__ == "__main__":
    main()
