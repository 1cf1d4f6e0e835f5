"""Draw a B-mode frame with its teaching overlay into a picture (Pillow).

Used by ``main.py gallery`` and for documentation images: the image at its
true aspect ratio, a depth scale in centimetres, each labelled structure's
outline in its display colour with its name, the target point, and a title.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage

from simulator.display import to_uint8
from simulator.image_labels import section_of
from simulator.scan_convert import ImageGeometry

#: Width of the drawn ultrasound image, pixels.
IMAGE_WIDTH_PX = 900
MARGIN_LEFT_PX = 56
MARGIN_TOP_PX = 44
MARGIN_BOTTOM_PX = 12
MARGIN_RIGHT_PX = 12


@dataclass(frozen=True)
class OverlayLabel:
    """One structure to outline and name.

    Attributes
    ----------
    label : int
        Structure label in the label image.
    text : str
        Name shown.
    colour : tuple of 3 float
        RGB in [0, 1].
    """

    label: int
    text: str
    colour: tuple[float, float, float]


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: fixed-size bitmap font
        return ImageFont.load_default()


def _rgb(colour: Sequence[float]) -> tuple[int, int, int]:
    return tuple(round(255 * c) for c in colour)  # type: ignore[return-value]


def draw_overlay(
    image: np.ndarray,
    geometry: ImageGeometry,
    labels: np.ndarray,
    items: Sequence[OverlayLabel],
    title: str = "",
    target_mm: tuple[float, float] | None = None,
) -> Image.Image:
    """The frame with depth scale, outlines, names, target and title.

    Parameters
    ----------
    image : ndarray, shape (rows, cols), float in [0, 1]
        The B-mode image (``BModeFrame.image``).
    geometry : ImageGeometry
        Its pixel geometry.
    labels : ndarray, shape (rows, cols), uint8
        Structure label per pixel (``simulator.image_labels.label_image``).
    items : sequence of OverlayLabel
        Structures to outline and name, in drawing order.
    title : str
        Text above the image.
    target_mm : tuple of 2 float, optional
        Probe-frame (lateral, depth) of the target point, drawn as a cross.

    Returns
    -------
    PIL.Image.Image
        RGB picture.
    """
    scale = IMAGE_WIDTH_PX / geometry.cols
    width = IMAGE_WIDTH_PX
    height = round(geometry.rows * scale)
    grey = Image.fromarray(to_uint8(image)).resize((width, height), Image.Resampling.BILINEAR)
    rgb = np.repeat(np.asarray(grey)[..., None], 3, axis=2).copy()
    label_big = np.asarray(
        Image.fromarray(labels).resize((width, height), Image.Resampling.NEAREST)
    )
    for item in items:
        # holes filled: a nerve's outline is its epineurium, not each fascicle
        mask = ndimage.binary_fill_holes(label_big == item.label)
        edge = mask & ~ndimage.binary_erosion(mask, iterations=2)
        rgb[edge] = _rgb(item.colour)
    canvas = Image.new(
        "RGB",
        (MARGIN_LEFT_PX + width + MARGIN_RIGHT_PX, MARGIN_TOP_PX + height + MARGIN_BOTTOM_PX),
        (16, 16, 20),
    )
    canvas.paste(Image.fromarray(rgb), (MARGIN_LEFT_PX, MARGIN_TOP_PX))
    draw = ImageDraw.Draw(canvas)
    _depth_scale(draw, geometry, scale)
    draw.text((MARGIN_LEFT_PX, 10), title, fill=(235, 235, 235), font=_font(20))

    def to_canvas(x_mm: float, z_mm: float) -> tuple[float, float]:
        row, col = geometry.pixel_of(x_mm, z_mm)
        return MARGIN_LEFT_PX + (col + 0.5) * scale, MARGIN_TOP_PX + (row + 0.5) * scale

    if target_mm is not None:
        tx, ty = to_canvas(*target_mm)
        for dx, dy in ((-9, 0), (9, 0), (0, -9), (0, 9)):
            draw.line([(tx, ty), (tx + dx, ty + dy)], fill=(60, 255, 90), width=3)
    font = _font(15)
    taken: list[tuple[float, float, float, float]] = []
    for item in items:
        section = section_of(labels, geometry, item.label)
        if section.area_mm2 <= 0.0:
            continue
        # anchor: the section pixel nearest its centroid (a curved band's
        # centroid may lie outside it)
        rr, cc = np.nonzero(labels == item.label)
        crow, ccol = geometry.pixel_of(*section.centroid_mm)
        k = int(np.argmin((rr - crow) ** 2 + (cc - ccol) ** 2))
        ax, ay = to_canvas(*geometry.position_of(rr[k], cc[k]))
        box = draw.textbbox((0, 0), item.text, font=font)
        w, h = box[2] - box[0] + 8, box[3] - box[1] + 6
        x = min(max(ax + 10, MARGIN_LEFT_PX), MARGIN_LEFT_PX + width - w)
        y = min(max(ay - h / 2, MARGIN_TOP_PX), MARGIN_TOP_PX + height - h)
        while any(_overlap((x, y, x + w, y + h), t) for t in taken):
            y += h + 2
        if y + h > MARGIN_TOP_PX + height:
            y = MARGIN_TOP_PX + height - h
        taken.append((x, y, x + w, y + h))
        colour = _rgb(item.colour)
        draw.ellipse([ax - 3, ay - 3, ax + 3, ay + 3], fill=colour)
        draw.line([(ax, ay), (x, y + h / 2)], fill=colour, width=1)
        draw.rectangle([x, y, x + w, y + h], fill=(0, 0, 0))
        draw.text((x + 4, y + 2), item.text, fill=colour, font=font)
    return canvas


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _depth_scale(draw: ImageDraw.ImageDraw, geometry: ImageGeometry, scale: float) -> None:
    """Ticks every 5 mm, numbered in cm every 10 mm, left of the image."""
    font = _font(13)
    depth_mm = geometry.z0_mm + geometry.rows * geometry.pixel_mm
    for tick in range(0, int(depth_mm) + 1, 5):
        y = MARGIN_TOP_PX + (tick - geometry.z0_mm) / geometry.pixel_mm * scale
        if y < MARGIN_TOP_PX - 1:
            continue
        major = tick % 10 == 0
        draw.line(
            [(MARGIN_LEFT_PX - (12 if major else 6), y), (MARGIN_LEFT_PX - 2, y)],
            fill=(200, 200, 200),
            width=2 if major else 1,
        )
        if major:
            draw.text((6, y - 7), f"{tick // 10} cm", fill=(200, 200, 200), font=font)
