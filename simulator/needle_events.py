"""Contact and tissue events of the needle and the injection, and their log.

The needle kinematics emit an event whenever the tip crosses into or out of
something that matters (the skin, a structure, bone, a nerve, a vessel, the
target); the injection model emits events for what the plunger does. The
session keeps them in an :class:`EventLog` which the GUI (messages, sounds)
and the scoring (rubric criteria) subscribe to, and which the records store
for replay.

The second half turns the tip's state at sampled points (label, nearness
to a nerve, inside the target) into these events: :class:`TipClassifier`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NamedTuple

import numpy as np

from simulator.volume import AcousticVolume

#: Every event kind and what it means (one line each).
EVENT_MEANINGS: Mapping[str, str] = MappingProxyType(
    {
        "skin_puncture": "the tip went through the skin (each puncture counts)",
        "skin_exit": "the needle was withdrawn out of the skin",
        "enter": "the tip entered a structure",
        "leave": "the tip left a structure",
        "bone_contact": "the tip struck bone and stopped there",
        "nerve_contact": "the tip came within about 0.5 mm of a nerve, outside it",
        "intraneural": "the tip is inside a nerve",
        "vessel_puncture": "the tip pierced a vessel (detail: artery, vein or vessel)",
        "tendon_penetration": "the tip entered a tendon or ligament (detail: which)",
        "target_reached": "the tip is inside the target structure or target sphere",
        "target_left": "the tip left the target",
        "redirect_resisted": "tissue held the shaft: withdraw before redirecting",
        "injection": "fluid was injected (detail: ml and outcome)",
        "high_resistance": "the plunger met high resistance (intraneural, tendon, bone)",
        "intravascular_injection": "fluid was injected into a vessel lumen",
        "aspiration": "the plunger was pulled back (detail: blood, clear or fluid)",
    }
)
#: The event kinds, in the order of ``EVENT_MEANINGS``.
EVENT_KINDS: tuple[str, ...] = tuple(EVENT_MEANINGS)
#: Kinds whose entry is a vessel puncture.
VESSEL_KINDS = frozenset({"artery", "vein", "vessel"})
#: Kinds whose entry is a tendon penetration.
TENDON_KINDS = frozenset({"tendon", "ligament"})
#: A nerve closer than this to the tip (tip outside it) is a nerve contact, mm.
NERVE_CONTACT_MM = 0.5


@dataclass(frozen=True)
class NeedleEvent:
    """One contact, tissue or injection event.

    Attributes
    ----------
    t_s : float
        Session time of the event, s.
    kind : str
        One of ``EVENT_KINDS``.
    position_mm : tuple of 3 float
        Tip position when it happened (the crossing point for enter/leave),
        world mm.
    depth_mm : float
        Needle depth then: shaft length inside the body, mm.
    structure : str or None
        Name of the structure concerned (entered, left, struck, at the tip);
        None when there is none (e.g. ``skin_exit``).
    detail : str
        Free text qualifying the kind (``"artery"``, ``"2.0 ml perineural"``).
    """

    t_s: float
    kind: str
    position_mm: tuple[float, float, float]
    depth_mm: float
    structure: str | None
    detail: str = ""

    def __post_init__(self) -> None:
        if self.kind not in EVENT_MEANINGS:
            raise ValueError(
                f"needle event kind {self.kind!r}: expected one of {', '.join(EVENT_KINDS)}"
            )
        if len(self.position_mm) != 3:
            raise ValueError(
                f"needle event position_mm {self.position_mm!r}: expected 3 coordinates in mm"
            )
        if not math.isfinite(self.t_s):
            raise ValueError(f"needle event t_s = {self.t_s}: expected a finite time in s")
        object.__setattr__(self, "position_mm", tuple(float(v) for v in self.position_mm))

    def to_dict(self) -> dict[str, Any]:
        """Plain types only (JSON, SQLite records)."""
        return {
            "t_s": float(self.t_s),
            "kind": self.kind,
            "position_mm": [float(v) for v in self.position_mm],
            "depth_mm": float(self.depth_mm),
            "structure": self.structure,
            "detail": self.detail,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NeedleEvent:
        """Inverse of :meth:`to_dict` (for replay)."""
        return cls(
            t_s=float(data["t_s"]),
            kind=str(data["kind"]),
            position_mm=tuple(float(v) for v in data["position_mm"]),  # type: ignore[arg-type]
            depth_mm=float(data["depth_mm"]),
            structure=data.get("structure"),
            detail=str(data.get("detail", "")),
        )

    def __str__(self) -> str:
        where = f" {self.structure}" if self.structure else ""
        detail = f" ({self.detail})" if self.detail else ""
        return f"{self.t_s:8.2f} s  {self.kind}{where}{detail} at depth {self.depth_mm:.1f} mm"


Listener = Callable[[NeedleEvent], None]


class EventLog:
    """Every event of a session, in order, with listeners.

    Unbounded: a session produces at most a few thousand events.
    Listeners are called synchronously, in subscription order, for each
    appended event (the GUI adapts them to Qt signals on its side).
    """

    def __init__(self) -> None:
        self._events: list[NeedleEvent] = []
        self._listeners: list[Listener] = []

    def append(self, event: NeedleEvent) -> None:
        """Record ``event`` and tell every listener."""
        if not isinstance(event, NeedleEvent):
            raise TypeError(f"EventLog.append: expected a NeedleEvent, got {type(event).__name__}")
        self._events.append(event)
        for listener in tuple(self._listeners):
            listener(event)

    def extend(self, events: Iterable[NeedleEvent]) -> None:
        """Append several events in order."""
        for e in events:
            self.append(e)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(event)`` for every event appended from now on.

        Returns
        -------
        callable
            Call it (no arguments) to unsubscribe.
        """
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    @property
    def events(self) -> list[NeedleEvent]:
        """A copy of every event, oldest first."""
        return list(self._events)

    def since(self, t_s: float) -> list[NeedleEvent]:
        """Events at or after ``t_s`` (s), oldest first."""
        return [e for e in self._events if e.t_s >= t_s]

    def of_kind(self, kind: str) -> list[NeedleEvent]:
        """Events of one kind, oldest first.

        Raises
        ------
        ValueError
            If ``kind`` is not in ``EVENT_KINDS``.
        """
        if kind not in EVENT_MEANINGS:
            raise ValueError(f"event kind {kind!r}: expected one of {', '.join(EVENT_KINDS)}")
        return [e for e in self._events if e.kind == kind]

    def count(self, kind: str) -> int:
        """Number of events of one kind."""
        return len(self.of_kind(kind))

    def clear(self) -> None:
        """Forget every event (a new attempt); listeners stay."""
        self._events.clear()

    def to_dicts(self) -> list[dict[str, Any]]:
        """Every event as :meth:`NeedleEvent.to_dict`."""
        return [e.to_dict() for e in self._events]

    def __len__(self) -> int:
        return len(self._events)

    def __iter__(self) -> Iterator[NeedleEvent]:
        return iter(tuple(self._events))

    def __getitem__(self, index: int) -> NeedleEvent:
        return self._events[index]


