"""Scoring of an attempt: samples, streaming metrics, target distance, scorer.

See ``../shared/SCORING.md``; the metric names and the rubric are in
``simulator.rubric``.
"""

from simulator.scoring.metrics import METRIC_TYPES, ScoringContext, StreamingMetric, make_metrics
from simulator.scoring.samples import Sample, point_in_slice, shaft_to_plane
from simulator.scoring.scorer import Scorer, score_samples
from simulator.scoring.target_distance import TargetDistance

__all__ = [
    "METRIC_TYPES",
    "Sample",
    "Scorer",
    "ScoringContext",
    "StreamingMetric",
    "TargetDistance",
    "make_metrics",
    "point_in_slice",
    "score_samples",
    "shaft_to_plane",
]
