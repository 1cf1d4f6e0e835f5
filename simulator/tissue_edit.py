"""Changes to the label grid made during a session (injectate, a swollen nerve).

The scene's acoustic volume is read-only. What the trainee does to the
tissue (fluid injected, a nerve swollen by an intraneural injection) is kept
as a sparse list of voxels with their new label, so that a frame request can
carry it to the render thread and the engine images the edited tissue.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from simulator.tissues import get_tissue
from simulator.volume import (
    NORMAL_SIGMA_VOX,
    AcousticVolume,
    StructureAcoustics,
    interface_normals,
)

#: Name of the structure the injectate is painted with.
INJECTATE_NAME = "injectate"


@dataclass(frozen=True, eq=False)
class TissueEdit:
    """Voxels whose label changed.

    Compared by identity: a new edit is a new object.

    Attributes
    ----------
    flat_index : ndarray, shape (k,), int64
        Sorted, unique flat indices into ``volume.labels.ravel()``.
    new_label : ndarray, shape (k,), uint8
        The label each of those voxels now has.
    """

    flat_index: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    new_label: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint8))

    def __post_init__(self) -> None:
        if self.flat_index.shape != self.new_label.shape or self.flat_index.ndim != 1:
            raise ValueError(
                f"TissueEdit: flat_index {self.flat_index.shape} and new_label "
                f"{self.new_label.shape} must be 1-D arrays of the same length"
            )

    @property
    def n_voxels(self) -> int:
        """Number of edited voxels."""
        return int(self.flat_index.size)


def with_injectate_label(volume: AcousticVolume) -> AcousticVolume:
    """``volume`` with an ``injectate`` structure appended (unchanged if it has one).

    The label grid is shared, not copied: no voxel carries the new label
    until a ``TissueEdit`` paints it. An engine built on the returned volume
    can then image any edit of it.

    Raises
    ------
    ValueError
        If the volume already uses all 256 labels.
    """
    names = [s.name for s in volume.structures]
    if INJECTATE_NAME in names:
        return volume
    if len(names) >= 256:
        raise ValueError(f"the volume has {len(names)} labels: no room for the injectate label")
    fluid = StructureAcoustics(
        name=INJECTATE_NAME,
        tissue=get_tissue("injectate"),
        fibre_dir=np.array([1.0, 0.0, 0.0]),
        role="context",
    )
    return replace(volume, structures=(*volume.structures, fluid))


def injectate_label(volume: AcousticVolume) -> int:
    """Label of the injectate structure (``with_injectate_label`` adds it)."""
    return volume.structure_index(INJECTATE_NAME)


#: ``truncate`` of the Gaussian filter in ``simulator.volume.interface_normals``.
_NORMAL_TRUNCATE = 2.5


def _normal_reach_vox(sigma_vox: float) -> int:
    """How far (voxels) a label change can move interface entries and normals.

    The edge mask reaches 2 voxels (the diff marks both sides, then one
    dilation); a normal is the central difference (1 voxel) of the impedance
    map smoothed with a kernel of radius ``int(truncate * sigma + 0.5)``, and
    its surface offset reads the labels 1.5 voxels either side (2 rounded).
    """
    return int(_NORMAL_TRUNCATE * sigma_vox + 0.5) + 4


def apply_edit(
    volume: AcousticVolume, edit: TissueEdit, sigma_vox: float = NORMAL_SIGMA_VOX
) -> AcousticVolume:
    """``volume`` with the labels of ``edit`` painted in, interface normals updated.

    The label grid is copied (the original is untouched). The interface
    entries (``boundary_index``, ``boundary_normal``) are recomputed only in
    the bounding box of the edited voxels grown by the reach of a label
    change, by ``simulator.volume.interface_normals`` on a crop grown by that
    reach again, so they equal a full recomputation; entries outside the box
    are kept.

    Parameters
    ----------
    volume : AcousticVolume
        The volume as built (with every label the edit uses, e.g. from
        ``with_injectate_label``).
    edit : TissueEdit
        Voxels and their new labels.
    sigma_vox : float
        Smoothing of the impedance map for the normals, voxels (as the scene
        builder used).

    Returns
    -------
    AcousticVolume
        A new volume; ``volume`` itself if the edit is empty.

    Raises
    ------
    ValueError
        If an index lies outside the grid or a new label has no structure.
    """
    if edit.n_voxels == 0:
        return volume
    shape = volume.shape
    n_total = int(np.prod(shape))
    idx = np.asarray(edit.flat_index, dtype=np.int64)
    new = np.asarray(edit.new_label, dtype=np.uint8)
    if int(idx.min()) < 0 or int(idx.max()) >= n_total:
        raise ValueError(
            f"TissueEdit.flat_index spans {int(idx.min())}..{int(idx.max())}: expected indices "
            f"in 0..{n_total - 1} of the volume's {shape} grid"
        )
    n_labels = len(volume.structures)
    if int(new.max()) >= n_labels:
        raise ValueError(
            f"TissueEdit.new_label reaches {int(new.max())} but the volume describes only "
            f"{n_labels} labels; build the engine on with_injectate_label(volume)"
        )
    labels = np.array(volume.labels, copy=True)
    labels.reshape(-1)[idx] = new

    reach = _normal_reach_vox(sigma_vox)
    coords = np.stack(np.unravel_index(idx, shape), axis=1)
    dims = np.array(shape)
    box_lo = np.maximum(coords.min(axis=0) - reach, 0)
    box_hi = np.minimum(coords.max(axis=0) + reach + 1, dims)
    crop_lo = np.maximum(box_lo - reach, 0)
    crop_hi = np.minimum(box_hi + reach, dims)
    crop = tuple(slice(int(a), int(b)) for a, b in zip(crop_lo, crop_hi, strict=True))
    impedance = np.array([s.tissue.impedance_mrayl for s in volume.structures])
    sub_labels = np.ascontiguousarray(labels[crop])
    sub_index, sub_normal = interface_normals(sub_labels, impedance, sigma_vox=sigma_vox)

    # new entries: those of the crop inside the box, in full-grid flat indices
    sub_shape = crop_hi - crop_lo
    sc = np.stack(np.unravel_index(sub_index, tuple(sub_shape)), axis=1) + crop_lo
    in_box = np.all((sc >= box_lo) & (sc < box_hi), axis=1)
    add_index = np.ravel_multi_index(tuple(sc[in_box].T), shape).astype(np.int64)
    add_normal = sub_normal[in_box]

    index, normal = _replace_box(
        volume.boundary_index, volume.boundary_normal, shape, box_lo, box_hi, add_index, add_normal
    )
    for arr in (labels, index, normal):
        arr.setflags(write=False)
    return replace(volume, labels=labels, boundary_index=index, boundary_normal=normal)


def _replace_box(
    old_index: np.ndarray,
    old_normal: np.ndarray,
    shape: tuple[int, int, int],
    box_lo: np.ndarray,
    box_hi: np.ndarray,
    add_index: np.ndarray,
    add_normal: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted interface entries with those inside a box replaced by ``add_*``.

    The box ``[box_lo, box_hi)`` (voxels) is, in C order, one contiguous
    segment of flat indices per (x, y) row; entries in those segments are
    dropped and ``add_index`` (sorted, all inside the box) take their place.
    """
    _, ny, nz = shape
    xs = np.arange(box_lo[0], box_hi[0], dtype=np.int64)
    ys = np.arange(box_lo[1], box_hi[1], dtype=np.int64)
    rows = ((xs[:, None] * ny + ys[None, :]) * nz).reshape(-1)
    seg_lo = np.searchsorted(old_index, rows + int(box_lo[2]))
    seg_hi = np.searchsorted(old_index, rows + int(box_hi[2]))
    a, b = int(seg_lo[0]), int(seg_hi[-1])
    # entries of [a, b) inside a segment: +1 at each start, -1 at each end, running sum
    mark = np.zeros(b - a + 1, dtype=np.int32)
    np.add.at(mark, seg_lo - a, 1)
    np.add.at(mark, seg_hi - a, -1)
    keep = np.cumsum(mark[:-1]) == 0
    kept_index = old_index[a:b][keep]
    # normals as one item per entry: masked copies are ~20x faster than on (m, width)
    width = add_normal.shape[1]
    if old_normal.shape[1] < width:  # no surface offsets stored: 0
        old_normal = np.pad(old_normal, ((0, 0), (0, width - old_normal.shape[1])))
    old_nv = _rows(old_normal)
    n_mid = kept_index.size + add_index.size
    n_out = a + n_mid + (old_index.size - b)
    index = np.empty(n_out, dtype=np.int64)
    normal = np.empty((n_out, width), dtype=np.int8)
    nv = _rows(normal)
    index[:a], nv[:a] = old_index[:a], old_nv[:a]
    index[a + n_mid :], nv[a + n_mid :] = old_index[b:], old_nv[b:]
    # the new entries' places in the merged middle part
    is_new = np.zeros(n_mid, dtype=bool)
    is_new[np.searchsorted(kept_index, add_index) + np.arange(add_index.size)] = True
    mid_index, mid_nv = index[a : a + n_mid], nv[a : a + n_mid]
    mid_index[is_new], mid_nv[is_new] = add_index, _rows(add_normal)
    is_old = ~is_new
    mid_index[is_old], mid_nv[is_old] = kept_index, old_nv[a:b][keep]
    return index, normal


def _rows(normal: np.ndarray) -> np.ndarray:
    """An (m, k) int8 array viewed as (m,) k-byte items (shares memory)."""
    return np.ascontiguousarray(normal, dtype=np.int8).view(f"V{normal.shape[1]}").reshape(-1)
