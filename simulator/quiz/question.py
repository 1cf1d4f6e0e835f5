"""One quiz question: an unlabelled B-mode image, a structure to find, the hit test.

Pixel convention: ``x_px`` is the image column, ``y_px`` the image row, both
fractional; pixel ``(row, col)`` covers ``[col - 0.5, col + 0.5) x [row - 0.5,
row + 0.5)`` and its centre lies at probe-frame ``geometry.position_of(row,
col)`` (see :class:`simulator.scan_convert.ImageGeometry`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from simulator.scan_convert import ImageGeometry

#: Words kept capitalised at the start of a display name (eponyms).
_EPONYMS = ("Hoffa", "Kager", "Baxter", "Guyon")
#: Connected parts of a structure's section smaller than this are not part of
#: the hit region (specks at a mesh's grazing edge), mm².
MIN_PART_MM2 = 1.0


def display_name_of(name: str, label_text: str | None = None) -> str:
    """Name of a structure as the prompt says it.

    Parameters
    ----------
    name : str
        Structure name of the scene file (``"median_nerve"``).
    label_text : str, optional
        The procedure's overlay label for it (``"Median nerve"``); preferred.

    Returns
    -------
    str
        ``"median nerve"``: the label text with its first letter lowered
        (unless the first word is an acronym or an eponym), else the name with
        underscores as spaces.
    """
    if not label_text:
        return name.replace("_", " ")
    first = label_text.split(" ", 1)[0]
    if first.isupper() or first.startswith(_EPONYMS):
        return label_text
    return label_text[0].lower() + label_text[1:]


@dataclass(frozen=True)
class Answer:
    """The outcome of one click.

    Attributes
    ----------
    correct : bool
        The click lies inside the named structure's section.
    structure_clicked : str or None
        Display name of the structure under the click (the asked one when
        correct); None on background or outside the image.
    distance_mm : float
        Distance from the click to the nearest pixel of the named structure's
        section, mm (0 when correct).
    """

    correct: bool
    structure_clicked: str | None
    distance_mm: float


@dataclass(frozen=True, eq=False)
class Question:
    """A generated view and the structure to find in it.

    Attributes
    ----------
    scene : str
        Scene name.
    scene_title : str
    structure : str
        Structure name of the scene file (``"median_nerve"``).
    display_name : str
        The name in the prompt (``"median nerve"``).
    image : ndarray, shape (rows, cols), uint8
        The B-mode image without labels.
    labels : ndarray, shape (rows, cols), uint8
        Structure label under each pixel (0: background or outside the sector).
    region : ndarray, shape (rows, cols), bool
        The named structure's section as the hit test counts it: its own
        pixels and those of its parts (a nerve's fascicles, an artery's wall
        around its lumen), holes filled, specks under ``MIN_PART_MM2`` dropped.
    geometry : ImageGeometry
        Millimetre geometry of the image (probe frame).
    probe2world : ndarray, shape (4, 4), float64
        Probe pose the image was made at.
    names : tuple of str
        Display name of each label: ``names[label - 1]`` (parts named as
        their whole: a fascicle click names the nerve).
    colour : tuple of 3 float
        The structure's display colour, RGB in [0, 1] (for the revealed outline).
    answer_px : tuple of 2 float
        ``(x_px, y_px)`` of a pixel well inside the region, nearest its
        centroid: where a perfect click lands.
    """

    scene: str
    scene_title: str
    structure: str
    display_name: str
    image: np.ndarray
    labels: np.ndarray
    region: np.ndarray
    geometry: ImageGeometry
    probe2world: np.ndarray
    names: tuple[str, ...]
    colour: tuple[float, float, float] = (0.2, 1.0, 0.3)
    answer_px: tuple[float, float] = field(default=(math.nan, math.nan))

    @property
    def prompt(self) -> str:
        """What the trainee is asked: ``"Click the median nerve"``."""
        return f"Click the {self.display_name}"

    @property
    def area_mm2(self) -> float:
        """Area of the hit region, mm²."""
        return float(self.region.sum()) * self.geometry.pixel_mm**2

    def pixel_mm(self, x_px: float, y_px: float) -> tuple[float, float]:
        """Probe-frame ``(lateral_mm, depth_mm)`` of an image point."""
        return self.geometry.position_of(y_px, x_px)

    def check(self, x_px: float, y_px: float) -> Answer:
        """Hit-test a click on the image.

        Parameters
        ----------
        x_px, y_px : float
            Image column and row of the click (fractional; may lie outside).

        Returns
        -------
        Answer
        """
        rows, cols = self.labels.shape
        row, col = math.floor(y_px + 0.5), math.floor(x_px + 0.5)
        inside = 0 <= row < rows and 0 <= col < cols
        if inside and self.region[row, col]:
            return Answer(True, self.display_name, 0.0)
        clicked = None
        if inside:
            label = int(self.labels[row, col])
            clicked = self.names[label - 1] if label > 0 else None
        rr, cc = np.nonzero(self.region)
        d_px = np.hypot(rr - y_px, cc - x_px).min() if rr.size else math.inf
        return Answer(False, clicked, float(d_px * self.geometry.pixel_mm))


def group_names(structures: Sequence[str]) -> dict[str, str]:
    """The whole each structure belongs to (itself for most).

    ``X_fascicles`` belongs to ``X`` and ``X_wall`` to ``X_lumen`` when those
    exist: a click on a nerve's fascicle is a click on the nerve, on an
    artery's wall a click on the artery.
    """
    known = set(structures)
    out = {}
    for name in structures:
        whole = name
        if name.endswith("_fascicles") and name[: -len("_fascicles")] in known:
            whole = name[: -len("_fascicles")]
        elif name.endswith("_wall") and name[: -len("_wall")] + "_lumen" in known:
            whole = name[: -len("_wall")] + "_lumen"
        out[name] = whole
    return out


def hit_region(
    labels: np.ndarray,
    members: Sequence[int],
    pixel_mm: float,
    min_part_mm2: float = MIN_PART_MM2,
) -> np.ndarray:
    """Pixels that count as a structure: its members' pixels, specks dropped, holes filled.

    Parameters
    ----------
    labels : ndarray, shape (rows, cols), integer
    members : sequence of int
        Labels of the structure and its parts.
    pixel_mm : float
        Pixel size, mm.
    min_part_mm2 : float
        Connected parts smaller than this are dropped, mm².

    Returns
    -------
    ndarray, shape (rows, cols), bool
    """
    mask = np.isin(labels, np.asarray(list(members), dtype=labels.dtype))
    parts, n = ndimage.label(mask)
    if n == 0:
        return mask
    sizes = np.bincount(parts.ravel(), minlength=n + 1)
    sizes[0] = 0
    keep = sizes >= max(1, math.ceil(min_part_mm2 / pixel_mm**2))
    return ndimage.binary_fill_holes(keep[parts])


def interior_point(region: np.ndarray) -> tuple[float, float]:
    """``(x_px, y_px)`` of the region pixel deepest inside it, nearest its centroid.

    Returns NaNs for an empty region.
    """
    if not region.any():
        return (math.nan, math.nan)
    depth = ndimage.distance_transform_edt(np.pad(region, 1))[1:-1, 1:-1]
    rr, cc = np.nonzero(depth >= depth.max() - 0.5)
    sr, sc = np.nonzero(region)
    k = int(np.argmin((rr - sr.mean()) ** 2 + (cc - sc.mean()) ** 2))
    return float(cc[k]), float(rr[k])


def label_names(
    structures: Sequence[str], label_texts: Mapping[str, str] | None = None
) -> tuple[str, ...]:
    """Display name of every label (``[label - 1]``), parts named as their whole."""
    texts = dict(label_texts or {})
    wholes = group_names(structures)
    return tuple(display_name_of(wholes[s], texts.get(wholes[s])) for s in structures)
