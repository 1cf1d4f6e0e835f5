"""The scorer of an attempt: every metric of the catalogue, fed the same samples.

Live, on hardware and on replay the session hands each :class:`Sample` to
:meth:`Scorer.update`; at the end :meth:`Scorer.finish` takes the injectate
distribution; :meth:`Scorer.values` gives every metric and
:meth:`Scorer.grade` grades them against the scene's rubric.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from simulator.rubric import METRICS, Grade, Rubric
from simulator.scoring.metrics import METRIC_TYPES, ScoringContext, StreamingMetric
from simulator.scoring.samples import Sample
from simulator.scoring.target_distance import TargetDistance


class Scorer:
    """All metrics of one attempt, and its grade.

    Parameters
    ----------
    ctx : ScoringContext
        Target, avoid structures and expected contacts of the scene.
    rubric : Rubric or None
        The scene's rubric; None allows values but no grade.
    """

    def __init__(self, ctx: ScoringContext, rubric: Rubric | None = None) -> None:
        missing = [n for n in METRICS if n not in METRIC_TYPES]
        if missing:
            raise RuntimeError(f"scoring: no metric implements {', '.join(missing)}")
        if rubric is not None:
            unknown = [c.metric for c in rubric.criteria if c.metric not in METRICS]
            if unknown:
                raise ValueError(
                    f"rubric criteria name unknown metrics {', '.join(unknown)}; "
                    f"expected names of simulator.rubric.METRICS"
                )
        self.ctx = ctx
        self.rubric = rubric
        self.metrics: dict[str, StreamingMetric] = {n: METRIC_TYPES[n](ctx) for n in METRICS}
        self.n_samples = 0
        self.finished = False

    @classmethod
    def from_scene(cls, scene: Any, **context: Any) -> Scorer:
        """The scorer of a loaded procedure scene (``scenes.load_scene``).

        Parameters
        ----------
        scene : Scene
            With ``spec.procedure`` (target, rubric), ``spec.structures``
            (role, harm) and ``volume``.
        **context
            Overrides of :class:`ScoringContext` fields (``expected_contacts``...).

        Raises
        ------
        ValueError
            If the scene has no procedure (nothing to score against).
        """
        spec = scene.spec
        proc = getattr(spec, "procedure", None)
        if proc is None:
            raise ValueError(
                f"scene {getattr(spec, 'name', '?')!r} has no [procedure]: nothing to score"
            )
        target = TargetDistance.from_spec(proc.target, scene.volume)
        avoid = {s.name: s.harm for s in spec.structures if s.role == "avoid"}
        fields: dict[str, Any] = {
            "target": target,
            "target_structure": proc.target.structure,
            "compartments": target.compartments(),
            "avoid": avoid,
            "expected_contacts": frozenset(getattr(proc.target, "expected_contacts", ())),
        }
        fields.update(context)
        return cls(ScoringContext(**fields), proc.rubric)

    def update(self, sample: Sample) -> None:
        """Feed one sample to every metric (in time order).

        Raises
        ------
        RuntimeError
            After :meth:`finish`.
        """
        if self.finished:
            raise RuntimeError("Scorer.update: the attempt is finished; make a new Scorer")
        for m in self.metrics.values():
            m.update(sample)
        self.n_samples += 1

    def update_all(self, samples: Iterable[Sample]) -> None:
        """Feed several samples in order (a replay)."""
        for s in samples:
            self.update(s)

    def finish(self, distribution_ml: Mapping[str, float] | None = None) -> None:
        """End the attempt with the injectate distribution (structure -> ml)."""
        for m in self.metrics.values():
            m.finish(distribution_ml)
        self.finished = True

    def values(self) -> dict[str, float]:
        """Metric name -> value, in catalogue order (NaN when not defined)."""
        return {n: float(m.value()) for n, m in self.metrics.items()}

    def grade(self) -> Grade:
        """Grade the current values with the rubric.

        Raises
        ------
        ValueError
            Without a rubric.
        """
        if self.rubric is None:
            raise ValueError("Scorer.grade: this scorer has no rubric")
        return self.rubric.grade(self.values())


def score_samples(
    ctx: ScoringContext,
    samples: Iterable[Sample],
    distribution_ml: Mapping[str, float] | None = None,
    rubric: Rubric | None = None,
) -> Scorer:
    """Score a whole recorded sample sequence (replay, re-scoring)."""
    scorer = Scorer(ctx, rubric)
    scorer.update_all(samples)
    scorer.finish(distribution_ml)
    return scorer


__all__ = ["Scorer", "score_samples"]
