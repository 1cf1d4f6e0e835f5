"""Which structure each pixel of a B-mode image shows.

The label map of an image plane serves the structure-label overlay of
teaching mode, the image-recognition quiz (a click counts when it lands in
the named structure's section) and the tests that check where structures
appear in a scene's canonical view.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.scan_convert import ImageGeometry
from simulator.volume import AcousticVolume


def label_image(
    volume: AcousticVolume,
    geometry: ImageGeometry,
    probe2world: np.ndarray,
    inside: np.ndarray | None = None,
) -> np.ndarray:
    """Structure label under every pixel of an image.

    Parameters
    ----------
    volume : AcousticVolume
        The scene's volume.
    geometry : ImageGeometry
        Pixel grid of the image (probe frame, mm).
    probe2world : ndarray, shape (4, 4)
        Pose of the probe when the image was made.
    inside : ndarray, shape (rows, cols) bool, optional
        Pixels inside the imaged sector; others get label 0.

    Returns
    -------
    ndarray, shape (rows, cols), uint8
        Label of the nearest voxel (0: background or outside).
    """
    cols = geometry.x0_mm + geometry.pixel_mm * np.arange(geometry.cols)
    rows = geometry.z0_mm + geometry.pixel_mm * np.arange(geometry.rows)
    x, z = np.meshgrid(cols, rows)
    local = np.stack([x, np.zeros_like(x), z, np.ones_like(x)], axis=-1)
    world = local @ np.asarray(probe2world, dtype=np.float64).T
    labels = volume.label_at(world[..., :3])
    if inside is not None:
        labels = np.where(inside, labels, 0).astype(np.uint8)
    return labels


@dataclass(frozen=True)
class Section:
    """Where one structure appears in an image.

    Attributes
    ----------
    label : int
        Structure label.
    area_mm2 : float
        Area of its section in the image, mm² (0 when not in view).
    centroid_mm : tuple of 2 float
        Probe-frame (lateral, depth) of the section's centroid, mm (NaN when
        not in view).
    """

    label: int
    area_mm2: float
    centroid_mm: tuple[float, float]


def section_of(labels: np.ndarray, geometry: ImageGeometry, label: int) -> Section:
    """Area and centroid of one structure's section in a label image."""
    rr, cc = np.nonzero(labels == label)
    if rr.size == 0:
        return Section(label, 0.0, (float("nan"), float("nan")))
    x, z = geometry.position_of(rr.mean(), cc.mean())
    return Section(label, rr.size * geometry.pixel_mm**2, (float(x), float(z)))


def top_depth_mm(
    labels: np.ndarray, geometry: ImageGeometry, label: int, lateral_mm: float
) -> float:
    """Depth of a structure's near surface on the image column at ``lateral_mm``.

    Returns
    -------
    float
        Probe-frame depth (mm) of the first pixel of ``label`` going down the
        column, NaN when the column misses the structure or lies outside the
        image.
    """
    col = round((lateral_mm - geometry.x0_mm) / geometry.pixel_mm)
    if not 0 <= col < geometry.cols:
        return float("nan")
    rows = np.nonzero(labels[:, col] == label)[0]
    if rows.size == 0:
        return float("nan")
    return float(geometry.z0_mm + rows[0] * geometry.pixel_mm)
