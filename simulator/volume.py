"""The acoustic volume: what the B-mode engine marches through.

A label grid in the scene's millimetre frame, one label per structure, with
the acoustic description of each label, the interface normals near
boundaries, and point reflectors. Pure NumPy; built from meshes by
``scenes.voxelize`` and cached on disk by ``scenes.cache``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from simulator.tissues import Tissue

#: Scale of the int8 normal components: stored value = round(127 * n).
NORMAL_SCALE = 127.0
#: Scale of the int8 sub-voxel surface offset: stored value = round(64 * offset in voxels).
OFFSET_SCALE = 64.0
#: How far either side of a voxel along its normal the two tissues of its
#: interface are read, voxels (not 1.5: a rounding tie would make the result
#: depend on the last bit of the normal).
SIDE_REACH_VOX = 1.6
#: Largest offset kept, voxels (the interface voxels reach two voxels from it).
OFFSET_MAX_VOX = 1.98
#: Smoothing of the impedance map for the interface normals, voxels: what the
#: scene builder and every later relabelling (``simulator.tissue_edit``) use.
#: 2.5 voxels keeps planes tilted 0-40 degrees within 3 degrees
#: (tests/test_voxelize.py); 1 voxel leaves up to 12 degrees of staircase error.
NORMAL_SIGMA_VOX = 2.5


@dataclass(frozen=True)
class StructureAcoustics:
    """Acoustic description of one label.

    Attributes
    ----------
    name : str
        Structure name from the scene (label 0 is ``"background"``).
    tissue : Tissue
        Its tissue.
    fibre_dir : ndarray, shape (3,), float64
        Unit vector of the fibre (long) axis in world coordinates; for
        tissues without fibres any unit vector (it only orients the texture).
    role : str
        ``"target"``, ``"avoid"`` or ``"context"``.
    """

    name: str
    tissue: Tissue
    fibre_dir: np.ndarray
    role: str = "context"


@dataclass(frozen=True)
class AcousticVolume:
    """Label grid plus everything the engine samples.

    Attributes
    ----------
    labels : ndarray, shape (nx, ny, nz), uint8
        Structure label per voxel, C order, index ``[ix, iy, iz]``; label 0
        is the background tissue. Voxel ``[ix, iy, iz]`` is centred at
        ``origin_mm + spacing_mm * (ix, iy, iz)``.
    origin_mm : ndarray, shape (3,), float64
        World position of the centre of voxel (0, 0, 0), mm.
    spacing_mm : float
        Isotropic voxel size, mm.
    structures : tuple of StructureAcoustics
        Indexed by label; ``structures[0]`` is the background.
    boundary_index : ndarray, shape (m,), int64
        Sorted flat indices (into ``labels.ravel()``) of voxels lying on or
        next to an interface between labels.
    boundary_normal : ndarray, shape (m, 4) or (m, 3), int8
        Columns 0-2: unit interface normal at those voxels times
        ``NORMAL_SCALE`` (pointing to the higher impedance; only the angle to
        the beam is used). Column 3, when present: signed distance from the
        voxel centre to the interface along that normal, voxels, times
        ``OFFSET_SCALE`` (``interface_normals``), which puts echoes on the
        smooth surface rather than on the voxel staircase.
    point_reflectors_mm : ndarray, shape (k, 3), float64
        World positions of point reflectors (wires, calibration targets), mm.
    point_reflectivity : ndarray, shape (k,), float64
        Amplitude reflectivity of each point reflector (1 = perfect).
    seed : int
        Seed of the tissue-fixed scatterer field.
    """

    labels: np.ndarray
    origin_mm: np.ndarray
    spacing_mm: float
    structures: tuple[StructureAcoustics, ...]
    boundary_index: np.ndarray
    boundary_normal: np.ndarray
    point_reflectors_mm: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    point_reflectivity: np.ndarray = field(default_factory=lambda: np.zeros(0))
    seed: int = 0

    def __post_init__(self) -> None:
        if self.labels.dtype != np.uint8 or self.labels.ndim != 3:
            raise ValueError(
                f"labels must be a 3-D uint8 array, got {self.labels.ndim}-D {self.labels.dtype}"
            )
        if int(self.labels.max(initial=0)) >= len(self.structures):
            raise ValueError(
                f"labels reach {int(self.labels.max())} but only "
                f"{len(self.structures)} structures are described"
            )

    @property
    def shape(self) -> tuple[int, int, int]:
        """Grid shape ``(nx, ny, nz)``."""
        return self.labels.shape  # type: ignore[return-value]

    @property
    def extent_mm(self) -> np.ndarray:
        """World bounds ``[[xmin, ymin, zmin], [xmax, ymax, zmax]]`` of voxel centres, mm."""
        upper = self.origin_mm + self.spacing_mm * (np.array(self.shape) - 1)
        return np.stack([self.origin_mm, upper])

    def label_at(self, points_mm: np.ndarray) -> np.ndarray:
        """Label at world points (nearest voxel); 0 outside the grid.

        Parameters
        ----------
        points_mm : ndarray, shape (..., 3)
            World positions, mm.

        Returns
        -------
        ndarray, shape (...), uint8
        """
        idx = np.rint((np.asarray(points_mm) - self.origin_mm) / self.spacing_mm).astype(np.int64)
        inside = np.all((idx >= 0) & (idx < np.array(self.shape)), axis=-1)
        out = np.zeros(idx.shape[:-1], dtype=np.uint8)
        i = idx[inside]
        out[inside] = self.labels[i[:, 0], i[:, 1], i[:, 2]]
        return out

    def structure_index(self, name: str) -> int:
        """Label of the structure called ``name``."""
        for i, s in enumerate(self.structures):
            if s.name == name:
                return i
        raise KeyError(f"no structure named {name!r}")


def interface_normals(
    labels: np.ndarray, impedance_per_label: np.ndarray, sigma_vox: float = NORMAL_SIGMA_VOX
) -> tuple[np.ndarray, np.ndarray]:
    """Interface voxels and their unit normals.

    The normal is the gradient direction of the Gaussian-smoothed impedance
    map, which points across every interface whatever the two tissues are and
    is smooth enough (within 3 degrees on planes at any tilt, see
    tests/test_voxelize.py) for specular reflection lobes of a few degrees.

    Parameters
    ----------
    labels : ndarray, shape (nx, ny, nz), uint8
        Label grid.
    impedance_per_label : ndarray, shape (n_labels,), float
        Impedance of each label, MRayl.
    sigma_vox : float
        Smoothing of the impedance map, voxels.

    Returns
    -------
    index : ndarray, shape (m,), int64
        Sorted flat indices of voxels on or next to an interface.
    normal : ndarray, shape (m, 4), int8
        Unit normals times ``NORMAL_SCALE``, then the signed distance to the
        interface along the normal times ``OFFSET_SCALE``: where the smoothed
        impedance crosses the mean of the impedances ``SIDE_REACH_VOX`` either side
        (0 where those are equal or the crossing is further than
        ``OFFSET_MAX_VOX``).
    """
    lab = labels
    edge = np.zeros(lab.shape, dtype=bool)
    for axis in range(3):
        diff = np.diff(lab, axis=axis) != 0
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[axis] = slice(0, -1)
        hi[axis] = slice(1, None)
        edge[tuple(lo)] |= diff
        edge[tuple(hi)] |= diff
    # one more voxel on each side so that a ray stepping across a corner still finds it
    edge = ndimage.binary_dilation(edge, iterations=1)
    index = np.flatnonzero(edge)
    if index.size == 0:
        return index.astype(np.int64), np.zeros((0, 4), dtype=np.int8)
    z_map = np.asarray(impedance_per_label, dtype=np.float32)[lab]
    smooth = ndimage.gaussian_filter(z_map, sigma=sigma_vox, mode="nearest", truncate=2.5)
    del z_map
    coords = np.unravel_index(index, lab.shape)
    grad = np.empty((index.size, 3), dtype=np.float32)
    for axis in range(3):
        plus = list(coords)
        minus = list(coords)
        plus[axis] = np.minimum(coords[axis] + 1, lab.shape[axis] - 1)
        minus[axis] = np.maximum(coords[axis] - 1, 0)
        grad[:, axis] = smooth[tuple(plus)] - smooth[tuple(minus)]
    norm = np.linalg.norm(grad, axis=1)
    ok = norm > 1e-9
    grad[ok] /= norm[ok, None]
    grad[~ok] = (0.0, 0.0, 1.0)
    table = np.asarray(impedance_per_label, dtype=np.float32)
    offset = _surface_offset(lab, table, smooth, coords, grad, norm)
    normal = np.empty((index.size, 4), dtype=np.int8)
    normal[:, :3] = np.rint(grad * NORMAL_SCALE)
    normal[:, 3] = np.rint(offset * OFFSET_SCALE)
    return index.astype(np.int64), normal


def _surface_offset(
    labels: np.ndarray,
    impedance: np.ndarray,
    smooth: np.ndarray,
    coords: tuple[np.ndarray, ...],
    unit: np.ndarray,
    grad_norm: np.ndarray,
) -> np.ndarray:
    """Signed distance (voxels, along ``unit``) from each voxel centre to its interface.

    The interface is where the smoothed impedance ``smooth`` equals the mean
    of the impedances of the labels ``SIDE_REACH_VOX`` either side along the normal;
    the smoothed map is close to linear there, so one Newton step from the
    voxel centre finds it. ``grad_norm`` is the central difference over two
    voxels.
    """
    shape = np.array(labels.shape)
    centre = np.stack(coords, axis=1).astype(np.float32)
    sides = []
    for sign in (1.0, -1.0):
        p = np.rint(centre + sign * SIDE_REACH_VOX * unit).astype(np.int64)
        np.clip(p, 0, shape - 1, out=p)
        sides.append(impedance[labels[p[:, 0], p[:, 1], p[:, 2]]])
    iso = 0.5 * (sides[0] + sides[1])
    slope = 0.5 * grad_norm  # impedance change per voxel along the normal
    here = smooth[coords]
    usable = (np.abs(sides[0] - sides[1]) > 1e-3) & (slope > 1e-6)
    offset = np.where(usable, (iso - here) / np.maximum(slope, 1e-6), 0.0)
    offset[np.abs(offset) > OFFSET_MAX_VOX] = 0.0
    return offset.astype(np.float32)
