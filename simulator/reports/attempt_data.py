"""What a report needs from the records: an attempt, its samples, events, integrity,
and the tip-to-target distance series (computed from the scene).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from simulator.records import AttemptRecord, ChainProblem, RecordStore
from simulator.reports.formatting import duration_s


@dataclass(frozen=True)
class AttemptData:
    """One stored attempt with everything read from the store.

    Attributes
    ----------
    record : AttemptRecord
    samples : list of dict
        Stored samples (``Sample.to_dict`` form), in order.
    events : list of dict
        Stored events (``NeedleEvent.to_dict`` form), in order.
    chain_problems : list of ChainProblem
        Tamper-check findings naming this attempt, and those of the chain
        itself (empty: intact).
    """

    record: AttemptRecord
    samples: list[dict[str, Any]]
    events: list[dict[str, Any]]
    chain_problems: list[ChainProblem]

    @property
    def chain_ok(self) -> bool:
        """No tamper finding names this attempt."""
        return not self.chain_problems

    @property
    def times_s(self) -> np.ndarray:
        """Sample times, s, shape (n,)."""
        return np.array([float(s["t_s"]) for s in self.samples], dtype=np.float64)

    @property
    def duration_s(self) -> float:
        """Session duration, s: ``total_time_s`` if measured, else the samples' span,
        else the wall-clock time between start and end."""
        return attempt_duration_s(self.record, self.samples)

    def injection_events(self) -> list[dict[str, Any]]:
        """The ``injection`` events (one per bolus), in order."""
        return [e for e in self.events if e.get("kind") == "injection"]


def attempt_duration_s(record: AttemptRecord, samples: Sequence[Mapping[str, Any]] = ()) -> float:
    """Duration of an attempt, s (see :attr:`AttemptData.duration_s`)."""
    total = (record.metrics or {}).get("total_time_s")
    try:
        if total is not None and math.isfinite(float(total)):
            return float(total)
    except (TypeError, ValueError):
        pass
    if len(samples) >= 2:
        return float(samples[-1]["t_s"]) - float(samples[0]["t_s"])
    return duration_s(record.started_at, record.ended_at)


def problems_by_attempt(problems: Sequence[ChainProblem]) -> dict[int | None, list[ChainProblem]]:
    """Tamper findings grouped by the attempt they name."""
    grouped: dict[int | None, list[ChainProblem]] = {}
    for p in problems:
        grouped.setdefault(getattr(p, "attempt_id", None), []).append(p)
    return grouped


def load_attempt(store: RecordStore, attempt_id: int) -> AttemptData:
    """Read one attempt and its tamper findings.

    Raises
    ------
    KeyError
        If the attempt is not in the store.
    """
    record = store.attempt(attempt_id)
    grouped = problems_by_attempt(store.verify_chain())
    problems = grouped.get(attempt_id, []) + grouped.get(None, [])
    return AttemptData(record, store.samples(attempt_id), store.events(attempt_id), problems)


#: id(volume) -> (volume, target spec, TargetDistance): the distance field takes seconds.
_TARGETS: dict[int, tuple[Any, Any, Any]] = {}


def target_distance_for(scene: Any) -> Any:
    """The scene's :class:`~simulator.scoring.TargetDistance` (cached per volume and
    target), or None for a scene without a procedure."""
    proc = getattr(getattr(scene, "spec", None), "procedure", None)
    if proc is None:
        return None
    volume = scene.volume
    hit = _TARGETS.get(id(volume))
    if hit is not None and hit[0] is volume and hit[1] == proc.target:
        return hit[2]
    from simulator.scoring.target_distance import TargetDistance

    target = TargetDistance.from_spec(proc.target, volume)
    if len(_TARGETS) >= 4:
        _TARGETS.clear()
    _TARGETS[id(volume)] = (volume, proc.target, target)
    return target


def tip_series(samples: Sequence[Mapping[str, Any]], scene: Any) -> dict[str, np.ndarray]:
    """Tip-to-target distance and tip visibility per sample.

    Parameters
    ----------
    samples : sequence of dict
        Stored samples with ``t_s``, ``tip_mm`` (or None), ``tip_in_image``.
    scene : Scene or None
        The loaded procedure scene (``scenes.load_scene``); without it (or
        without a procedure) the distances are NaN.

    Returns
    -------
    dict
        ``t_s`` shape (n,) s; ``distance_mm`` shape (n,) tip-to-target surface
        distance, mm (NaN without a needle); ``visible`` shape (n,) float 0/1;
        ``inserted`` shape (n,) bool.
    """
    n = len(samples)
    t = np.array([float(s["t_s"]) for s in samples], dtype=np.float64)
    visible = np.array([1.0 if s.get("tip_in_image") else 0.0 for s in samples])
    inserted = np.array([bool(s.get("inserted")) for s in samples], dtype=bool)
    distance = np.full(n, np.nan)
    target = target_distance_for(scene) if n else None
    if target is not None:
        for i, s in enumerate(samples):
            tip = s.get("tip_mm")
            if tip is not None:
                distance[i] = target.surface_mm(tip)
    return {"t_s": t, "distance_mm": distance, "visible": visible, "inserted": inserted}


def load_scene_for(name: str) -> tuple[Any, str]:
    """Load the scene an attempt names, for distances, the path view and replay.

    Returns
    -------
    scene : Scene or None
        None when it cannot be loaded.
    note : str
        Why not (empty when loaded).
    """
    try:
        from scenes import load_scene

        return load_scene(name), ""
    except Exception as exc:
        return None, f"scene {name!r} could not be loaded ({exc})"


__all__ = [
    "AttemptData",
    "attempt_duration_s",
    "load_attempt",
    "load_scene_for",
    "problems_by_attempt",
    "target_distance_for",
    "tip_series",
]
