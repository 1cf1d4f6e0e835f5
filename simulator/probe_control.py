"""What a hand controls when it holds the probe on the skin.

A :class:`ProbeHandle` is the five numbers a sonographer changes: where the
face centre sits on the skin (x, y), how the probe is turned on the skin
(yaw), fanned out of the image plane (tilt) and rocked heel-toe within it
(rock). Depth is not a degree of freedom: the face always sits on the skin,
which :class:`simulator.skin.SkinSurface` describes. The angle conventions are
those of :func:`simulator.probe.rotation_deg`; on a flat skin at z = 0,
``handle.probe2world(SkinSurface.flat())`` equals
``probe_pose((x, y, 0), yaw, tilt, rock)`` exactly.

Step sizes (for the keyboard/mouse bindings and the help overlay), see
:data:`STEPS`:

========  ===========  ============
step      move (mm)    angle (deg)
========  ===========  ============
fine      0.2          0.5
normal    1.0          2.0
coarse    5.0          10.0
========  ===========  ============
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from types import MappingProxyType

import numpy as np

from simulator.probe import rotation_deg
from simulator.skin import SkinSurface

#: Largest fan (tilt) angle either way, deg: a probe cannot lie flat.
MAX_TILT_DEG = 45.0
#: Largest heel-toe (rock) angle either way, deg.
MAX_ROCK_DEG = 45.0


@dataclass(frozen=True)
class Step:
    """One increment of hand motion.

    Attributes
    ----------
    move_mm : float
        Slide per step, mm.
    angle_deg : float
        Rotation, tilt or rock per step, deg.
    """

    move_mm: float
    angle_deg: float


#: Named step sizes: ``"fine"`` for the last millimetre onto a target,
#: ``"normal"`` for scanning, ``"coarse"`` for finding the region.
STEPS = MappingProxyType(
    {
        "fine": Step(move_mm=0.2, angle_deg=0.5),
        "normal": Step(move_mm=1.0, angle_deg=2.0),
        "coarse": Step(move_mm=5.0, angle_deg=10.0),
    }
)


def step_help_lines() -> list[str]:
    """One line per step size for the help overlay, e.g. ``"fine: 0.2 mm, 0.5 deg"``."""
    return [f"{name}: {s.move_mm:g} mm, {s.angle_deg:g} deg" for name, s in STEPS.items()]


def wrap_deg(angle_deg: float) -> float:
    """Angle wrapped to (-180, 180] deg (unchanged when already inside)."""
    a = float(angle_deg)
    if -180.0 < a <= 180.0:
        return a
    return a - 360.0 * math.ceil((a - 180.0) / 360.0)


def _clamp(value: float, limit: float) -> float:
    return min(max(float(value), -limit), limit)


@dataclass(frozen=True)
class ProbeHandle:
    """The probe as a hand holds it on the skin.

    Values are normalised on construction: yaw wrapped to (-180, 180],
    tilt clamped to ±``MAX_TILT_DEG``, rock to ±``MAX_ROCK_DEG``.

    Attributes
    ----------
    x_mm, y_mm : float
        World xy of the face centre, mm (its z comes from the skin).
    yaw_deg : float
        Turn on the skin about the skin normal; 0: array along world +x.
    tilt_deg : float
        Fan: rotation about the array (probe x) axis, sweeping the image
        plane through elevation.
    rock_deg : float
        Heel-toe: rotation within the image plane about the elevation
        (probe y) axis.
    """

    x_mm: float = 0.0
    y_mm: float = 0.0
    yaw_deg: float = 0.0
    tilt_deg: float = 0.0
    rock_deg: float = 0.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not math.isfinite(value):
                raise ValueError(f"ProbeHandle.{f.name} = {value!r}: expected a finite number")
        object.__setattr__(self, "x_mm", float(self.x_mm))
        object.__setattr__(self, "y_mm", float(self.y_mm))
        object.__setattr__(self, "yaw_deg", wrap_deg(self.yaw_deg))
        object.__setattr__(self, "tilt_deg", _clamp(self.tilt_deg, MAX_TILT_DEG))
        object.__setattr__(self, "rock_deg", _clamp(self.rock_deg, MAX_ROCK_DEG))

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_pose(
        cls,
        position_mm: tuple[float, float, float] | np.ndarray,
        yaw_deg: float = 0.0,
        tilt_deg: float = 0.0,
        rock_deg: float = 0.0,
    ) -> ProbeHandle:
        """Handle from a face-centre position and clinical angles (as ``probe_pose``).

        The z of ``position_mm`` is ignored: on the skin, depth comes from the
        skin surface.
        """
        p = np.asarray(position_mm, dtype=np.float64).ravel()
        if p.size not in (2, 3):
            raise ValueError(f"position_mm has {p.size} values: expected (x, y) or (x, y, z)")
        return cls(float(p[0]), float(p[1]), yaw_deg, tilt_deg, rock_deg)

    def with_field(self, name: str, value: float) -> ProbeHandle:
        """Copy with one field set (normalised like the constructor).

        Raises
        ------
        KeyError
            ``name`` is not one of the fields (the message lists them).
        """
        names = [f.name for f in fields(self)]
        if name not in names:
            raise KeyError(f"unknown probe handle field {name!r}; valid fields: {', '.join(names)}")
        return replace(self, **{name: float(value)})

    # ------------------------------------------------------------------ hand motions

    def slide(self, along_mm: float, across_mm: float) -> ProbeHandle:
        """Move on the skin in the probe's own directions.

        ``along_mm`` is along the array (+x of the probe, towards the notch),
        ``across_mm`` along elevation (+y of the probe); the xy displacement is
        ``(along, across)`` rotated by the yaw (tilt and rock do not change
        where the hand moves).
        """
        a = math.radians(self.yaw_deg)
        c, s = math.cos(a), math.sin(a)
        dx = c * along_mm - s * across_mm
        dy = s * along_mm + c * across_mm
        return replace(self, x_mm=self.x_mm + dx, y_mm=self.y_mm + dy)

    def rotate(self, d_yaw_deg: float) -> ProbeHandle:
        """Turn on the skin by ``d_yaw_deg`` (yaw wrapped to (-180, 180])."""
        return replace(self, yaw_deg=self.yaw_deg + d_yaw_deg)

    def tilt(self, d_deg: float) -> ProbeHandle:
        """Fan by ``d_deg`` (clamped to ±MAX_TILT_DEG)."""
        return replace(self, tilt_deg=self.tilt_deg + d_deg)

    def rock(self, d_deg: float) -> ProbeHandle:
        """Heel-toe by ``d_deg`` (clamped to ±MAX_ROCK_DEG)."""
        return replace(self, rock_deg=self.rock_deg + d_deg)

    def clamped(
        self,
        bounds_min_xy: tuple[float, float] | np.ndarray,
        bounds_max_xy: tuple[float, float] | np.ndarray,
        margin_mm: float = 0.0,
    ) -> ProbeHandle:
        """Copy with the face centre kept over a box (e.g. the scene bounds).

        Parameters
        ----------
        bounds_min_xy, bounds_max_xy : sequence of >= 2 float
            Box corners, mm (extra values, such as z, are ignored).
        margin_mm : float
            Keep this far inside the box; where the box is narrower than
            twice the margin, the centre of the box is used.
        """
        lo = np.asarray(bounds_min_xy, dtype=np.float64).ravel()[:2] + margin_mm
        hi = np.asarray(bounds_max_xy, dtype=np.float64).ravel()[:2] - margin_mm
        xy = [self.x_mm, self.y_mm]
        for k in range(2):
            if lo[k] > hi[k]:
                xy[k] = 0.5 * (lo[k] + hi[k])
            else:
                xy[k] = min(max(xy[k], lo[k]), hi[k])
        if xy[0] == self.x_mm and xy[1] == self.y_mm:
            return self
        return replace(self, x_mm=float(xy[0]), y_mm=float(xy[1]))

    # ------------------------------------------------------------------ pose

    def face_position_mm(self, skin: SkinSurface) -> np.ndarray:
        """Face centre on the skin, ``(x, y, h(x, y))``, shape (3,), mm."""
        return np.array([self.x_mm, self.y_mm, skin.height_mm(self.x_mm, self.y_mm)])

    def probe2world(self, skin: SkinSurface) -> np.ndarray:
        """4x4 ``probe2world`` with the face centre on the skin.

        The base orientation is ``skin.surface_frame(x, y, yaw)`` (beam along
        the inward skin normal, array along the yaw direction on the skin);
        tilt (about the probe x) and then rock (about the probe y) are applied
        on top of it, as in :func:`simulator.probe.rotation_deg`.

        Returns
        -------
        ndarray, shape (4, 4), float64
        """
        frame = skin.surface_frame(self.x_mm, self.y_mm, self.yaw_deg)
        rx = rotation_deg(0.0, self.tilt_deg, 0.0)
        ry = rotation_deg(0.0, 0.0, self.rock_deg)
        pose = np.eye(4)
        pose[:3, :3] = frame @ rx @ ry  # same order as rotation_deg: Rz @ Rx @ Ry
        pose[:3, 3] = self.face_position_mm(skin)
        return pose
