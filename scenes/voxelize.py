"""Turning a scene's meshes into the label grid of an ``AcousticVolume``.

Each closed mesh is scan-converted with ``vtkPolyDataToImageStencil`` on the
part of the scene grid its bounding box covers; structures are painted in
ascending priority (ties: file order) so the higher priority wins where they
overlap. Label ``i`` (1-based) is the ``i``-th structure of the file, 0 the
background.

The long-running functions take an optional ``progress(fraction, message)``
callback (``ProgressCallback``): fractions in [0, 1], never decreasing, the
last call ``(1.0, "ready")``. An exception raised by the callback propagates
out of the function unchanged: that is how a caller abandons a build.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from vtkmodules.util import numpy_support
from vtkmodules.vtkCommonDataModel import vtkPolyData
from vtkmodules.vtkImagingStencil import vtkImageStencilToImage, vtkPolyDataToImageStencil

from scenes.dermis import roughen_scene_dermis
from scenes.meshes import load_mesh
from scenes.spec import SceneSpec
from simulator.tissues import get_tissue
from simulator.volume import (
    NORMAL_SIGMA_VOX,
    AcousticVolume,
    StructureAcoustics,
    interface_normals,
)

#: ``progress(fraction, message)``: fraction in [0, 1], a short message for the user.
ProgressCallback = Callable[[float, str], None]

#: Share of ``build_volume``'s time spent painting the labels; the rest goes to
#: the interface normals (measured: 0.05-0.3 s painting, 0.2-2.8 s normals).
PAINT_SHARE = 0.25

#: Extra weight of every structure when splitting the painting progress, as a
#: share of the whole grid (reading the mesh and setting up the stencil).
_STRUCTURE_OVERHEAD = 0.02


class ProgressRange:
    """Reports the [0, 1] progress of a task as the ``[lo, hi]`` part of a callback.

    Fractions are clipped to [0, 1]; the values reported never decrease
    (shared by every sub-range made with ``sub``). A None callback makes
    every call a no-op.

    Parameters
    ----------
    callback : ProgressCallback or None
        Receives ``(fraction, message)``; whatever it raises propagates.
    lo, hi : float
        The part of the callback's range this task covers, 0 <= lo <= hi <= 1.
    """

    def __init__(self, callback: ProgressCallback | None, lo: float = 0.0, hi: float = 1.0) -> None:
        self._callback = callback
        self._lo = float(lo)
        self._hi = float(hi)
        self._last = [0.0]  # shared with sub-ranges

    def __call__(self, fraction: float, message: str) -> None:
        """Report ``fraction`` (0-1) of this task with ``message``."""
        if self._callback is None:
            return
        value = self._lo + (self._hi - self._lo) * min(max(float(fraction), 0.0), 1.0)
        self._last[0] = max(self._last[0], value)
        self._callback(self._last[0], message)

    def sub(self, lo: float, hi: float) -> ProgressRange:
        """The range of a sub-task covering ``[lo, hi]`` (0-1) of this task."""
        span = self._hi - self._lo
        child = ProgressRange(self._callback, self._lo + span * lo, self._lo + span * hi)
        child._last = self._last
        return child


def structure_acoustics(spec: SceneSpec) -> tuple[StructureAcoustics, ...]:
    """Per-label acoustic description, index 0 = background.

    Returns
    -------
    tuple of StructureAcoustics
        Length ``len(spec.structures) + 1``.
    """
    out = [
        StructureAcoustics(
            "background", get_tissue(spec.background), np.array([1.0, 0.0, 0.0]), "context"
        )
    ]
    for s in spec.structures:
        out.append(
            StructureAcoustics(
                s.name, get_tissue(s.tissue), np.asarray(s.fibre_direction, dtype=float), s.role
            )
        )
    return tuple(out)


def impedance_per_label(spec: SceneSpec) -> np.ndarray:
    """Impedance of each label, shape (n_labels,) float64, MRayl."""
    return np.array([s.tissue.impedance_mrayl for s in structure_acoustics(spec)])


def mesh_mask(
    polydata: vtkPolyData,
    origin_mm: np.ndarray,
    spacing_mm: float,
    shape: tuple[int, int, int],
) -> tuple[tuple[slice, slice, slice], np.ndarray] | None:
    """Voxels of a grid whose centres lie inside a closed mesh.

    Only the sub-block of the grid covered by the mesh's bounding box is
    computed.

    Parameters
    ----------
    polydata : vtkPolyData
        Closed triangle surface, mm.
    origin_mm : ndarray, shape (3,)
        Centre of voxel (0, 0, 0), mm.
    spacing_mm : float
        Isotropic voxel size, mm.
    shape : tuple of 3 int
        Grid shape ``(nx, ny, nz)``.

    Returns
    -------
    (slices, mask) or None
        ``mask`` is a C-contiguous bool array indexed ``[ix, iy, iz]`` of the
        sub-block ``labels[slices]``; None when the mesh misses the grid.
    """
    b = np.asarray(polydata.GetBounds(), dtype=float).reshape(3, 2)
    lo = np.maximum(np.floor((b[:, 0] - origin_mm) / spacing_mm).astype(int) - 1, 0)
    hi = np.ceil((b[:, 1] - origin_mm) / spacing_mm).astype(int) + 1
    hi = np.minimum(hi, np.array(shape) - 1)
    if np.any(hi < lo):
        return None
    stencil = vtkPolyDataToImageStencil()
    stencil.SetInputData(polydata)
    stencil.SetOutputOrigin(*(float(v) for v in origin_mm))
    stencil.SetOutputSpacing(spacing_mm, spacing_mm, spacing_mm)
    stencil.SetOutputWholeExtent(
        int(lo[0]), int(hi[0]), int(lo[1]), int(hi[1]), int(lo[2]), int(hi[2])
    )
    to_image = vtkImageStencilToImage()
    to_image.SetInputConnection(stencil.GetOutputPort())
    to_image.SetInsideValue(1)
    to_image.SetOutsideValue(0)
    to_image.SetOutputScalarTypeToUnsignedChar()
    to_image.Update()
    image = to_image.GetOutput()
    n = hi - lo + 1
    flat = numpy_support.vtk_to_numpy(image.GetPointData().GetScalars())
    # VTK scalars are x-fastest: (nz, ny, nx) in C order, transposed to [ix, iy, iz]
    mask = np.ascontiguousarray(flat.reshape(n[2], n[1], n[0]).transpose(2, 1, 0)).astype(bool)
    slices = tuple(slice(int(a), int(c) + 1) for a, c in zip(lo, hi, strict=True))
    return slices, mask  # type: ignore[return-value]


def paint_labels(spec: SceneSpec, progress: ProgressCallback | None = None) -> np.ndarray:
    """Label grid of the scene.

    Parameters
    ----------
    spec : SceneSpec
        A validated scene.
    progress : callable ``(fraction, message) -> None``, optional
        Called before each structure (``"voxelising femur (3/11)"``, fractions
        weighted by the structure's bounding-box volume) and last with
        ``(1.0, "ready")``. Whatever it raises propagates (cancellation).

    Returns
    -------
    ndarray, shape ``spec.grid_shape``, uint8
        C order, ``[ix, iy, iz]``; 0 = background, ``i`` = ``spec.structures[i - 1]``.
    """
    labels = _paint(spec, ProgressRange(progress))
    if progress is not None:
        progress(1.0, "ready")
    return labels


def _paint(spec: SceneSpec, report: ProgressRange) -> np.ndarray:
    """``paint_labels`` reporting through ``report`` (without the final "ready")."""
    shape = spec.grid_shape
    labels = np.zeros(shape, dtype=np.uint8)
    order = sorted(range(len(spec.structures)), key=lambda i: (spec.structures[i].priority, i))
    meshes = {i: load_mesh(spec.structures[i].mesh_path, spec.mesh_matrix) for i in order}
    weights = np.array([_box_share(meshes[i], spec) + _STRUCTURE_OVERHEAD for i in order])
    done = np.concatenate([[0.0], np.cumsum(weights)]) / max(float(weights.sum()), 1e-12)
    n = len(order)
    for k, i in enumerate(order):
        report(float(done[k]), f"voxelising {spec.structures[i].name} ({k + 1}/{n})")
        result = mesh_mask(meshes[i], spec.origin_mm, spec.voxel_mm, shape)
        if result is None:
            continue
        slices, mask = result
        np.copyto(labels[slices], np.uint8(i + 1), where=mask)
    roughen_scene_dermis(labels, spec)  # the skin's deep border is not ruler-straight
    report(1.0, "labels painted")
    return labels


def _box_share(polydata: vtkPolyData, spec: SceneSpec) -> float:
    """Share of the scene box the mesh's bounding box covers (0-1), a proxy of its cost."""
    b = np.asarray(polydata.GetBounds(), dtype=float).reshape(3, 2)
    lo = np.maximum(b[:, 0], spec.bounds_min_mm)
    hi = np.minimum(b[:, 1], spec.bounds_max_mm)
    box = np.prod(np.asarray(spec.bounds_max_mm) - np.asarray(spec.bounds_min_mm))
    return float(np.prod(np.clip(hi - lo, 0.0, None)) / box) if box > 0 else 0.0


def build_volume(spec: SceneSpec, progress: ProgressCallback | None = None) -> AcousticVolume:
    """Voxelise a scene into the acoustic volume the engine samples.

    Parameters
    ----------
    spec : SceneSpec
        A validated scene.
    progress : callable ``(fraction, message) -> None``, optional
        Told the stage being worked on: painting each structure (the first
        ``PAINT_SHARE`` of the range), then ``"interface normals"``; the last
        call is ``(1.0, "ready")``. Fractions never decrease. Whatever it
        raises propagates out of ``build_volume`` (that is how a caller
        abandons a build).

    Returns
    -------
    AcousticVolume
        Labels ``spec.grid_shape`` uint8, origin ``spec.bounds_min_mm``,
        spacing ``spec.voxel_mm``, interface normals, point reflectors and
        the scene seed. Arrays are read-only.
    """
    volume = _build(spec, ProgressRange(progress))
    if progress is not None:
        progress(1.0, "ready")
    return volume


def _build(spec: SceneSpec, report: ProgressRange) -> AcousticVolume:
    """``build_volume`` reporting through ``report`` (without the final "ready")."""
    labels = _paint(spec, report.sub(0.0, PAINT_SHARE))
    report(PAINT_SHARE, "interface normals")
    index, normal = interface_normals(labels, impedance_per_label(spec), sigma_vox=NORMAL_SIGMA_VOX)
    if spec.point_targets:
        points = np.array([p.position_mm for p in spec.point_targets], dtype=np.float64)
        refl = np.array([p.reflectivity for p in spec.point_targets], dtype=np.float64)
    else:
        points, refl = np.zeros((0, 3)), np.zeros(0)
    arrays = (labels, index, normal, points, refl)
    for a in arrays:
        a.setflags(write=False)
    report(1.0, "volume built")
    return AcousticVolume(
        labels=labels,
        origin_mm=spec.origin_mm,
        spacing_mm=float(spec.voxel_mm),
        structures=structure_acoustics(spec),
        boundary_index=index,
        boundary_normal=normal,
        point_reflectors_mm=points,
        point_reflectivity=refl,
        seed=int(spec.seed),
    )
