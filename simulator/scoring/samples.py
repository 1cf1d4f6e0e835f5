"""One timestamped sample of an attempt: what every metric is fed.

The same samples come from a live session, a hardware-driven session and a
replay of a stored attempt, so the metrics give the same numbers each time.
A sample converts to plain types (:meth:`Sample.to_dict`) for the records
store and back (:meth:`Sample.from_dict`) for replay.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from simulator.needle_events import NeedleEvent

Vec3 = tuple[float, float, float]


def _vec3(value: Any, name: str) -> Vec3 | None:
    if value is None:
        return None
    v = tuple(float(x) for x in np.asarray(value, dtype=np.float64).ravel())
    if len(v) != 3 or not all(math.isfinite(x) for x in v):
        raise ValueError(f"Sample {name} {value!r}: expected 3 finite coordinates in mm or None")
    return v  # type: ignore[return-value]


def shaft_to_plane(
    probe2world: np.ndarray, entry_mm: Sequence[float], tip_mm: Sequence[float]
) -> tuple[float, float]:
    """Angle and distance of the needle shaft from the image plane.

    The image plane is the probe's x-z plane (normal: probe +y, elevation).

    Parameters
    ----------
    probe2world : ndarray, shape (4, 4)
        Probe pose, world mm.
    entry_mm, tip_mm : sequence of 3 float
        Skin entry point and needle tip, world mm.

    Returns
    -------
    angle_deg : float
        Angle between the shaft (entry to tip) and the plane, degrees, 0-90.
    distance_mm : float
        Largest distance of the inserted shaft from the plane (at one of its
        ends), mm.
    """
    m = np.asarray(probe2world, dtype=np.float64)
    normal = m[:3, 1] / np.linalg.norm(m[:3, 1])
    e = np.asarray(entry_mm, dtype=np.float64) - m[:3, 3]
    t = np.asarray(tip_mm, dtype=np.float64) - m[:3, 3]
    d = t - e
    n = float(np.linalg.norm(d))
    angle = 0.0 if n == 0.0 else math.degrees(math.asin(min(abs(float(d @ normal)) / n, 1.0)))
    return angle, max(abs(float(e @ normal)), abs(float(t @ normal)))


def point_in_slice(
    probe2world: np.ndarray,
    point_mm: Sequence[float],
    half_width_mm: float,
    depth_mm: float,
    half_thickness_mm: float,
) -> bool:
    """Whether a world point lies in a linear probe's imaged slice.

    Parameters
    ----------
    probe2world : ndarray, shape (4, 4)
    point_mm : sequence of 3 float
        World point, mm.
    half_width_mm : float
        Half the image width along the array (probe x), mm.
    depth_mm : float
        Imaging depth (probe z), mm.
    half_thickness_mm : float
        Half the slice thickness (probe y), mm.
    """
    m = np.asarray(probe2world, dtype=np.float64)
    p = m[:3, :3].T @ (np.asarray(point_mm, dtype=np.float64) - m[:3, 3])
    in_width = abs(p[0]) <= half_width_mm and abs(p[1]) <= half_thickness_mm
    return bool(in_width and 0.0 <= p[2] <= depth_mm)


@dataclass(frozen=True)
class Sample:
    """The state of an attempt at one moment.

    Attributes
    ----------
    t_s : float
        Session time, s.
    probe2world : ndarray, shape (4, 4), float64
        Probe pose, world mm (read-only copy).
    entry_mm : tuple of 3 float or None
        Skin entry point of the needle, world mm; None without a needle.
    tip_mm : tuple of 3 float or None
        Needle tip, world mm; None without a needle.
    inserted : bool
        The needle is through the skin.
    depth_mm : float
        Shaft length inside the body, mm (0 when not inserted).
    tip_in_image : bool
        The tip lies in the imaged slice (``NeedleView.tip_in_image``).
    shaft_plane_angle_deg : float or None
        Angle between the shaft and the image plane, degrees; computed from
        the poses when a needle is given and this is None.
    shaft_plane_distance_mm : float or None
        Largest distance of the inserted shaft from the image plane, mm;
        computed like the angle.
    structure_at_tip : str or None
        Name of the structure at the tip (None outside the body).
    kind_at_tip : str or None
        Its kind (``simulator.structure_kinds.KINDS``).
    injected_ml : float
        Volume injected since the start of the attempt, ml (cumulative).
    injecting : bool
        The plunger is being pushed at this moment.
    target_in_image : bool or None
        The target shows in the image; None when not known.
    events : tuple of NeedleEvent
        Events since the previous sample, oldest first.
    """

    t_s: float
    probe2world: np.ndarray
    entry_mm: Vec3 | None = None
    tip_mm: Vec3 | None = None
    inserted: bool = False
    depth_mm: float = 0.0
    tip_in_image: bool = False
    shaft_plane_angle_deg: float | None = None
    shaft_plane_distance_mm: float | None = None
    structure_at_tip: str | None = None
    kind_at_tip: str | None = None
    injected_ml: float = 0.0
    injecting: bool = False
    target_in_image: bool | None = None
    events: tuple[NeedleEvent, ...] = field(default=())

    def __post_init__(self) -> None:
        if not math.isfinite(self.t_s):
            raise ValueError(f"Sample t_s = {self.t_s}: expected a finite time in s")
        m = np.array(self.probe2world, dtype=np.float64)
        if m.shape != (4, 4) or not np.all(np.isfinite(m)):
            raise ValueError(
                f"Sample probe2world: expected a finite 4x4 matrix, got shape {m.shape}"
            )
        m.setflags(write=False)
        set_ = object.__setattr__
        set_(self, "probe2world", m)
        entry = _vec3(self.entry_mm, "entry_mm")
        tip = _vec3(self.tip_mm, "tip_mm")
        if (entry is None) != (tip is None):
            raise ValueError("Sample: give both entry_mm and tip_mm, or neither (no needle)")
        set_(self, "entry_mm", entry)
        set_(self, "tip_mm", tip)
        if self.inserted and tip is None:
            raise ValueError("Sample: inserted is True but there is no needle (tip_mm is None)")
        set_(self, "inserted", bool(self.inserted))
        set_(self, "tip_in_image", bool(self.tip_in_image))
        set_(self, "injecting", bool(self.injecting))
        set_(self, "depth_mm", float(self.depth_mm))
        set_(self, "injected_ml", float(self.injected_ml))
        events = tuple(self.events)
        for e in events:
            if not isinstance(e, NeedleEvent):
                raise TypeError(f"Sample events: expected NeedleEvent, got {type(e).__name__}")
        set_(self, "events", events)
        if tip is not None and entry is not None:
            angle, dist = shaft_to_plane(m, entry, tip)
            if self.shaft_plane_angle_deg is None:
                set_(self, "shaft_plane_angle_deg", angle)
            if self.shaft_plane_distance_mm is None:
                set_(self, "shaft_plane_distance_mm", dist)

    @property
    def probe_origin_mm(self) -> np.ndarray:
        """Centre of the probe face, world mm, shape (3,)."""
        return self.probe2world[:3, 3]

    def to_dict(self) -> dict[str, Any]:
        """Plain types only (JSON, SQLite records)."""
        return {
            "t_s": float(self.t_s),
            "probe2world": [float(v) for v in self.probe2world.ravel()],
            "entry_mm": None if self.entry_mm is None else list(self.entry_mm),
            "tip_mm": None if self.tip_mm is None else list(self.tip_mm),
            "inserted": self.inserted,
            "depth_mm": self.depth_mm,
            "tip_in_image": self.tip_in_image,
            "shaft_plane_angle_deg": self.shaft_plane_angle_deg,
            "shaft_plane_distance_mm": self.shaft_plane_distance_mm,
            "structure_at_tip": self.structure_at_tip,
            "kind_at_tip": self.kind_at_tip,
            "injected_ml": self.injected_ml,
            "injecting": self.injecting,
            "target_in_image": self.target_in_image,
            "events": [e.to_dict() for e in self.events],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Sample:
        """Inverse of :meth:`to_dict` (for replay).

        Raises
        ------
        ValueError
            If a required key is missing (names it).
        """
        for key in ("t_s", "probe2world"):
            if key not in data:
                raise ValueError(f"Sample.from_dict: missing key {key!r}")
        m = np.asarray(data["probe2world"], dtype=np.float64)
        if m.size != 16:
            raise ValueError(f"Sample.from_dict probe2world: expected 16 numbers, got {m.size}")

        def opt_float(key: str) -> float | None:
            v = data.get(key)
            return None if v is None else float(v)

        tim = data.get("target_in_image")
        return cls(
            t_s=float(data["t_s"]),
            probe2world=m.reshape(4, 4),
            entry_mm=data.get("entry_mm"),  # type: ignore[arg-type]
            tip_mm=data.get("tip_mm"),  # type: ignore[arg-type]
            inserted=bool(data.get("inserted", False)),
            depth_mm=float(data.get("depth_mm", 0.0)),
            tip_in_image=bool(data.get("tip_in_image", False)),
            shaft_plane_angle_deg=opt_float("shaft_plane_angle_deg"),
            shaft_plane_distance_mm=opt_float("shaft_plane_distance_mm"),
            structure_at_tip=data.get("structure_at_tip"),
            kind_at_tip=data.get("kind_at_tip"),
            injected_ml=float(data.get("injected_ml", 0.0)),
            injecting=bool(data.get("injecting", False)),
            target_in_image=None if tim is None else bool(tim),
            events=tuple(NeedleEvent.from_dict(e) for e in data.get("events", ())),
        )


__all__ = ["Sample", "point_in_slice", "shaft_to_plane"]