def make_event(
    t_s: float,
    kind: str,
    point_mm: np.ndarray | tuple[float, float, float],
    depth_mm: float,
    structure: str | None,
    detail: str = "",
) -> NeedleEvent:
    """A ``NeedleEvent`` from NumPy values (converted to plain floats)."""
    return NeedleEvent(
        float(t_s),
        kind,
        tuple(float(v) for v in point_mm),  # type: ignore[arg-type]
        float(depth_mm),
        structure,
        detail,
    )


# ---------------------------------------------------------------------- detection
@dataclass(frozen=True)
class TargetZone:
    """Where the tip must go: a target structure, a sphere about a point, or both.

    Attributes
    ----------
    label : int or None
        Label of the target structure; None for a point target.
    point_mm : tuple of 3 float
        Aim point, world mm.
    radius_mm : float or None
        Radius of the target sphere about ``point_mm``, mm; None if only the
        structure counts.
    name : str
        Name reported in the target events.
    """

    label: int | None
    point_mm: tuple[float, float, float]
    radius_mm: float | None = None
    name: str = "target"

    def __post_init__(self) -> None:
        if self.label is None and self.radius_mm is None:
            raise ValueError("TargetZone: give the target label or a radius_mm about point_mm")
        if self.radius_mm is not None and not self.radius_mm > 0.0:
            raise ValueError(f"TargetZone radius_mm = {self.radius_mm}: expected > 0 mm")
        if len(self.point_mm) != 3:
            raise ValueError(f"TargetZone point_mm {self.point_mm!r}: expected 3 coordinates")

    @classmethod
    def from_spec(cls, spec: Any, volume: AcousticVolume) -> TargetZone:
        """From a scene's ``TargetSpec`` (``structure``, ``point_mm``, ``radius_mm``)."""
        label = None if spec.structure is None else volume.structure_index(spec.structure)
        name = spec.structure if spec.structure is not None else "target point"
        point = tuple(float(v) for v in spec.point_mm)
        return cls(label, point, spec.radius_mm, name)  # type: ignore[arg-type]

    def contains(self, points_mm: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """True where a point is in the target.

        Parameters
        ----------
        points_mm : ndarray, shape (n, 3)
            World points, mm.
        labels : ndarray, shape (n,), int
            Their labels.

        Returns
        -------
        ndarray, shape (n,), bool
        """
        hit = np.zeros(len(points_mm), dtype=bool)
        if self.label is not None:
            hit |= labels == self.label
        if self.radius_mm is not None:
            d = np.linalg.norm(np.asarray(points_mm) - np.asarray(self.point_mm), axis=1)
            hit |= d <= self.radius_mm
        return hit


class TipStates(NamedTuple):
    """State of the tip at sampled points (arrays of shape (n,), or scalars).

    Attributes
    ----------
    label : int16
        Label at the tip; -1 outside the body.
    nerve_zone : bool
        Inside a nerve or within ``NERVE_CONTACT_MM`` of one.
    near_nerve : int16
        Label of the nerve seen near the tip, -1 if none.
    in_target : bool
        Inside the target.
    """

    label: Any
    nerve_zone: Any
    near_nerve: Any
    in_target: Any

    def differs(self, other: TipStates) -> Any:
        """True where the two states would give events (label, nerve zone, target)."""
        return (
            (self.label != other.label)
            | (self.nerve_zone != other.nerve_zone)
            | (self.in_target != other.in_target)
        )


#: The state of a needle out of the body.
OUTSIDE = TipStates(-1, False, -1, False)


def _neighbour_offsets(radius_mm: float) -> np.ndarray:
    """The 26 directions of a 3x3x3 neighbourhood scaled to ``radius_mm``, shape (26, 3)."""
    g = np.stack(np.meshgrid(*([np.array([-1.0, 0.0, 1.0])] * 3), indexing="ij"), -1)
    g = g.reshape(-1, 3)
    g = g[np.any(g != 0.0, axis=1)]
    return radius_mm * g / np.linalg.norm(g, axis=1, keepdims=True)


class TipClassifier:
    """What the tip is in, and the events of a change of that.

    Parameters
    ----------
    volume : AcousticVolume
    kinds : sequence of str
        Kind of every label (``simulator.structure_kinds.structure_kinds``).
    target : TargetZone, optional
    """

    def __init__(
        self, volume: AcousticVolume, kinds: tuple[str, ...], target: TargetZone | None = None
    ) -> None:
        self.volume = volume
        self.kinds = tuple(kinds)
        self.target = target
        self.names = tuple(s.name for s in volume.structures)
        # one extra slot, index -1, for "outside the body"
        self._nerve = np.array([*(k == "nerve" for k in self.kinds), False])
        self._offsets = _neighbour_offsets(NERVE_CONTACT_MM)

    def labels(self, points_mm: np.ndarray) -> np.ndarray:
        """Labels at world points, shape ``points.shape[:-1]``, int16."""
        return self.volume.label_at(points_mm).astype(np.int16)

    def states(self, points_mm: np.ndarray, inside: np.ndarray) -> TipStates:
        """The tip state at each point.

        Parameters
        ----------
        points_mm : ndarray, shape (n, 3)
            Tip positions, world mm.
        inside : ndarray, shape (n,), bool
            Whether each is under the skin.

        Returns
        -------
        TipStates of arrays of shape (n,)
        """
        lab = np.where(inside, self.labels(points_mm), -1).astype(np.int16)
        around = self.labels(points_mm[:, None, :] + self._offsets)  # (n, 26)
        is_nerve = self._nerve[around]
        seen = around[np.arange(len(lab)), is_nerve.argmax(axis=1)]
        near = np.where(inside & is_nerve.any(axis=1), seen, -1).astype(np.int16)
        zone = inside & (self._nerve[lab] | (near >= 0))
        tgt = np.zeros(len(lab), dtype=bool)
        if self.target is not None:
            tgt = inside & self.target.contains(points_mm, lab)
        return TipStates(lab, zone, near, tgt)

    def events(
        self,
        t_s: float,
        point_mm: np.ndarray,
        depth_mm: float,
        a: TipStates,
        b: TipStates,
        entry_mm: np.ndarray,
        withdrawing: bool = False,
    ) -> list[NeedleEvent]:
        """Events of one change of tip state from ``a`` to ``b`` (scalar states).

        Order: target_left, leave, skin_exit, skin_puncture, enter, then what
        the entry means (intraneural, vessel_puncture, tendon_penetration),
        nerve_contact, target_reached. Skin events are placed at the entry
        point, depth 0. ``withdrawing``: the tip backs out along its own
        track, so entering a nerve, vessel or tendon again, or passing near a
        nerve, is no new injury (enter/leave and the target events still fire).
        """
        out: list[NeedleEvent] = []
        la, lb = int(a.label), int(b.label)

        def ev(kind: str, structure: str | None, detail: str = "") -> None:
            out.append(make_event(t_s, kind, point_mm, depth_mm, structure, detail))

        tname = self.target.name if self.target is not None else None
        if a.in_target and not b.in_target:
            ev("target_left", tname)
        if la != lb:
            if la >= 0:
                ev("leave", self.names[la], self.kinds[la])
            if lb < 0:
                out.append(make_event(t_s, "skin_exit", entry_mm, 0.0, None))
            if la < 0:
                out.append(make_event(t_s, "skin_puncture", entry_mm, 0.0, self.names[lb]))
            if lb >= 0:
                kb = self.kinds[lb]
                ka = self.kinds[la] if la >= 0 else None
                ev("enter", self.names[lb], kb)
                injury = not withdrawing
                if injury and kb == "nerve" and ka != "nerve":
                    ev("intraneural", self.names[lb])
                if injury and kb in VESSEL_KINDS and ka != kb:
                    ev("vessel_puncture", self.names[lb], kb)
                if injury and kb in TENDON_KINDS and ka not in TENDON_KINDS:
                    ev("tendon_penetration", self.names[lb], kb)
        touches = b.nerve_zone and not a.nerve_zone and lb >= 0 and not self._nerve[lb]
        if touches and not withdrawing:
            ev("nerve_contact", self.names[int(b.near_nerve)])
        if b.in_target and not a.in_target:
            ev("target_reached", tname)
        return out


__all__ = [
    "EVENT_KINDS",
    "EVENT_MEANINGS",
    "NERVE_CONTACT_MM",
    "OUTSIDE",
    "TENDON_KINDS",
    "VESSEL_KINDS",
    "EventLog",
    "NeedleEvent",
    "TargetZone",
    "TipClassifier",
    "TipStates",
    "make_event",
]
