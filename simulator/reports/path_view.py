"""The needle path drawn over a section of the anatomy.

The section is the plane containing the needle path: through the mean skin
entry point, spanned by the mean needle direction (its part across the beam)
and the beam (depth) axis of the median probe pose. Each pixel is coloured by
the structure at that point (the scene's display colours); the tip path is
projected onto the plane and drawn over it with the entry point, the target
and a millimetre scale bar. Pure NumPy + Pillow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

#: Size of a section pixel, mm.
DEFAULT_PIXEL_MM = 0.25
#: Margin around the path and target, mm.
MARGIN_MM = 12.0
#: Smallest section side, mm.
MIN_SIDE_MM = 40.0
#: Drawing upscale of the section pixels (lines and text look smoother).
UPSCALE = 3
#: Colour of label 0 (background tissue) and of points outside the volume.
BACKGROUND_RGB = (235, 222, 205)
OUTSIDE_RGB = (255, 255, 255)


@dataclass(frozen=True)
class SectionPlane:
    """A plane through the anatomy.

    Attributes
    ----------
    origin_mm : ndarray, shape (3,)
        World point at section coordinates (0, 0), mm.
    u : ndarray, shape (3,)
        Unit world vector of the section's horizontal axis (right).
    v : ndarray, shape (3,)
        Unit world vector of its vertical axis (down: depth).
    """

    origin_mm: np.ndarray
    u: np.ndarray
    v: np.ndarray

    def project(self, points_mm: np.ndarray) -> np.ndarray:
        """Section coordinates (along u, along v) of world points, mm, shape (n, 2)."""
        p = np.atleast_2d(np.asarray(points_mm, dtype=np.float64)) - self.origin_mm
        return np.stack([p @ self.u, p @ self.v], axis=1)

    def world(self, uv_mm: np.ndarray) -> np.ndarray:
        """World points of section coordinates, shape (..., 3)."""
        uv = np.asarray(uv_mm, dtype=np.float64)
        return self.origin_mm + uv[..., :1] * self.u + uv[..., 1:2] * self.v


def _unit(v: np.ndarray) -> np.ndarray | None:
    n = float(np.linalg.norm(v))
    return None if n < 1e-9 else v / n


def needle_plane(samples: Sequence[Mapping[str, Any]]) -> SectionPlane:
    """The section plane of an attempt's samples (see the module docstring).

    Without a needle the plane is the median probe pose's image plane
    (probe x across, probe z down).

    Raises
    ------
    ValueError
        Without samples.
    """
    if not samples:
        raise ValueError("needle path view: the attempt has no samples")
    poses = np.array([np.asarray(s["probe2world"], float).reshape(4, 4) for s in samples])
    median = np.median(poses, axis=0)
    depth = _unit(median[:3, 2])
    if depth is None:
        depth = np.array([0.0, 0.0, -1.0])
    lateral = _unit(median[:3, 0] - (median[:3, 0] @ depth) * depth)
    if lateral is None:
        lateral = _unit(np.cross(depth, [0.0, 1.0, 0.0]))
    if lateral is None:
        lateral = np.array([1.0, 0.0, 0.0])
    with_needle = [s for s in samples if s.get("tip_mm") is not None and s.get("entry_mm")]
    origin = median[:3, 3]
    u = lateral
    if with_needle:
        entries = np.array([s["entry_mm"] for s in with_needle], float)
        tips = np.array([s["tip_mm"] for s in with_needle], float)
        origin = entries.mean(axis=0)
        dirs = tips - entries
        norms = np.linalg.norm(dirs, axis=1)
        ok = norms > 1e-6
        if ok.any():
            mean_dir = (dirs[ok] / norms[ok, None]).mean(axis=0)
            across = _unit(mean_dir - (mean_dir @ depth) * depth)
            if across is not None:
                u = across
    return SectionPlane(origin, u, depth)


def label_section(
    volume: Any,
    plane: SectionPlane,
    u_range_mm: tuple[float, float],
    v_range_mm: tuple[float, float],
    pixel_mm: float = DEFAULT_PIXEL_MM,
) -> np.ndarray:
    """Structure label at each pixel of a rectangle of the plane.

    Parameters
    ----------
    volume : AcousticVolume
    plane : SectionPlane
    u_range_mm, v_range_mm : (float, float)
        Rectangle in section coordinates, mm.
    pixel_mm : float
        Pixel size, mm.

    Returns
    -------
    ndarray, shape (rows, cols), int16
        Label per pixel (rows along v, cols along u); -1 outside the volume.
    """
    us = np.arange(u_range_mm[0], u_range_mm[1], pixel_mm) + 0.5 * pixel_mm
    vs = np.arange(v_range_mm[0], v_range_mm[1], pixel_mm) + 0.5 * pixel_mm
    uu, vv = np.meshgrid(us, vs)
    pts = plane.world(np.stack([uu, vv], axis=-1))
    idx = np.rint((pts - volume.origin_mm) / volume.spacing_mm).astype(np.int64)
    inside = np.all((idx >= 0) & (idx < np.array(volume.shape)), axis=-1)
    out = np.full(uu.shape, -1, dtype=np.int16)
    i = idx[inside]
    out[inside] = volume.labels[i[:, 0], i[:, 1], i[:, 2]]
    return out


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def _palette(scene: Any) -> np.ndarray:
    """RGB uint8 per label; index -1 (last row) is outside the volume."""
    structures = scene.volume.structures
    pal = np.zeros((len(structures) + 1, 3), dtype=np.uint8)
    pal[0] = BACKGROUND_RGB
    colours = {s.name: s.colour for s in scene.spec.structures}
    for label in range(1, len(structures)):
        c = colours.get(structures[label].name, (0.6, 0.6, 0.6))
        # lighten: the path and markers must stand out
        pal[label] = np.round(255 * (0.35 + 0.65 * np.asarray(c[:3], float)))
    pal[-1] = OUTSIDE_RGB
    return pal


@dataclass(frozen=True)
class PathView:
    """The drawn section.

    Attributes
    ----------
    rgb : ndarray, shape (h, w, 3), uint8
    pixel_mm : float
        Size of a drawn pixel, mm.
    structures : tuple of str
        Structures shown (largest area first), for the legend.
    path_mm : ndarray, shape (n, 2)
        Projected tip path in section coordinates, mm.
    """

    rgb: np.ndarray
    pixel_mm: float
    structures: tuple[str, ...]
    path_mm: np.ndarray


def draw_path_view(
    scene: Any, samples: Sequence[Mapping[str, Any]], pixel_mm: float = DEFAULT_PIXEL_MM
) -> PathView:
    """Draw the needle path of an attempt over a section of its scene.

    Parameters
    ----------
    scene : Scene
        The loaded scene (``spec.structures`` colours, ``volume``).
    samples : sequence of dict
        Stored samples (``probe2world``, ``entry_mm``, ``tip_mm``).
    pixel_mm : float
        Section pixel size, mm.

    Returns
    -------
    PathView
    """
    plane = needle_plane(samples)
    tips = np.array([s["tip_mm"] for s in samples if s.get("tip_mm") is not None], float)
    entries = np.array([s["entry_mm"] for s in samples if s.get("entry_mm") is not None], float)
    path = plane.project(tips) if len(tips) else np.zeros((0, 2))
    entry_uv = plane.project(entries).mean(axis=0) if len(entries) else None
    proc = getattr(scene.spec, "procedure", None)
    target_uv = plane.project(np.asarray(proc.target.point_mm))[0] if proc is not None else None
    pts = [p for p in (path, entry_uv, target_uv) if p is not None]
    allp = np.vstack([np.atleast_2d(p) for p in pts]) if pts else np.zeros((1, 2))
    lo, hi = allp.min(axis=0) - MARGIN_MM, allp.max(axis=0) + MARGIN_MM
    centre, side = 0.5 * (lo + hi), np.maximum(hi - lo, MIN_SIDE_MM)
    lo, hi = centre - 0.5 * side, centre + 0.5 * side
    labels = label_section(scene.volume, plane, (lo[0], hi[0]), (lo[1], hi[1]), pixel_mm)
    pal = _palette(scene)
    rgb = pal[labels]
    img = Image.fromarray(rgb).resize(
        (rgb.shape[1] * UPSCALE, rgb.shape[0] * UPSCALE), Image.Resampling.NEAREST
    )
    draw = ImageDraw.Draw(img)
    scale = UPSCALE / pixel_mm  # drawn pixels per mm

    def xy(p: np.ndarray) -> tuple[float, float]:
        return (float((p[0] - lo[0]) * scale), float((p[1] - lo[1]) * scale))

    if target_uv is not None:
        tx, ty = xy(target_uv)
        r = (proc.target.radius_mm or 0.0) * scale
        if r > 0:
            draw.ellipse([tx - r, ty - r, tx + r, ty + r], outline=(0, 150, 40), width=3)
        for dx, dy in ((-12, 0), (12, 0), (0, -12), (0, 12)):
            draw.line([(tx, ty), (tx + dx, ty + dy)], fill=(0, 150, 40), width=4)
    if len(path) >= 2:
        draw.line([xy(p) for p in path], fill=(200, 20, 20), width=3, joint="curve")
    if len(path):
        ex, ey = xy(path[-1])
        draw.ellipse([ex - 6, ey - 6, ex + 6, ey + 6], fill=(200, 20, 20))
    if entry_uv is not None:
        ex, ey = xy(entry_uv)
        draw.rectangle([ex - 7, ey - 7, ex + 7, ey + 7], outline=(20, 20, 20), width=3)
    # scale bar: 10 mm, bottom left
    bar_mm = 10.0 if side.min() >= 30 else 5.0
    h = img.height
    x0, y0 = 15, h - 25
    draw.rectangle([x0 - 5, y0 - 22, x0 + bar_mm * scale + 50, y0 + 10], fill=(255, 255, 255))
    draw.line([(x0, y0), (x0 + bar_mm * scale, y0)], fill=(0, 0, 0), width=5)
    draw.text(
        (x0 + bar_mm * scale + 6, y0 - 10), f"{bar_mm:.0f} mm", fill=(0, 0, 0), font=_font(18)
    )
    present, counts = np.unique(labels[labels >= 0], return_counts=True)
    names = tuple(
        scene.volume.structures[int(lab)].name
        for lab, _ in sorted(zip(present, counts, strict=True), key=lambda t: -t[1])
        if lab > 0
    )
    return PathView(np.asarray(img), pixel_mm / UPSCALE, names, path)


def legend_items(scene: Any, names: Sequence[str]) -> list[tuple[str, tuple[int, int, int]]]:
    """(structure name, RGB) of the structures shown, in the section's colours."""
    pal = _palette(scene)
    out = []
    for n in names:
        try:
            label = scene.volume.structure_index(n)
        except KeyError:
            continue
        out.append((n, tuple(int(c) for c in pal[label])))
    return out


__all__ = [
    "PathView",
    "SectionPlane",
    "draw_path_view",
    "label_section",
    "legend_items",
    "needle_plane",
]
