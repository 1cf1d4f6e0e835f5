"""Streaming metrics: one object per name of ``simulator.rubric.METRICS``.

Each metric is fed the samples of an attempt in order (:meth:`update`), may
be told the final injectate distribution (:meth:`finish`) and gives its value
at any moment (:meth:`value`, a float; yes/no as 1/0, fractions 0-1, NaN when
not defined yet, e.g. no injection). Nothing depends on the wall clock or on
the sample rate beyond the sampling itself, so a replay gives the same values.

Conventions (documented in the values a grade shows):

- A state recorded in a sample (tip visible, needle inserted, angles) holds
  until the next sample (zero-order hold): the interval ``(t0, t1]`` between
  two samples takes the earlier sample's state.
- The needle is *advancing* over an interval when its depth grows faster
  than ``ADVANCE_MIN_SPEED_MM_S``.
- An *injection* is a run of samples where the plunger is pushed (``injecting``
  or ``injected_ml`` grew); a change of structure at the tip starts a new one.
- ``needle_passes`` counts forward passes: the first insertion is pass 1,
  every re-advance of ``PASS_HYSTERESIS_MM`` after a withdrawal of as much
  (or out of the skin) is one more.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from simulator.needle_events import NeedleEvent
from simulator.scoring.samples import Sample
from simulator.scoring.target_distance import TargetDistance

#: Depth growth faster than this is advancing the needle, mm/s.
ADVANCE_MIN_SPEED_MM_S = 0.5
#: Withdraw/readvance distance along the shaft that makes a new pass, mm.
PASS_HYSTERESIS_MM = 5.0
#: Change of shaft direction that counts as a redirection, degrees.
REDIRECT_DEG = 5.0
#: A redirection ends when the direction turns slower than this, deg/s.
REDIRECT_STEADY_DEG_S = 2.0
#: Shortest shaft (entry to tip) whose direction is trusted, mm.
MIN_SHAFT_MM = 1.0
#: Probe motion over one interval below these is no motion (mm, deg).
PROBE_STILL_MM = 0.1
PROBE_STILL_DEG = 0.1
#: Injected volume growth below this is no injection, ml.
INJECT_EPS_ML = 1e-9
#: Kinds of tip events that are an injury when the structure is to be avoided.
_INJURY_KINDS = frozenset(
    {"intraneural", "vessel_puncture", "tendon_penetration", "bone_contact", "nerve_contact"}
)
#: Structure kinds whose entry is already reported by an injury event.
_INJURY_STRUCTURE_KINDS = frozenset(
    {"nerve", "artery", "vein", "vessel", "tendon", "ligament", "bone"}
)


@dataclass
class ScoringContext:
    """What the metrics of a scene need to know beyond the samples.

    Attributes
    ----------
    target : TargetDistance or None
        Tip-to-target distances; None leaves the accuracy metrics NaN.
    target_structure : str or None
        Name of the target structure (never counted as a harm).
    compartments : frozenset of str
        Structures counted as the target compartment for the injectate.
    avoid : mapping of str to str or None
        Structures to avoid -> their harm (``scenes.procedure.HARMS``).
    expected_contacts : frozenset of str
        Structures (bone under the target) whose contact is expected, not a strike.
    """

    target: TargetDistance | None = None
    target_structure: str | None = None
    compartments: frozenset[str] = frozenset()
    avoid: Mapping[str, str | None] = field(default_factory=dict)
    expected_contacts: frozenset[str] = frozenset()
    _cache: dict[tuple[str, tuple[float, ...]], float] = field(default_factory=dict, repr=False)

    def surface_mm(self, tip_mm: tuple[float, float, float]) -> float:
        """Tip-to-target surface distance, mm (NaN without a target)."""
        return self._distance("surface", tip_mm)

    def centre_mm(self, tip_mm: tuple[float, float, float]) -> float:
        """Tip-to-target centre distance, mm (NaN without a target)."""
        return self._distance("centre", tip_mm)

    def _distance(self, what: str, tip_mm: tuple[float, float, float]) -> float:
        if self.target is None:
            return math.nan
        key = (what, tuple(tip_mm))
        if key not in self._cache:
            if len(self._cache) > 64:
                self._cache.clear()
            fn = self.target.surface_mm if what == "surface" else self.target.centre_mm
            self._cache[key] = fn(tip_mm)
        return self._cache[key]


# ------------------------------------------------------------------ helpers
def _depth(s: Sample) -> float:
    return s.depth_mm if s.inserted else 0.0


def is_advancing(prev: Sample, cur: Sample) -> bool:
    """Whether the needle was being advanced between two samples."""
    dt = cur.t_s - prev.t_s
    return cur.inserted and dt > 0.0 and _depth(cur) - _depth(prev) > ADVANCE_MIN_SPEED_MM_S * dt


def is_new_puncture(prev: Sample | None, cur: Sample) -> bool:
    """Whether the needle went through the skin anew between two samples."""
    if not cur.inserted:
        return False
    if prev is None or not prev.inserted:
        return True
    return any(e.kind == "skin_puncture" for e in cur.events)


def is_injecting(prev: Sample | None, cur: Sample) -> bool:
    """Whether fluid was being injected at ``cur``."""
    grew = prev is not None and cur.injected_ml > prev.injected_ml + INJECT_EPS_ML
    return cur.injecting or grew


def probe_motion(prev: Sample, cur: Sample) -> tuple[float, float]:
    """Probe translation (mm) and rotation (deg) between two samples."""
    a, b = prev.probe2world, cur.probe2world
    trans = float(np.linalg.norm(b[:3, 3] - a[:3, 3]))
    r = a[:3, :3].T @ b[:3, :3]
    c = min(max((float(np.trace(r)) - 1.0) / 2.0, -1.0), 1.0)
    return trans, math.degrees(math.acos(c))


def shaft_direction(s: Sample) -> np.ndarray | None:
    """Unit vector from entry to tip, None without a trusted shaft."""
    if not s.inserted or s.tip_mm is None or s.entry_mm is None:
        return None
    d = np.subtract(s.tip_mm, s.entry_mm)
    n = float(np.linalg.norm(d))
    return None if n < MIN_SHAFT_MM else d / n


def _angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    return math.degrees(math.acos(min(max(float(a @ b), -1.0), 1.0)))


_GAUSS_X, _GAUSS_W = np.polynomial.legendre.leggauss(4)
_GX = 0.5 * (_GAUSS_X + 1.0)
_GW = 0.5 * _GAUSS_W


def swept_area_mm2(e0: np.ndarray, t0: np.ndarray, e1: np.ndarray, t1: np.ndarray) -> float:
    """Area of the ruled surface swept by a segment from ``e0-t0`` to ``e1-t1``, mm^2.

    The bilinear patch between the two segments, integrated by 4x4
    Gauss-Legendre quadrature (exact for a pivot about a fixed end).
    """
    a, b = t0 - e0, t1 - e1
    de = e1 - e0
    u = _GX[:, None, None]
    v = _GX[None, :, None]
    pu = (1.0 - v) * a + v * b
    pv = de + u * (b - a)
    w = _GW[:, None] * _GW[None, :]
    return float(np.sum(w * np.linalg.norm(np.cross(pu, pv), axis=-1)))


# ------------------------------------------------------------------- base
class StreamingMetric:
    """A metric fed samples one at a time.

    Parameters
    ----------
    ctx : ScoringContext
    """

    name: ClassVar[str] = ""

    def __init__(self, ctx: ScoringContext) -> None:
        self.ctx = ctx
        self._prev: Sample | None = None

    def update(self, sample: Sample) -> None:
        """Take the next sample (samples must come in time order).

        Raises
        ------
        ValueError
            If ``sample.t_s`` is earlier than the previous sample's.
        """
        prev = self._prev
        if prev is not None and sample.t_s < prev.t_s:
            raise ValueError(
                f"metric {self.name}: sample at t_s = {sample.t_s} s comes after one at "
                f"{prev.t_s} s; expected samples in time order"
            )
        self._step(prev, sample)
        self._prev = sample

    def _step(self, prev: Sample | None, cur: Sample) -> None:
        raise NotImplementedError

    def finish(self, distribution_ml: Mapping[str, float] | None = None) -> None:
        """End of the attempt, with the injectate distribution (structure -> ml)."""

    def value(self) -> float:
        """The value so far (NaN when not defined)."""
        raise NotImplementedError


# ---------------------------------------------------------------- accuracy
class TipToTargetAtInjection(StreamingMetric):
    name = "tip_to_target_at_injection_mm"

    def __init__(self, ctx: ScoringContext) -> None:
        super().__init__(ctx)
        self._worst = math.nan

    def _step(self, prev: Sample | None, cur: Sample) -> None:
        if cur.inserted and cur.tip_mm is not None and is_injecting(prev, cur):
            d = self.ctx.surface_mm(cur.tip_mm)
            self._worst = d if math.isnan(self._worst) else max(self._worst, d)

    def value(self) -> float:
        return self._worst


class TipToTargetCentre(StreamingMetric):
    name = "tip_to_target_centre_mm"

    def __init__(self, ctx: ScoringContext) -> None:
        super().__init__(ctx)
        self._d = math.nan

    def _step(self, prev: Sample | None, cur: Sample) -> None:
        if math.isnan(self._d) and cur.inserted and cur.tip_mm is not None:
            if is_injecting(prev, cur):
                self._d = self.ctx.centre_mm(cur.tip_mm)

    def value(self) -> float:
        return self._d


class TipToTargetFinal(StreamingMetric):
    """Surface distance at the last sample with the needle in the skin."""

    name = "tip_to_target_final_mm"

    def __init__(self, ctx: ScoringContext) -> None:
        super().__init__(ctx)
        self._d = math.nan

    def _step(self, prev: Sample | None, cur: Sample) -> None:
        if cur.inserted and cur.tip_mm is not None:
            self._d = self.ctx.surface_mm(cur.tip_mm)

    def value(self) -> float:
        return self._d


class MinTipToTarget(StreamingMetric):
    name = "min_tip_to_target_mm"

    def __init__(self, ctx: ScoringContext) -> None:
        super().__init__(ctx)
        self._d = math.nan

    def _step(self, prev: Sample | None, cur: Sample) -> None:
        if cur.inserted and cur.tip_mm is not None:
            d = self.ctx.surface_mm(cur.tip_mm)
            self._d = d if math.isnan(self._d) else min(self._d, d)

    def value(self) -> float:
        return self._d


class TargetReached(StreamingMetric):
    """1 once the tip was in the target (distance 0 or a ``target_reached`` event)."""

    name = "target_reached"

    def __init__(self, ctx: ScoringContext) -> None:
        super().__init__(ctx)
        self._hit = False

    def _step(self, prev: Sample | None, cur: Sample) -> None:
        if any(e.kind == "target_reached" for e in cur.events):
            self._hit = True
        elif cur.inserted and cur.tip_mm is not None and self.ctx.surface_mm(cur.tip_mm) == 0.0:
            self._hit = True

    def value(self) -> float:
        return 1.0 if self._hit else 0.0


class InjectateInTarget(StreamingMetric):
    """Share of the injected volume in the target compartment (known at finish)."""

    name = "injectate_in_target_fraction"

    def __init__(self, ctx: ScoringContext) -> None:
        super().__init__(ctx)
        self._fraction = math.nan

    def _step(self, prev: Sample | None, cur: Sample) -> None:
        pass

    def finish(self, distribution_ml: Mapping[str, float] | None = None) -> None:
        if not distribution_ml:
            self._fraction = math.nan
            return
        total = float(sum(distribution_ml.values()))
        inside = float(sum(v for k, v in distribution_ml.items() if k in self.ctx.compartments))
        self._fraction = inside / total if total > 0.0 else math.nan

    def value(self) -> float:
        return self._fraction


# ------------------------------------------------------------------ safety
class EventCount(StreamingMetric):
    """Number of events that match :meth:`counts`."""

    def __init__(self, ctx: ScoringContext) -> None:
        super().__init__(ctx)
        self._n = 0

    def counts(self, e: NeedleEvent) -> bool:
        raise NotImplementedError

    def _step(self, prev: Sample | None, cur: Sample) -> None:
        self._n += sum(1 for e in cur.events if self.counts(e))

    def value(self) -> float:
        return float(self._n)


def _event_count(
    metric_name: str, predicate: Callable[[ScoringContext, NeedleEvent], bool], doc: str
) -> type[EventCount]:
    cls = type(
        "".join(p.title() for p in metric_name.split("_")),
        (EventCount,),
        {"name": metric_name, "counts": lambda self, e: predicate(self.ctx, e), "__doc__": doc},
    )
    return cls


def _not_target(ctx: ScoringContext, e: NeedleEvent) -> bool:
    return e.structure is None or e.structure != ctx.target_structure


def _is_pleura(ctx: ScoringContext, e: NeedleEvent) -> bool:
    if e.kind not in ("enter", "bone_contact") or e.structure is None:
        return False
    return ctx.avoid.get(e.structure) == "pleura" or "pleura" in e.structure.lower()


def _is_avoid_contact(ctx: ScoringContext, e: NeedleEvent) -> bool:
    if e.structure is None or e.structure not in ctx.avoid or e.structure in ctx.expected_contacts:
        return False
    if e.kind in _INJURY_KINDS:
        return True
    return e.kind == "enter" and e.detail not in _INJURY_STRUCTURE_KINDS


IntraneuralTipEvents = _event_count(
    "intraneural_tip_events",
    lambda c, e: e.kind == "intraneural" and _not_target(c, e),
    "Entries of the tip into a nerve that is not the target.",
)
ArterialPunctures = _event_count(
    "arterial_punctures",
    lambda c, e: e.kind == "vessel_puncture" and e.detail == "artery",
    "Punctures of an artery.",
)
VenousPunctures = _event_count(
    "venous_punctures",
    lambda c, e: e.kind == "vessel_puncture" and e.detail == "vein",
    "Punctures of a vein.",
)
IntravascularInjections = _event_count(
    "intravascular_injections",
    lambda c, e: e.kind == "intravascular_injection",
    "Injections into a vessel lumen.",
)
IntratendinousEvents = _event_count(
    "intratendinous_events",
    lambda c, e: e.kind == "tendon_penetration" and _not_target(c, e),
    "Entries of the tip into a tendon or ligament that is not the target.",
)
BoneStrikes = _event_count(
    "bone_strikes",
    lambda c, e: (
        e.kind == "bone_contact" and _not_target(c, e) and e.structure not in c.expected_contacts
    ),
    "Bone contacts, except with the target and with expected contacts.",
)
PleuraContacts = _event_count("pleura_contacts", _is_pleura, "Contacts of the tip with pleura.")
AvoidContacts = _event_count(
    "avoid_contacts", _is_avoid_contact, "Contacts with any structure marked to avoid."
)
SkinPunctures = _event_count(
    "skin_punctures", lambda c, e: e.kind == "skin_puncture", "Separate skin punctures."
)


class InjectionCount(StreamingMetric):
    """Injections (runs of injecting samples) during which :meth:`bad` held at least once."""

    def __init__(self, ctx: ScoringContext) -> None:
        super().__init__(ctx)
        self._n = 0
        self._site: str | None = None
        self._open = False
        self._flagged = False

    def bad(self, s: Sample) -> bool:
        raise NotImplementedError

    def _step(self, prev: Sample | None, cur: Sample) -> None:
        if not (cur.inserted and is_injecting(prev, cur)):
            self._open = False
            return
        if not self._open or cur.structure_at_tip != self._site:
            self._open, self._flagged, self._site = True, False, cur.structure_at_tip
        if not self._flagged and self.bad(cur):
            self._flagged = True
            self._n += 1

    def value(self) -> float:
        return float(self._n)


class IntraneuralInjections(InjectionCount):
    name = "intraneural_injections"

    def bad(self, s: Sample) -> bool:
        return s.kind_at_tip == "nerve" and s.structure_at_tip != self.ctx.target_structure


class InjectionsTipNotVisible(InjectionCount):
    name = "injections_tip_not_visible"

    def bad(self, s: Sample) -> bool:
        return not s.tip_in_image


# --------------------------------------------------------------- technique
class TipVisibilityFraction(StreamingMetric):
    """Share of advancing time with the tip in the image (NaN before any advance)."""

    name = "tip_visibility_fraction"

    def __init__(self, ctx: ScoringContext) -> None:
        super().__init__(ctx)
        self.advancing_s = 0.0
        self.visible_s = 0.0

    def _step(self, prev: Sample | None, cur: Sample) -> None:
        if prev is not None and is_advancing(prev, cur):
            dt = cur.t_s - prev.t_s
            self.advancing_s += dt
            if prev.tip_in_image:
                self.visible_s += dt

    def value(self) -> float:
        return self.visible_s / self.advancing_s if self.advancing_s > 0.0 else math.nan


class _ProbeWhileAdvancing(StreamingMetric):
    _index: ClassVar[int] = 0

    def __init__(self, ctx: ScoringContext) -> None:
        super().__init__(ctx)
        self._total = 0.0

    def _step(self, prev: Sample | None, cur: Sample) -> None:
        if prev is not None and is_advancing(prev, cur):
            self._total += probe_motion(prev, cur)[self._index]

    def value(self) -> float:
        return self._total


class ProbeMovementWhileAdvancing(_ProbeWhileAdvancing):
    name = "probe_movement_while_advancing_mm"
    _index = 0


class ProbeRotationWhileAdvancing(_ProbeWhileAdvancing):
    name = "probe_rotation_while_advancing_deg"
    _index = 1


class NeedleLostByProbeMovement(StreamingMetric):
    """Times the tip left the image over an interval in which the probe moved."""

    name = "needle_lost_by_probe_movement"

    def __init__(self, ctx: ScoringContext) -> None:
        super().__init__(ctx)
        self._n = 0

    def _step(self, prev: Sample | None, cur: Sample) -> None:
        if prev is None or not (prev.inserted and cur.inserted):
            return
        if prev.tip_in_image and not cur.tip_in_image:
            mm, deg = probe_motion(prev, cur)
            if mm >= PROBE_STILL_MM or deg >= PROBE_STILL_DEG:
                self._n += 1

    def value(self) -> float:
        return float(self._n)


class NeedlePasses(StreamingMetric):
    """Forward passes with ``PASS_HYSTERESIS_MM`` hysteresis along the shaft."""

    name = "needle_passes"

    def __init__(self, ctx: ScoringContext) -> None:
        super().__init__(ctx)
        self._n = 0
        self._forward = False
        self._extreme = 0.0  # deepest depth while going in, shallowest while backing out

    def _step(self, prev: Sample | None, cur: Sample) -> None:
        d = _depth(cur)
        if self._n == 0:
            if cur.inserted:
                self._n, self._forward, self._extreme = 1, True, d
            return
        if self._forward:
            self._extreme = max(self._extreme, d)
            if not cur.inserted or d < self._extreme - PASS_HYSTERESIS_MM:
                self._forward, self._extreme = False, d
        else:
            self._extreme = min(self._extreme, d)
            if cur.inserted and d > self._extreme + PASS_HYSTERESIS_MM:
                self._n += 1
                self._forward, self._extreme = True, d

    def value(self) -> float:
        return float(self._n)


class Redirections(StreamingMetric):
    """Turns of the shaft by ``REDIRECT_DEG`` or more within one skin puncture."""

    name = "redirections"

    def __init__(self, ctx: ScoringContext) -> None:
        super().__init__(ctx)
        self._n = 0
        self._anchor: np.ndarray | None = None
        self._turning = False

    def _step(self, prev: Sample | None, cur: Sample) -> None:
        if is_new_puncture(prev, cur) or not cur.inserted:
            self._anchor, self._turning = None, False
        d = shaft_direction(cur)
        if d is None:
            return
        if self._anchor is None:
            self._anchor = d
            return
        turned = _angle_deg(self._anchor, d)
        if self._turning:
            dt = cur.t_s - prev.t_s if prev is not None else 0.0
            if dt > 0.0 and turned / dt < REDIRECT_STEADY_DEG_S:
                self._turning = False
            self._anchor = d
        elif turned >= REDIRECT_DEG:
            self._n += 1
            self._turning = True
            self._anchor = d

    def value(self) -> float:
        return float(self._n)


class _TimeWeightedMean(StreamingMetric):
    """Mean of a per-sample quantity over the time it held (zero-order hold)."""

    def __init__(self, ctx: ScoringContext) -> None:
        super().__init__(ctx)
        self._sum = 0.0
        self._t = 0.0

    def quantity(self, prev: Sample, cur: Sample) -> float | None:
        raise NotImplementedError

    def _step(self, prev: Sample | None, cur: Sample) -> None:
        if prev is None:
            return
        q = self.quantity(prev, cur)
        dt = cur.t_s - prev.t_s
        if q is not None and dt > 0.0:
            self._sum += q * dt
            self._t += dt

    def value(self) -> float:
        return self._sum / self._t if self._t > 0.0 else math.nan


class MeanNeedleBeamAngle(_TimeWeightedMean):
    """Time-weighted mean shaft-to-image-plane angle with the needle in the skin."""

    name = "mean_needle_beam_angle_deg"

    def quantity(self, prev: Sample, cur: Sample) -> float | None:
        return prev.shaft_plane_angle_deg if prev.inserted else None


class InsertionAngle(_TimeWeightedMean):
    """Time-weighted mean angle of the shaft to the probe face while advancing."""

    name = "insertion_angle_deg"

    def quantity(self, prev: Sample, cur: Sample) -> float | None:
        d = shaft_direction(prev)
        if d is None or not is_advancing(prev, cur):
            return None
        z = prev.probe2world[:3, 2] / np.linalg.norm(prev.probe2world[:3, 2])
        return math.degrees(math.asin(min(abs(float(d @ z)), 1.0)))


class MaxNeedleBeamDistance(StreamingMetric):
    name = "max_needle_beam_distance_mm"

    def __init__(self, ctx: ScoringContext) -> None:
        super().__init__(ctx)
        self._d = math.nan

    def _step(self, prev: Sample | None, cur: Sample) -> None:
        if cur.inserted and cur.shaft_plane_distance_mm is not None:
            d = cur.shaft_plane_distance_mm
            self._d = d if math.isnan(self._d) else max(self._d, d)

    def value(self) -> float:
        return self._d


class PathLength(StreamingMetric):
    """Distance travelled by the tip in tissue (from the skin entry on a new puncture)."""

    name = "path_length_mm"

    def __init__(self, ctx: ScoringContext) -> None:
        super().__init__(ctx)
        self._mm = 0.0

    def _step(self, prev: Sample | None, cur: Sample) -> None:
        if not cur.inserted or cur.tip_mm is None:
            return
        start = cur.entry_mm if is_new_puncture(prev, cur) else prev.tip_mm  # type: ignore[union-attr]
        self._mm += float(np.linalg.norm(np.subtract(cur.tip_mm, start)))

    def value(self) -> float:
        return self._mm


class TimeInTissue(StreamingMetric):
    name = "time_in_tissue_s"

    def __init__(self, ctx: ScoringContext) -> None:
        super().__init__(ctx)
        self._s = 0.0

    def _step(self, prev: Sample | None, cur: Sample) -> None:
        if prev is not None and prev.inserted:
            self._s += cur.t_s - prev.t_s

    def value(self) -> float:
        return self._s


class TotalTime(StreamingMetric):
    name = "total_time_s"

    def __init__(self, ctx: ScoringContext) -> None:
        super().__init__(ctx)
        self._t0: float | None = None
        self._t1 = 0.0

    def _step(self, prev: Sample | None, cur: Sample) -> None:
        if self._t0 is None:
            self._t0 = cur.t_s
        self._t1 = cur.t_s

    def value(self) -> float:
        return 0.0 if self._t0 is None else self._t1 - self._t0


class TissueDamage(StreamingMetric):
    """Area swept by the shaft (entry to tip) in tissue between samples of one puncture."""

    name = "tissue_damage_mm2"

    def __init__(self, ctx: ScoringContext) -> None:
        super().__init__(ctx)
        self._mm2 = 0.0

    def _step(self, prev: Sample | None, cur: Sample) -> None:
        if prev is None or not (prev.inserted and cur.inserted) or is_new_puncture(prev, cur):
            return
        self._mm2 += swept_area_mm2(
            np.asarray(prev.entry_mm),
            np.asarray(prev.tip_mm),
            np.asarray(cur.entry_mm),
            np.asarray(cur.tip_mm),
        )

    def value(self) -> float:
        return self._mm2


class TimeToTargetView(StreamingMetric):
    """Time from the first sample to the first with the target in the image."""

    name = "time_to_target_view_s"

    def __init__(self, ctx: ScoringContext) -> None:
        super().__init__(ctx)
        self._t0: float | None = None
        self._found = math.nan

    def _step(self, prev: Sample | None, cur: Sample) -> None:
        if self._t0 is None:
            self._t0 = cur.t_s
        if math.isnan(self._found) and cur.target_in_image:
            self._found = cur.t_s - self._t0

    def value(self) -> float:
        return self._found


class ProbePathLength(StreamingMetric):
    name = "probe_path_length_mm"

    def __init__(self, ctx: ScoringContext) -> None:
        super().__init__(ctx)
        self._mm = 0.0

    def _step(self, prev: Sample | None, cur: Sample) -> None:
        if prev is not None:
            self._mm += probe_motion(prev, cur)[0]

    def value(self) -> float:
        return self._mm


#: Metric name -> class, one per name of ``simulator.rubric.METRICS``.
METRIC_TYPES: Mapping[str, type[StreamingMetric]] = {
    cls.name: cls
    for cls in (
        TipToTargetAtInjection,
        TipToTargetFinal,
        TipToTargetCentre,
        MinTipToTarget,
        TargetReached,
        InjectateInTarget,
        IntraneuralTipEvents,
        IntraneuralInjections,
        ArterialPunctures,
        VenousPunctures,
        IntravascularInjections,
        IntratendinousEvents,
        BoneStrikes,
        PleuraContacts,
        AvoidContacts,
        InjectionsTipNotVisible,
        TipVisibilityFraction,
        ProbeMovementWhileAdvancing,
        ProbeRotationWhileAdvancing,
        NeedleLostByProbeMovement,
        NeedlePasses,
        Redirections,
        MeanNeedleBeamAngle,
        MaxNeedleBeamDistance,
        InsertionAngle,
        PathLength,
        TimeInTissue,
        TotalTime,
        TissueDamage,
        SkinPunctures,
        TimeToTargetView,
        ProbePathLength,
    )
}


def make_metrics(ctx: ScoringContext) -> dict[str, StreamingMetric]:
    """A fresh metric object for every name of ``METRIC_TYPES``, in catalogue order."""
    return {name: cls(ctx) for name, cls in METRIC_TYPES.items()}


__all__ = [
    "ADVANCE_MIN_SPEED_MM_S",
    "METRIC_TYPES",
    "PASS_HYSTERESIS_MM",
    "REDIRECT_DEG",
    "ScoringContext",
    "StreamingMetric",
    "is_advancing",
    "is_injecting",
    "is_new_puncture",
    "make_metrics",
    "probe_motion",
    "shaft_direction",
    "swept_area_mm2",
]
