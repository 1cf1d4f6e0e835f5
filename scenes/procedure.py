"""The procedure part of a scene file: target, needle, views, teaching, rubric.

A procedure scene adds these sections to the anatomy sections of
``scenes.spec``::

    [procedure]        family, region, target, approach, indication, sources
    [target]           structure, point_mm, radius_mm, success,
                       min_injectate_fraction
    [needle]           gauge, length_mm, entry_mm, approach, direction
    [canonical_view]   position_mm, yaw_deg, tilt_deg, rock_deg, depth_mm,
                       description
    [teaching]         sono_anatomy, steps, pitfalls
    [[labels]]         structure, text, depth_mm, lateral_mm
    [[dimensions]]     structure, quantity, value_mm, at_mm, axis, source
    [rubric]           pass_mark
    [[criteria]]       metric, op, threshold, critical, description

and, on ``[[structures]]``, ``harm`` for every structure whose role is
``avoid``. ``[procedure]`` makes the scene a procedure: then every section
above except ``[[dimensions]]`` is required. Scenes without it (phantoms,
the engine demonstration) stay valid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scenes.schema import Field, Section, at_least, in_range, non_empty, non_zero_vec, one_of
from simulator.probe import ImagingSettings, probe_pose
from simulator.rubric import METRICS, OPERATORS, Criterion, Rubric

#: Injection families of the product.
FAMILIES: tuple[str, ...] = ("joint", "bursa_tendon", "perineural")

#: Body regions of the course.
REGIONS: tuple[str, ...] = ("spine", "shoulder", "elbow", "wrist", "hip", "knee", "ankle_foot")

#: Harm an ``avoid`` structure represents.
HARMS: tuple[str, ...] = (
    "intraneural",
    "arterial_puncture",
    "venous_puncture",
    "intratendinous",
    "bone_strike",
    "pleura",
    "cartilage",
    "labrum",
    "intra_articular",
    "deep_fascia",
)

#: Quantities a ``[[dimensions]]`` entry can state.
QUANTITIES: tuple[str, ...] = ("thickness", "csa")

#: Needle gauges on offer (Birmingham gauge).
GAUGE_RANGE: tuple[int, int] = (18, 30)

APPROACHES: tuple[str, ...] = ("in-plane", "out-of-plane")

#: Sections added by procedures (merged into ``scenes.spec.SECTIONS``).
PROCEDURE_SECTIONS: dict[str, Section] = {
    "procedure": Section(
        fields={
            "family": Field("str", required=True, check=one_of(*FAMILIES)),
            "region": Field("str", required=True, check=one_of(*REGIONS)),
            "target": Field("str", required=True, check=non_empty),
            "approach": Field("str", required=True, check=non_empty),
            "indication": Field("str", required=True, check=non_empty),
            "sources": Field("strs", required=True),
            # exam time limit of the procedure (the window's default otherwise)
            "time_limit_s": Field("float", check=in_range(30.0, 7200.0)),
        }
    ),
    "target": Section(
        fields={
            "structure": Field("str"),
            "point_mm": Field("vec3", required=True),
            "radius_mm": Field("float", check=in_range(0.0, 50.0, lo_open=True)),
            "success": Field("str", required=True, check=non_empty),
            "min_injectate_fraction": Field("float", default=0.0, check=in_range(0.0, 1.0)),
            "expected_contacts": Field("strs", default=()),
        }
    ),
    "needle": Section(
        fields={
            "gauge": Field("int", required=True, check=in_range(*GAUGE_RANGE)),
            "length_mm": Field("float", required=True, check=in_range(10.0, 200.0)),
            "entry_mm": Field("vec3", required=True),
            "approach": Field("str", required=True, check=one_of(*APPROACHES)),
            "direction": Field("str", required=True, check=non_empty),
        }
    ),
    "canonical_view": Section(
        fields={
            "position_mm": Field("vec3", required=True),
            "yaw_deg": Field("float", default=0.0),
            "tilt_deg": Field("float", default=0.0),
            "rock_deg": Field("float", default=0.0),
            "depth_mm": Field("float"),
            "description": Field("str", required=True, check=non_empty),
        }
    ),
    "teaching": Section(
        fields={
            "sono_anatomy": Field("strs", required=True),
            "steps": Field("strs", required=True),
            "pitfalls": Field("strs", required=True),
        }
    ),
    "labels": Section(
        array=True,
        fields={
            "structure": Field("str", required=True),
            "text": Field("str", required=True, check=non_empty),
            "depth_mm": Field("float", check=at_least(0.0)),
            "lateral_mm": Field("float"),
        },
    ),
    "dimensions": Section(
        array=True,
        fields={
            "structure": Field("str", required=True),
            "quantity": Field("str", required=True, check=one_of(*QUANTITIES)),
            "value": Field("float", required=True, check=in_range(0.0, 1e4, lo_open=True)),
            "at_mm": Field("vec3", required=True),
            "axis": Field("vec3", required=True, check=non_zero_vec),
            "source": Field("str", required=True, check=non_empty),
        },
    ),
    "rubric": Section(
        fields={"pass_mark": Field("float", required=True, check=in_range(0.0, 1.0))}
    ),
    "criteria": Section(
        array=True,
        fields={
            "metric": Field("str", required=True, check=one_of(*METRICS)),
            "op": Field("str", required=True, check=one_of(*OPERATORS)),
            "threshold": Field("float", required=True),
            "critical": Field("bool", default=False),
            "description": Field("str", default=""),
        },
    ),
}

#: Sections a procedure scene must have besides ``[procedure]``.
REQUIRED_WITH_PROCEDURE: tuple[str, ...] = (
    "target",
    "needle",
    "canonical_view",
    "teaching",
    "labels",
    "rubric",
    "criteria",
)


@dataclass(frozen=True)
class TargetSpec:
    """What the needle must reach.

    Attributes
    ----------
    structure : str or None
        Name of the target structure (role ``target``), if a volume.
    point_mm : tuple of 3 float
        Aim point (centre for the tip-to-centre distance), world mm.
    radius_mm : float or None
        A point target: the sphere of this radius about ``point_mm``.
    success : str
        What counts as a successful injection, for the trainee.
    min_injectate_fraction : float
        Share of the injectate that must end up in the target (0-1).
    expected_contacts : tuple of str
        Structures the tip is meant to touch on the way (the periosteum where
        the target lies on bone, e.g. the femur for the genicular nerves):
        contact with them is not a bone strike nor an avoid-structure contact.
    """

    structure: str | None
    point_mm: tuple[float, float, float]
    radius_mm: float | None
    success: str
    min_injectate_fraction: float
    expected_contacts: tuple[str, ...] = ()


@dataclass(frozen=True)
class NeedleSpec:
    """The needle of the procedure and its suggested entry.

    Attributes
    ----------
    gauge : int
        Birmingham gauge.
    length_mm : float
        Shaft length, mm.
    entry_mm : tuple of 3 float
        Suggested skin entry point, world mm.
    approach : str
        ``"in-plane"`` or ``"out-of-plane"``.
    direction : str
        E.g. ``"lateral to medial"``.
    """

    gauge: int
    length_mm: float
    entry_mm: tuple[float, float, float]
    approach: str
    direction: str


@dataclass(frozen=True)
class ViewSpec:
    """The canonical (textbook) probe pose.

    Attributes
    ----------
    position_mm : tuple of 3 float
    yaw_deg, tilt_deg, rock_deg : float
    depth_mm : float or None
        Image depth there (None: the scene's ``[imaging]`` depth).
    description : str
        What the textbook image shows.
    """

    position_mm: tuple[float, float, float]
    yaw_deg: float
    tilt_deg: float
    rock_deg: float
    depth_mm: float | None
    description: str

    @property
    def probe2world(self) -> np.ndarray:
        """The canonical probe pose, shape (4, 4) float64."""
        return probe_pose(self.position_mm, self.yaw_deg, self.tilt_deg, self.rock_deg)

    def settings(self, base: ImagingSettings) -> ImagingSettings:
        """``base`` with this view's depth (and the focus kept inside the image)."""
        if self.depth_mm is None:
            return base
        return base.with_(depth_mm=self.depth_mm, focus_mm=min(base.focus_mm, self.depth_mm))


@dataclass(frozen=True)
class TeachingSpec:
    """Teaching text: sono-anatomy to identify, steps, pitfalls."""

    sono_anatomy: tuple[str, ...]
    steps: tuple[str, ...]
    pitfalls: tuple[str, ...]


@dataclass(frozen=True)
class LabelSpec:
    """An overlay label, and where the structure appears in the canonical image.

    Attributes
    ----------
    structure : str
        Structure name.
    text : str
        Label text.
    depth_mm : float or None
        Depth of the structure's near (upper) surface in the canonical image
        along the image column at ``lateral_mm``; checked by the tests.
    lateral_mm : float or None
        Image lateral coordinate of that column (None: the column through the
        middle of the structure's section).
    """

    structure: str
    text: str
    depth_mm: float | None
    lateral_mm: float | None


@dataclass(frozen=True)
class DimensionSpec:
    """A stated size of a structure, with its source (checked by the tests).

    Attributes
    ----------
    structure : str
    quantity : str
        ``"thickness"`` (mm: chord through ``at_mm`` along ``axis``) or
        ``"csa"`` (mm²: section through ``at_mm`` normal to ``axis``).
    value : float
        mm or mm².
    at_mm : tuple of 3 float
        A point inside the structure, world mm.
    axis : tuple of 3 float
        Chord direction or section normal.
    source : str
    """

    structure: str
    quantity: str
    value: float
    at_mm: tuple[float, float, float]
    axis: tuple[float, float, float]
    source: str


@dataclass(frozen=True)
class ProcedureSpec:
    """Everything a procedure scene adds to its anatomy.

    Attributes
    ----------
    family, region : str
        Keys of ``FAMILIES`` and ``REGIONS``.
    target_text : str
        The target in a few words (``main.py scenes``).
    approach, indication : str
    sources : tuple of str
        References for the dimensions and the technique.
    target : TargetSpec
    needle : NeedleSpec
    canonical_view : ViewSpec
    teaching : TeachingSpec
    labels : tuple of LabelSpec
    dimensions : tuple of DimensionSpec
    rubric : Rubric
    time_limit_s : float or None
        Exam time limit, s (None: the application's default).
    """

    family: str
    region: str
    target_text: str
    approach: str
    indication: str
    sources: tuple[str, ...]
    target: TargetSpec
    needle: NeedleSpec
    canonical_view: ViewSpec
    teaching: TeachingSpec
    labels: tuple[LabelSpec, ...]
    dimensions: tuple[DimensionSpec, ...]
    rubric: Rubric
    time_limit_s: float | None = None


def build_procedure(tables: dict) -> ProcedureSpec:
    """Assemble a ``ProcedureSpec`` from checked tables (cross-checks are the loader's)."""
    p = tables["procedure"]
    return ProcedureSpec(
        family=p["family"],
        region=p["region"],
        target_text=p["target"],
        approach=p["approach"],
        indication=p["indication"],
        sources=p["sources"],
        target=TargetSpec(**tables["target"]),
        needle=NeedleSpec(**tables["needle"]),
        canonical_view=ViewSpec(**tables["canonical_view"]),
        teaching=TeachingSpec(**tables["teaching"]),
        labels=tuple(LabelSpec(**t) for t in tables["labels"]),
        dimensions=tuple(
            DimensionSpec(
                structure=d["structure"],
                quantity=d["quantity"],
                value=d["value"],
                at_mm=d["at_mm"],
                axis=d["axis"],
                source=d["source"],
            )
            for d in tables["dimensions"]
        ),
        rubric=Rubric(
            criteria=tuple(Criterion(**c) for c in tables["criteria"]),
            pass_mark=tables["rubric"]["pass_mark"],
        ),
        time_limit_s=p.get("time_limit_s"),
    )
