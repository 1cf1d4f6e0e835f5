"""Outlines and name anchors of the structures in a label image (teaching overlay).

Pure NumPy/SciPy: the Qt image view turns the RGBA outline picture into an
overlay and writes each name at its anchor. Each structure's outline is the
boundary of its visible sections with holes filled (a nerve's outline is its
epineurium, not each fascicle); edges along the image border or the sector
edge are not outlines. Sections smaller than ``min_area_mm2`` are ignored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy import ndimage

from simulator.image_labels import label_image
from simulator.scan_convert import ImageGeometry
from simulator.volume import AcousticVolume

#: Smallest visible section outlined and named, mm².
MIN_AREA_MM2 = 2.0
#: Depth inside a section beyond which the name anchor prefers the centroid, mm.
_ANCHOR_DEPTH_MM = 2.5


@dataclass(frozen=True)
class LabelAnchor:
    """Where to write one structure's name.

    Attributes
    ----------
    label : int
        Structure label.
    row, col : float
        Image pixel of the anchor, inside the structure's largest visible
        section, well away from its edges.
    area_mm2 : float
        Area of that section, mm².
    """

    label: int
    row: float
    col: float
    area_mm2: float


@dataclass(frozen=True)
class Outlines:
    """Outline picture and name anchors of a label image.

    Attributes
    ----------
    rgba : ndarray, shape (rows, cols, 4), uint8
        Outline pixels in their structure's colour (alpha 255), transparent
        elsewhere.
    anchors : tuple of LabelAnchor
        One per structure outlined, in the order of the colour mapping.
    """

    rgba: np.ndarray
    anchors: tuple[LabelAnchor, ...]


def _rgb8(colour: Sequence[float]) -> np.ndarray:
    return np.clip(np.round(np.asarray(colour[:3], dtype=np.float64) * 255.0), 0, 255).astype(
        np.uint8
    )


def structure_outlines(
    labels: np.ndarray,
    colours: Mapping[int, Sequence[float]],
    pixel_mm: float,
    inside: np.ndarray | None = None,
    min_area_mm2: float = MIN_AREA_MM2,
) -> Outlines:
    """Outline every coloured structure of a label image and find its name anchor.

    Parameters
    ----------
    labels : ndarray, shape (rows, cols), integer
        Structure label per image pixel (0: background).
    colours : mapping of int to sequence of 3 float
        Structures to outline: label -> RGB in [0, 1]. Where two of them
        meet, the boundary is drawn once, inside the smaller one in its colour.
    pixel_mm : float
        Image pixel size, mm.
    inside : ndarray, shape (rows, cols), bool, optional
        Pixels inside the imaged sector; a structure's edge along the sector
        border is not drawn.
    min_area_mm2 : float
        Sections (connected parts) smaller than this are ignored, mm².

    Returns
    -------
    Outlines

    Raises
    ------
    ValueError
        If ``labels`` is not 2-D or ``inside`` has another shape.
    """
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise ValueError(f"labels must be a 2-D (rows, cols) array, got shape {labels.shape}")
    if inside is not None and np.shape(inside) != labels.shape:
        raise ValueError(f"inside has shape {np.shape(inside)} but labels has shape {labels.shape}")
    rows, cols = labels.shape
    rgba = np.zeros((rows, cols, 4), dtype=np.uint8)
    anchors: list[LabelAnchor] = []
    min_px = max(1, int(np.ceil(min_area_mm2 / pixel_mm**2)))
    boxes = ndimage.find_objects(labels.astype(np.intp, copy=False))
    inside_b = None if inside is None else np.asarray(inside, dtype=bool)
    drawn: list[tuple[int, tuple[slice, slice], np.ndarray, np.ndarray]] = []
    for label, colour in colours.items():
        label = int(label)
        if not 0 < label <= len(boxes) or boxes[label - 1] is None:
            continue
        box = boxes[label - 1]
        r0, r1 = max(box[0].start - 1, 0), min(box[0].stop + 1, rows)
        c0, c1 = max(box[1].start - 1, 0), min(box[1].stop + 1, cols)
        crop = (slice(r0, r1), slice(c0, c1))
        parts, n = ndimage.label(labels[crop] == label)
        sizes = np.bincount(parts.ravel(), minlength=n + 1)
        sizes[0] = 0
        keep = sizes >= min_px
        if not keep.any():
            continue
        filled = ndimage.binary_fill_holes(keep[parts])
        drawn.append((int(sizes[keep].sum()), crop, filled, _rgb8(colour)))
        largest = int(np.argmax(sizes))
        row, col = _anchor(parts == largest, _ANCHOR_DEPTH_MM / pixel_mm)
        anchors.append(LabelAnchor(label, row + r0, col + c0, float(sizes[largest] * pixel_mm**2)))
    # largest first: where two outlined structures meet, the smaller one's
    # edge (inside it, in its colour) replaces the larger one's, so a shared
    # boundary is one line, not two
    for _, crop, filled, rgb in sorted(drawn, key=lambda d: -d[0]):
        solid = filled if inside_b is None else filled | ~inside_b[crop]
        # border_value=1: a section cut by the image border has no edge there
        edge = filled & ~ndimage.binary_erosion(solid, border_value=1)
        target = rgba[crop]
        target[ndimage.binary_dilation(filled) & ~filled] = 0
        target[edge, :3] = rgb
        target[edge, 3] = 255
    return Outlines(rgba=rgba, anchors=tuple(anchors))


def _anchor(section: np.ndarray, depth_px: float) -> tuple[float, float]:
    """A pixel of ``section`` deep inside it, nearest its centroid among such pixels."""
    step = max(1, int(depth_px // 6))  # the distance map on a coarser grid is enough
    coarse = section[::step, ::step]
    if not coarse.any():
        coarse, step = section, 1
    depth = ndimage.distance_transform_edt(np.pad(coarse, 1))[1:-1, 1:-1]
    depth = np.minimum(depth, depth_px / step)
    rr, cc = np.nonzero(depth >= depth.max() - 0.5)
    sr, sc = np.nonzero(coarse)
    k = int(np.argmin((rr - sr.mean()) ** 2 + (cc - sc.mean()) ** 2))
    return float(rr[k] * step), float(cc[k] * step)


@dataclass(frozen=True)
class LabelOverlay:
    """The teaching overlay of one frame, computed off the GUI thread.

    Attributes
    ----------
    labels : ndarray, shape (geometry.rows, geometry.cols), uint8
        Structure label per overlay pixel.
    geometry : ImageGeometry
        Pixel grid of ``labels`` (the frame's grid, possibly every
        ``stride``-th pixel).
    outlines : Outlines
        Outline picture and name anchors, in ``labels`` pixels.
    """

    labels: np.ndarray
    geometry: ImageGeometry
    outlines: Outlines


def make_overlay(
    volume: AcousticVolume,
    geometry: ImageGeometry,
    probe2world: np.ndarray,
    inside: np.ndarray,
    colours: Mapping[int, Sequence[float]],
    stride: int = 2,
) -> LabelOverlay:
    """Labels and outlines of a frame on every ``stride``-th pixel.

    A stride of 2 costs a quarter of the full-resolution work; the outline
    picture is drawn scaled over the image, where half a display pixel of
    offset does not show.

    Parameters
    ----------
    volume : AcousticVolume
    geometry : ImageGeometry
        The frame's pixel grid.
    probe2world : ndarray, shape (4, 4)
    inside : ndarray, shape (geometry.rows, geometry.cols), bool
    colours : mapping of int to 3 floats
        Structures to outline: label -> RGB in [0, 1].
    stride : int
        Pixel step (1: full resolution).
    """
    coarse = replace(
        geometry,
        rows=-(-geometry.rows // stride),
        cols=-(-geometry.cols // stride),
        pixel_mm=geometry.pixel_mm * stride,
    )
    inside_coarse = np.ascontiguousarray(inside[::stride, ::stride])
    labels = label_image(volume, coarse, probe2world, inside_coarse)
    outlines = structure_outlines(labels, colours, coarse.pixel_mm, inside_coarse)
    return LabelOverlay(labels, coarse, outlines)
