"""Distance from the needle tip to the target: to its surface and to its centre.

A volume target (a labelled structure) is measured through a Euclidean
distance transform of its label, computed once in a box around the structure
with a generous margin and looked up trilinearly; a point target (a sphere
of ``radius_mm`` about ``point_mm``) is measured analytically. Pure NumPy /
SciPy.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import ndimage

from simulator.volume import AcousticVolume

#: Margin of the distance-transform box around the target structure, mm.
DEFAULT_MARGIN_MM = 25.0


class TargetDistance:
    """Tip-to-target distances for one scene.

    Parameters
    ----------
    volume : AcousticVolume
        The scene's acoustic volume.
    label : int or None
        Label of the target structure; None for a point target.
    point_mm : sequence of 3 float
        Aim point (the target's centre for ``centre_mm``), world mm.
    radius_mm : float or None
        Radius of the target sphere about ``point_mm``, mm; None if only the
        structure counts. With both a label and a radius, the nearer counts.
    margin_mm : float
        Margin of the distance-transform box around the structure, mm.

    Notes
    -----
    The surface of a labelled structure is the boundary of its voxels (a
    voxel belongs to the structure when its centre does, as in
    ``AcousticVolume.label_at``); distances are exact to about half a voxel.
    Beyond the box the distance is the distance to the box plus the value at
    the nearest point of the box.
    """

    def __init__(
        self,
        volume: AcousticVolume,
        label: int | None,
        point_mm: Any,
        radius_mm: float | None = None,
        margin_mm: float = DEFAULT_MARGIN_MM,
    ) -> None:
        point = np.asarray(point_mm, dtype=np.float64)
        if point.shape != (3,) or not np.all(np.isfinite(point)):
            raise ValueError(f"TargetDistance point_mm {point_mm!r}: expected 3 finite mm values")
        if label is None and radius_mm is None:
            raise ValueError("TargetDistance: give the target label or a radius_mm about point_mm")
        if radius_mm is not None and not radius_mm > 0.0:
            raise ValueError(f"TargetDistance radius_mm = {radius_mm}: expected > 0 mm")
        self.volume = volume
        self.label = None if label is None else int(label)
        self.point_mm = point
        self.radius_mm = None if radius_mm is None else float(radius_mm)
        self._field: np.ndarray | None = None
        self._lo_idx = np.zeros(3, dtype=np.int64)
        if self.label is not None:
            self._build_field(float(margin_mm))

    @classmethod
    def from_spec(cls, spec: Any, volume: AcousticVolume, **kwargs: Any) -> TargetDistance:
        """From a scene's ``TargetSpec`` (``structure``, ``point_mm``, ``radius_mm``).

        Raises
        ------
        ValueError
            If the target structure is not in the volume.
        """
        label = None
        if spec.structure is not None:
            try:
                label = volume.structure_index(spec.structure)
            except KeyError:
                names = ", ".join(s.name for s in volume.structures)
                raise ValueError(
                    f"target structure {spec.structure!r} is not in the volume (has: {names})"
                ) from None
        return cls(volume, label, spec.point_mm, spec.radius_mm, **kwargs)

    # ----------------------------------------------------------------- build
    def _build_field(self, margin_mm: float) -> None:
        vol = self.volume
        mask = vol.labels == self.label
        if not mask.any():
            name = vol.structures[self.label].name if self.label < len(vol.structures) else "?"
            raise ValueError(
                f"TargetDistance: target label {self.label} ({name}) has no voxel in the volume"
            )
        idx = np.argwhere(mask)
        pad = int(np.ceil(margin_mm / vol.spacing_mm))
        lo = np.maximum(idx.min(axis=0) - pad, 0)
        hi = np.minimum(idx.max(axis=0) + pad + 1, np.array(vol.shape))
        sub = mask[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]
        # distance from each voxel centre to the nearest target voxel centre, mm
        edt = ndimage.distance_transform_edt(~sub, sampling=vol.spacing_mm)
        self._field = np.asarray(edt, dtype=np.float64)
        self._lo_idx = lo.astype(np.int64)

    # ---------------------------------------------------------------- lookup
    def _label_surface_mm(self, p: np.ndarray) -> float:
        vol = self.volume
        field = self._field
        assert field is not None
        g = (p - vol.origin_mm) / vol.spacing_mm - self._lo_idx  # box index coordinates
        top = np.array(field.shape, dtype=np.float64) - 1.0
        gc = np.clip(g, 0.0, top)
        outside_mm = float(np.linalg.norm(g - gc)) * vol.spacing_mm
        near = np.rint(gc).astype(np.int64)
        if outside_mm == 0.0 and field[near[0], near[1], near[2]] == 0.0:
            return 0.0  # the nearest voxel is the target's: inside
        i0 = np.minimum(np.floor(gc).astype(np.int64), np.maximum(top.astype(np.int64) - 1, 0))
        f = gc - i0
        value = 0.0
        for dx in (0, 1):
            for dy in (0, 1):
                for dz in (0, 1):
                    w = (f[0] if dx else 1 - f[0]) * (f[1] if dy else 1 - f[1])
                    w *= f[2] if dz else 1 - f[2]
                    if w == 0.0:
                        continue
                    j = np.minimum(i0 + np.array([dx, dy, dz]), top.astype(np.int64))
                    value += w * field[j[0], j[1], j[2]]
        # centre-to-centre distance less half a voxel: distance to the voxels' boundary
        return max(value - 0.5 * vol.spacing_mm, 0.0) + outside_mm

    def surface_mm(self, point_mm: Any) -> float:
        """Distance from a point to the target's surface, mm (0 inside).

        Parameters
        ----------
        point_mm : sequence of 3 float
            World point (the needle tip), mm.

        Returns
        -------
        float
        """
        p = np.asarray(point_mm, dtype=np.float64)
        best = np.inf
        if self.radius_mm is not None:
            best = max(float(np.linalg.norm(p - self.point_mm)) - self.radius_mm, 0.0)
        if self._field is not None and best > 0.0:
            best = min(best, self._label_surface_mm(p))
        return float(best)

    def centre_mm(self, point_mm: Any) -> float:
        """Distance from a point to the target's aim point ``point_mm``, mm."""
        return float(np.linalg.norm(np.asarray(point_mm, dtype=np.float64) - self.point_mm))

    def inside(self, point_mm: Any) -> bool:
        """Whether a point lies in the target (surface distance 0)."""
        return self.surface_mm(point_mm) == 0.0

    def compartments(self) -> frozenset[str]:
        """Names of the structures counted as the target compartment for the injectate.

        The target structure; for a point target, the structure at the aim point.
        """
        label = self.label
        if label is None:
            label = int(self.volume.label_at(self.point_mm[None, :])[0])
        return frozenset({self.volume.structures[label].name})


__all__ = ["DEFAULT_MARGIN_MM", "TargetDistance"]
