"""Rubric of a procedure: which metrics count, their thresholds, the pass mark.

The metric names a scene's rubric may use are the catalogue ``METRICS``
(the quantities of ``../shared/SCORING.md``); the scoring code computes them,
this module only states them and grades measured values against a rubric, so
the grade can list every criterion with its measured value beside its
threshold.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class Metric:
    """One metric of the catalogue.

    Attributes
    ----------
    unit : str
        Display unit (``"mm"``, ``"%"``, ``"count"``, ``"s"``, ...).
    description : str
        What it measures, in one sentence.
    family : str
        ``"accuracy"``, ``"safety"``, ``"technique"`` or ``"probe"``.
    """

    unit: str
    description: str
    family: str


#: Metric name -> definition; the names a rubric may refer to.
METRICS: Mapping[str, Metric] = MappingProxyType(
    {
        "tip_to_target_at_injection_mm": Metric(
            "mm",
            "largest tip-to-target surface distance at the moments of injection (0 inside)",
            "accuracy",
        ),
        "tip_to_target_final_mm": Metric(
            "mm", "tip-to-target surface distance at the end of the attempt", "accuracy"
        ),
        "tip_to_target_centre_mm": Metric(
            "mm", "tip to target centre distance at the first injection", "accuracy"
        ),
        "min_tip_to_target_mm": Metric(
            "mm", "smallest tip-to-target surface distance over the attempt", "accuracy"
        ),
        "target_reached": Metric("yes/no", "the tip entered the target volume", "accuracy"),
        "injectate_in_target_fraction": Metric(
            "%", "share of the injected volume that ended up in the target compartment", "accuracy"
        ),
        "intraneural_tip_events": Metric(
            "count", "times the tip entered a nerve that is to be avoided", "safety"
        ),
        "intraneural_injections": Metric("count", "injections with the tip in a nerve", "safety"),
        "arterial_punctures": Metric("count", "punctures of an artery", "safety"),
        "venous_punctures": Metric("count", "punctures of a vein", "safety"),
        "intravascular_injections": Metric(
            "count", "injections with the tip in a vessel lumen", "safety"
        ),
        "intratendinous_events": Metric(
            "count", "times the tip entered a tendon that is not the target", "safety"
        ),
        "bone_strikes": Metric("count", "unintended contacts of the tip with bone", "safety"),
        "pleura_contacts": Metric("count", "times the tip reached the pleura", "safety"),
        "avoid_contacts": Metric(
            "count", "contacts with any structure the scene marks to avoid", "safety"
        ),
        "injections_tip_not_visible": Metric(
            "count", "injections made while the tip was outside the imaged slice", "safety"
        ),
        "tip_visibility_fraction": Metric(
            "%",
            "share of needle-advancement time with the tip inside the imaged slice",
            "technique",
        ),
        "probe_movement_while_advancing_mm": Metric(
            "mm", "probe translation while the needle was being advanced", "technique"
        ),
        "probe_rotation_while_advancing_deg": Metric(
            "deg", "probe rotation while the needle was being advanced", "technique"
        ),
        "needle_lost_by_probe_movement": Metric(
            "count", "times the needle left the image because the probe moved", "technique"
        ),
        "needle_passes": Metric(
            "count",
            "needle passes: the first insertion plus each withdraw-and-readvance "
            "(5 mm hysteresis); one clean pass is 1",
            "technique",
        ),
        "redirections": Metric("count", "changes of needle direction", "technique"),
        "mean_needle_beam_angle_deg": Metric(
            "deg", "mean angle between shaft and image plane (in-plane approaches)", "technique"
        ),
        "max_needle_beam_distance_mm": Metric(
            "mm", "largest distance of the shaft from the image plane", "technique"
        ),
        "insertion_angle_deg": Metric("deg", "needle angle to the probe face", "technique"),
        "path_length_mm": Metric("mm", "distance travelled by the tip in tissue", "technique"),
        "time_in_tissue_s": Metric("s", "time with the needle through the skin", "technique"),
        "total_time_s": Metric("s", "duration of the attempt", "technique"),
        "tissue_damage_mm2": Metric(
            "mm²", "area swept by the shaft inside tissue between samples", "technique"
        ),
        "skin_punctures": Metric("count", "separate skin punctures", "technique"),
        "time_to_target_view_s": Metric(
            "s", "time until the target first appeared in the image", "probe"
        ),
        "probe_path_length_mm": Metric("mm", "distance travelled by the probe", "probe"),
    }
)

#: Comparison operators a criterion may use.
OPERATORS: Mapping[str, Callable[[float, float], bool]] = MappingProxyType(
    {
        "<=": operator.le,
        "<": operator.lt,
        ">=": operator.ge,
        ">": operator.gt,
        "==": operator.eq,
    }
)


@dataclass(frozen=True)
class Criterion:
    """One rubric line: ``metric op threshold``.

    Attributes
    ----------
    metric : str
        Key of ``METRICS``.
    op : str
        Key of ``OPERATORS``.
    threshold : float
        In the metric's unit; fractions (unit ``%``) are written 0-1.
    critical : bool
        Failing it fails the attempt whatever the other criteria.
    description : str
        The criterion as the instructor explains it.
    """

    metric: str
    op: str
    threshold: float
    critical: bool = False
    description: str = ""

    def met(self, value: float) -> bool:
        """Whether a measured ``value`` meets the criterion (NaN never does)."""
        if math.isnan(value):
            return False
        return OPERATORS[self.op](value, self.threshold)


@dataclass(frozen=True)
class CriterionResult:
    """A criterion with its measured value and whether it was met."""

    criterion: Criterion
    value: float
    met: bool


@dataclass(frozen=True)
class Grade:
    """The result of grading an attempt.

    Attributes
    ----------
    results : tuple of CriterionResult
        In rubric order.
    score : float
        Share of criteria met, 0-1.
    passed : bool
        Every critical criterion met and ``score >= pass_mark``.
    pass_mark : float
        The rubric's pass mark, 0-1 (NaN when not known).
    """

    results: tuple[CriterionResult, ...]
    score: float
    passed: bool
    pass_mark: float = math.nan

    def to_dict(self) -> dict[str, Any]:
        """The grade as plain types, the one form stored in the records.

        Returns
        -------
        dict
            ``{"passed": bool, "score": float, "pass_mark": float, "criteria": [{"metric", "op",
            "threshold", "critical", "description", "unit", "value", "met"},
            ...]}``; ``unit`` is the catalogue's (``""`` for names outside it).
        """
        return {
            "passed": bool(self.passed),
            "score": float(self.score),
            "pass_mark": float(self.pass_mark),
            "criteria": [
                {
                    "metric": r.criterion.metric,
                    "op": r.criterion.op,
                    "threshold": float(r.criterion.threshold),
                    "critical": bool(r.criterion.critical),
                    "description": r.criterion.description,
                    "unit": METRICS[r.criterion.metric].unit
                    if r.criterion.metric in METRICS
                    else "",
                    "value": float(r.value),
                    "met": bool(r.met),
                }
                for r in self.results
            ],
        }


@dataclass(frozen=True)
class Rubric:
    """A scene's rubric.

    Attributes
    ----------
    criteria : tuple of Criterion
    pass_mark : float
        Share of criteria (0-1) that must be met, critical ones included.
    """

    criteria: tuple[Criterion, ...]
    pass_mark: float

    def grade(self, measured: Mapping[str, float]) -> Grade:
        """Grade measured metric values (a missing metric counts as not met)."""
        results = []
        for c in self.criteria:
            value = float(measured.get(c.metric, math.nan))
            results.append(CriterionResult(c, value, c.met(value)))
        n = len(results)
        score = sum(r.met for r in results) / n if n else 1.0
        critical_ok = all(r.met for r in results if r.criterion.critical)
        passed = critical_ok and score >= self.pass_mark - 1e-12
        return Grade(tuple(results), score, passed, float(self.pass_mark))
