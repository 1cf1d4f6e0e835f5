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
from simulator.volume import AcousticVolume, StructureAcoustics

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
