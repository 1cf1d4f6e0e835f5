"""Write STL files that imitate a 3D Slicer segmentation export of a distal forearm.

Stand-in for a real segmentation: seven segments of a right distal forearm
(about 5 cm proximal to the wrist crease), each a closed surface in its own
binary STL file, in Slicer's RAS millimetres (x to the patient's Right, y
Anterior, z Superior), exactly as "Segmentations > Export to files" (STL,
coordinate system RAS, one file per segment) would write them.

The arm lies palm up, so the volar skin faces anterior: the skin surface is
the plane A = 35 mm and depth goes towards -A. The point of the skin right
over the median nerve at the level of the worked example is RAS
(-12, 35, 410). The forearm runs along S (proximal = +S); the radius is on
the +R (lateral, radial) side. ``forearm.toml`` maps all this into the
simulator frame (skin at z = 0, +z depth) with its ``[mesh_transform]``;
see ``docs/own_anatomy.md``.

Run from the project root (deterministic: same bytes every run)::

    python examples/own_anatomy/make_segmentation.py [--out DIR]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from vtkmodules.util.numpy_support import numpy_to_vtk, vtk_to_numpy
from vtkmodules.vtkCommonDataModel import vtkPolyData
from vtkmodules.vtkIOGeometry import vtkSTLWriter

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from anatomy_meshes.primitives import Station, box, loft  # noqa: E402

#: Default output folder (the committed files).
OUT_DIR = Path(__file__).resolve().parent / "segmentation"

#: RAS position (mm) of the skin point over the nerve at the example's section.
ORIGIN_RAS = (-12.0, 35.0, 410.0)

#: Half extents of the modelled block (mm): across the arm, along it.
HALF_ACROSS, HALF_ALONG = 26.0, 24.0

#: Where the sections of the tube-like segments are, in a local frame used only
#: to build them: u across the arm (radial +), v along it (proximal +), d depth
#: below the skin. Values: (centre u, centre d), (half width, half thickness).
NERVE = ((0.0, 9.5), (2.4, 1.2))  # median nerve, CSA = pi * 2.4 * 1.2 = 9.0 mm²
PERINEURAL = ((0.0, 9.5), (3.2, 2.0))  # nerve grown by 0.8 mm (Margin effect)
FCR = ((9.0, 6.2), (2.6, 1.8))  # flexor carpi radialis tendon, 3.6 mm thick
MUSCLE = ((0.0, 14.5), (HALF_ACROSS, 10.5))  # flexor compartment, top at d = 4.0
RADIUS = ((11.0, 19.5), (8.0, 5.5))  # radius shaft, top (cortex) at d = 14.0
SKIN_MM, FAT_BOTTOM_MM = 1.2, 4.0


def local_to_ras(points: np.ndarray) -> np.ndarray:
    """(u, v, d) local mm -> RAS mm: R = R0 + u, A = A0 - d, S = S0 + v."""
    r0, a0, s0 = ORIGIN_RAS
    u, v, d = points[:, 0], points[:, 1], points[:, 2]
    return np.stack([r0 + u, a0 - d, s0 + v], axis=1)


def _tube(section: tuple, *, exponent: float = 2.0, n_around: int = 24) -> vtkPolyData:
    """A straight segment along the block (v), cut flat where it meets the image edge."""
    (u, d), (hw, hh) = section
    stations = [Station((u, v, d), hw, hh) for v in (-HALF_ALONG + 2.0, HALF_ALONG - 2.0)]
    return loft(
        stations,
        (1.0, 0.0, 0.0),
        exponent=exponent,
        n_around=n_around,
        step_mm=6.0,
        round_ends=False,
    )


def segments() -> dict[str, vtkPolyData]:
    """Segment name -> closed surface in the local frame (u, v, d), mm."""
    across, along = (-HALF_ACROSS, HALF_ACROSS), (-HALF_ALONG, HALF_ALONG)
    return {
        "skin": box((*across, *along, 0.0, SKIN_MM)),
        "subcutaneous_fat": box((*across, *along, SKIN_MM, FAT_BOTTOM_MM)),
        "flexor_muscles": _tube(MUSCLE, exponent=6.0, n_around=32),
        "fcr_tendon": _tube(FCR),
        "median_nerve": _tube(NERVE, n_around=32),
        "perineural_space": _tube(PERINEURAL, n_around=32),
        "radius": _tube(RADIUS, n_around=32),
    }


def write_stl(mesh: vtkPolyData, path: Path) -> None:
    """Binary STL with the header 3D Slicer writes (it names the coordinate system)."""
    writer = vtkSTLWriter()
    writer.SetFileName(str(path))
    writer.SetInputData(mesh)
    writer.SetFileTypeToBinary()
    writer.SetHeader("3D Slicer output. SPACE=RAS")
    if writer.Write() != 1:
        raise OSError(f"could not write {path}")


def main(argv: list[str] | None = None) -> int:
    """Write one ``<segment>.stl`` per segment into ``--out``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR, help=f"folder (default {OUT_DIR})")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, mesh in segments().items():
        local = vtk_to_numpy(mesh.GetPoints().GetData()).astype(np.float64)
        # R, A, S is a right-handed rotation of (u, v, d), so outward normals stay outward
        mesh.GetPoints().SetData(numpy_to_vtk(local_to_ras(local).astype(np.float32), deep=True))
        path = args.out / f"{name}.stl"
        write_stl(mesh, path)
        print(f"wrote {path} ({mesh.GetNumberOfPolys()} triangles)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
