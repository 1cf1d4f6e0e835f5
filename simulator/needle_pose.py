"""The needle as the hand holds it: entry point, heading, angle and depth.

This module is the needle's pose and the intents the controls send
(place, advance, withdraw, redirect). It knows only geometry: the skin
entry point is a pivot, the shaft is straight, insertion is clamped to the
shaft length. Tissue resistance, bone contact and bending belong to the
needle kinematics that consume these intents.

Angles are clinical: ``heading_deg`` is the direction of travel projected on
the skin, measured in the world xy plane from +x toward +y; ``angle_deg`` is
the insertion angle below the skin (0 = parallel to the skin, 90 = straight
down, +z).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

#: Outer diameter of common hypodermic needles by gauge, mm (ISO 9626:2016,
#: regular wall).
OUTER_DIAMETER_MM = {
    18: 1.27,
    20: 0.908,
    21: 0.819,
    22: 0.718,
    23: 0.642,
    25: 0.515,
    27: 0.413,
    30: 0.312,
}
#: Allowed insertion angles below the skin, degrees.
MIN_ANGLE_DEG = 5.0
MAX_ANGLE_DEG = 90.0
#: Bevel (primary grind) angle of a regular hypodermic needle, degrees
#: (regular bevel about 12 deg; short bevel about 18 deg; nerve-block
#: needles 30 deg and more).
DEFAULT_BEVEL_DEG = 12.0


def outer_diameter_mm(gauge: int) -> float:
    """Outer diameter of a ``gauge`` needle, mm.

    Raises
    ------
    ValueError
        For a gauge not in ``OUTER_DIAMETER_MM`` (the message lists them).
    """
    try:
        return OUTER_DIAMETER_MM[int(gauge)]
    except KeyError:
        known = ", ".join(str(g) for g in OUTER_DIAMETER_MM)
        raise ValueError(f"needle gauge {gauge}: expected one of {known}") from None


def direction_of(heading_deg: float, angle_deg: float) -> np.ndarray:
    """Unit shaft direction (hub to tip) from heading and insertion angle.

    Returns
    -------
    ndarray, shape (3,), float64
        World direction; its z component is ``sin(angle)`` (into the body).
    """
    h, a = math.radians(heading_deg), math.radians(angle_deg)
    return np.array([math.cos(a) * math.cos(h), math.cos(a) * math.sin(h), math.sin(a)])


def heading_angle_of(
    direction: np.ndarray, default_heading_deg: float = 0.0
) -> tuple[float, float]:
    """Heading and insertion angle of a shaft direction (inverse of ``direction_of``).

    Parameters
    ----------
    direction : ndarray, shape (3,)
        Shaft direction, hub to tip (need not be unit).
    default_heading_deg : float
        Heading returned for a vertical shaft, whose heading is undefined.

    Returns
    -------
    heading_deg, angle_deg : float
        Heading in (-180, 180], angle below the skin in [-90, 90].

    Raises
    ------
    ValueError
        For a zero or non-finite direction.
    """
    d = np.asarray(direction, dtype=np.float64)
    n = float(np.linalg.norm(d))
    if not (math.isfinite(n) and n > 0.0):
        raise ValueError(f"needle direction {tuple(d)}: expected a non-zero finite vector")
    d = d / n
    angle = math.degrees(math.asin(min(max(d[2], -1.0), 1.0)))
    if math.hypot(d[0], d[1]) < 1e-12:
        return float(default_heading_deg), angle
    return math.degrees(math.atan2(d[1], d[0])), angle


@dataclass(frozen=True)
class NeedlePose:
    """A straight needle pivoting about its skin entry point.

    Attributes
    ----------
    entry_mm : tuple of 3 float
        Skin entry point, world mm.
    heading_deg : float
        Direction of travel on the skin, degrees from world +x toward +y.
    angle_deg : float
        Insertion angle below the skin, degrees (5..90).
    depth_mm : float
        Length of shaft inside the body (tip distance from the entry point
        along the shaft), mm; 0 = the tip rests on the skin.
    gauge : int
        Needle gauge (``OUTER_DIAMETER_MM`` keys).
    length_mm : float
        Shaft length, mm.
    bevel_deg : float
        Bevel angle of the tip, degrees (0 < bevel <= 90; 90 = blunt).
    """

    entry_mm: tuple[float, float, float]
    heading_deg: float = 0.0
    angle_deg: float = 30.0
    depth_mm: float = 0.0
    gauge: int = 22
    length_mm: float = 50.0
    bevel_deg: float = DEFAULT_BEVEL_DEG

    def __post_init__(self) -> None:
        outer_diameter_mm(self.gauge)  # validates the gauge
        if not self.length_mm > 0.0:
            raise ValueError(f"needle length_mm = {self.length_mm}: expected > 0 mm")
        if not 0.0 < self.bevel_deg <= 90.0:
            raise ValueError(f"needle bevel_deg = {self.bevel_deg}: expected 0 < bevel <= 90 deg")

    @property
    def direction(self) -> np.ndarray:
        """Unit shaft direction from hub to tip, shape (3,)."""
        return direction_of(self.heading_deg, self.angle_deg)

    @property
    def tip_mm(self) -> np.ndarray:
        """Tip position, world mm, shape (3,)."""
        return np.asarray(self.entry_mm, dtype=np.float64) + self.depth_mm * self.direction

    @property
    def hub_mm(self) -> np.ndarray:
        """Hub position (shaft end outside the body), world mm, shape (3,)."""
        return self.tip_mm - self.length_mm * self.direction

    @property
    def inserted(self) -> bool:
        """True once the tip is under the skin."""
        return self.depth_mm > 0.0

    @property
    def diameter_mm(self) -> float:
        """Outer diameter, mm."""
        return outer_diameter_mm(self.gauge)

    @property
    def bevel_length_mm(self) -> float:
        """Length of the bevel face along the shaft, mm (``diameter / tan(bevel)``)."""
        return self.diameter_mm / math.tan(math.radians(self.bevel_deg))

    # ------------------------------------------------------------ intents
    def advanced(self, d_mm: float) -> NeedlePose:
        """Copy pushed in by ``d_mm`` (negative withdraws), clamped to 0..length."""
        depth = min(max(self.depth_mm + d_mm, 0.0), self.length_mm)
        return replace(self, depth_mm=round(depth, 6))

    def redirected(self, d_angle_deg: float = 0.0, d_heading_deg: float = 0.0) -> NeedlePose:
        """Copy turned about the entry point: steeper/shallower and sideways."""
        angle = min(max(self.angle_deg + d_angle_deg, MIN_ANGLE_DEG), MAX_ANGLE_DEG)
        heading = (self.heading_deg + d_heading_deg + 180.0) % 360.0 - 180.0
        return replace(self, angle_deg=angle, heading_deg=heading)


def aimed_at(
    entry_mm: np.ndarray | tuple[float, float, float],
    target_mm: np.ndarray | tuple[float, float, float],
    gauge: int = 22,
    length_mm: float = 50.0,
) -> NeedlePose:
    """A needle on the skin at ``entry_mm`` pointing at ``target_mm`` (not inserted).

    Raises
    ------
    ValueError
        If the target is not below the entry point.
    """
    e = np.asarray(entry_mm, dtype=np.float64)
    d = np.asarray(target_mm, dtype=np.float64) - e
    horizontal = math.hypot(d[0], d[1])
    if d[2] <= 0.0:
        raise ValueError(f"needle target {tuple(d)} mm from the entry is not below the skin")
    angle = math.degrees(math.atan2(d[2], horizontal))
    heading = math.degrees(math.atan2(d[1], d[0])) if horizontal > 1e-9 else 0.0
    pose = NeedlePose(tuple(float(v) for v in e), heading, 0.0, 0.0, gauge, length_mm)  # type: ignore[arg-type]
    return replace(pose, angle_deg=min(max(angle, MIN_ANGLE_DEG), MAX_ANGLE_DEG))


def in_plane_entry(
    probe2world: np.ndarray,
    half_footprint_mm: float,
    target_depth_mm: float,
    gap_mm: float = 5.0,
    side: int = -1,
) -> tuple[np.ndarray, np.ndarray]:
    """Entry point and aim point for an in-plane approach from one probe end.

    Parameters
    ----------
    probe2world : ndarray, shape (4, 4)
    half_footprint_mm : float
        Half the probe's face length along its array, mm.
    target_depth_mm : float
        Depth below the face centre to aim at, mm.
    gap_mm : float
        Distance of the entry point beyond the probe end, mm.
    side : int
        -1 enters at the end opposite the notch, +1 at the notch end.

    Returns
    -------
    entry_mm, aim_mm : ndarray, shape (3,)
        World points: the entry on the probe's face plane, the aim point
        on the central beam.
    """
    m = np.asarray(probe2world, dtype=np.float64)
    entry = m[:3, 3] + side * (half_footprint_mm + gap_mm) * m[:3, 0]
    aim = m[:3, 3] + target_depth_mm * m[:3, 2]
    return entry, aim
