"""Streaming scoring metrics on scripted sample sequences with known answers.

Geometry: the probe sits at the world origin looking down +z (identity pose
unless moved); needles go in at the entry point (0, 0, 0) along
``NEEDLE_DIR`` (45 deg in the x-z plane, i.e. in the image plane), so a
needle of depth d has its tip at ``d * NEEDLE_DIR``.

Target volume: a 10 mm cube label (voxel centres 10.0 ... 19.5 mm on each
axis, 0.5 mm voxels) whose voxel cells span 9.75 ... 19.75 mm.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from scenes.loader import load_scene_spec
from simulator.needle_events import NeedleEvent
from simulator.rubric import METRICS
from simulator.scoring import (
    METRIC_TYPES,
    Sample,
    Scorer,
    ScoringContext,
    TargetDistance,
    score_samples,
)
from simulator.scoring.metrics import swept_area_mm2
from simulator.tissues import get_tissue
from simulator.volume import AcousticVolume, StructureAcoustics

SPACING = 0.5
HALF_VOX = 0.5 * SPACING
CUBE_LO, CUBE_HI = 10.0 - HALF_VOX, 19.5 + HALF_VOX  # cube surface, mm
NEEDLE_DIR = np.array([1.0, 0.0, 1.0]) / math.sqrt(2.0)
ENTRY = (0.0, 15.0, 0.0)  # needles from here reach the cube centre at depth 15 sqrt 2
KNEE = Path(__file__).resolve().parent.parent / "scenes/procedures/knee_suprapatellar_recess.toml"


# ------------------------------------------------------------------ helpers
def cube_volume() -> AcousticVolume:
    """60^3 grid at 0.5 mm: background, a 10 mm cube 'suprapatellar_recess' (label 1)."""
    n = 60
    labels = np.zeros((n, n, n), dtype=np.uint8)
    labels[20:40, 20:40, 20:40] = 1
    ex = np.eye(3)[0]
    structures = (
        StructureAcoustics("background", get_tissue("soft_tissue"), ex),
        StructureAcoustics("suprapatellar_recess", get_tissue("fluid"), ex, "target"),
    )
    return AcousticVolume(
        labels=labels,
        origin_mm=np.zeros(3),
        spacing_mm=SPACING,
        structures=structures,
        boundary_index=np.zeros(0, dtype=np.int64),
        boundary_normal=np.zeros((0, 3), dtype=np.int8),
    )


def probe(x_mm: float = 0.0, rot_deg: float = 0.0) -> np.ndarray:
    """Probe pose: translated along world x, rotated about world z."""
    m = np.eye(4)
    c, s = math.cos(math.radians(rot_deg)), math.sin(math.radians(rot_deg))
    m[:2, :2] = [[c, -s], [s, c]]
    m[0, 3] = x_mm
    return m


def needle(t_s: float, depth_mm: float, **kw: object) -> Sample:
    """A sample with the needle in at ``depth_mm`` along ``NEEDLE_DIR`` (out when <= 0)."""
    kw.setdefault("probe2world", probe())
    direction = np.asarray(kw.pop("direction", NEEDLE_DIR))
    entry = np.asarray(kw.pop("entry", (0.0, 0.0, 0.0)), dtype=float)
    inserted = depth_mm > 0.0
    tip = entry + max(depth_mm, 0.0) * direction
    return Sample(
        t_s=t_s,
        entry_mm=tuple(entry),
        tip_mm=tuple(tip),
        inserted=inserted,
        depth_mm=max(depth_mm, 0.0),
        **kw,  # type: ignore[arg-type]
    )


def ev(t_s: float, kind: str, structure: str | None = None, detail: str = "") -> NeedleEvent:
    return NeedleEvent(t_s, kind, (0.0, 0.0, 0.0), 5.0, structure, detail)


def run(samples: list[Sample], ctx: ScoringContext | None = None, dist=None) -> dict[str, float]:
    return score_samples(ctx or ScoringContext(), samples, dist).values()


def depth_profile(depths: list[float], dt: float = 0.1) -> list[Sample]:
    return [needle(i * dt, d, tip_in_image=True) for i, d in enumerate(depths)]


def ramp(a: float, b: float, step: float = 1.0) -> list[float]:
    n = round(abs(b - a) / step)
    return [a + (b - a) * k / n for k in range(1, n + 1)]


# ----------------------------------------------------------- catalogue
def test_every_catalogue_metric_is_implemented() -> None:
    assert set(METRIC_TYPES) == set(METRICS)
    values = run([needle(0.0, 5.0)])
    assert list(values) == list(METRICS)


# ---------------------------------------------------------- visibility
def test_tip_visibility_fraction_of_advancing_time() -> None:
    # 10 mm/s for 3 s at 10 Hz; tip seen for the first 2 s; then 1 s still, unseen
    samples = [needle(0.1 * i, 1.0 + 1.0 * i, tip_in_image=0.1 * i < 1.95) for i in range(31)] + [
        needle(3.0 + 0.1 * i, 31.0, tip_in_image=False) for i in range(1, 11)
    ]
    v = run(samples)
    assert v["tip_visibility_fraction"] == pytest.approx(2.0 / 3.0, abs=1e-12)
    assert v["total_time_s"] == pytest.approx(4.0)
    assert v["time_in_tissue_s"] == pytest.approx(4.0)
    assert v["path_length_mm"] == pytest.approx(1.0 + 30.0)  # entry -> 1 mm, then 30 mm
    assert v["needle_passes"] == 1.0
    assert v["redirections"] == 0.0
    assert v["tissue_damage_mm2"] == pytest.approx(0.0, abs=1e-9)
    assert v["mean_needle_beam_angle_deg"] == pytest.approx(0.0, abs=1e-9)  # in plane
    assert v["insertion_angle_deg"] == pytest.approx(45.0)
    assert v["max_needle_beam_distance_mm"] == pytest.approx(0.0, abs=1e-12)


def test_no_advance_gives_nan_visibility() -> None:
    v = run([needle(0.0, 5.0, tip_in_image=True), needle(1.0, 5.0, tip_in_image=True)])
    assert math.isnan(v["tip_visibility_fraction"])


# -------------------------------------------------------------- passes
def test_two_withdraw_readvance_cycles_make_three_passes() -> None:
    depths = ramp(0.0, 30.0) + ramp(30.0, 20.0) + ramp(20.0, 35.0)
    depths += ramp(35.0, 28.0) + ramp(28.0, 40.0)
    depths += ramp(40.0, 37.0) + ramp(37.0, 40.0)  # 3 mm wiggle: under the hysteresis
    assert run(depth_profile(depths))["needle_passes"] == 3.0


def test_skin_exit_and_new_puncture_is_a_new_pass() -> None:
    depths = [*ramp(0.0, 3.0), 0.0, 0.0, *ramp(0.0, 20.0)]
    samples = depth_profile(depths)
    v = run(samples)
    assert v["needle_passes"] == 2.0


# -------------------------------------------------------- probe motion
def test_probe_slide_while_advancing() -> None:
    samples = [needle(0.0, 5.0)]
    for i in range(1, 11):  # advance 1 mm per 0.1 s while sliding 0.3 mm
        samples.append(needle(0.1 * i, 5.0 + i, probe2world=probe(0.3 * i)))
    for i in range(1, 6):  # needle still, probe slides 5 mm more
        samples.append(needle(1.0 + 0.1 * i, 15.0, probe2world=probe(3.0 + i)))
    v = run(samples)
    assert v["probe_movement_while_advancing_mm"] == pytest.approx(3.0)
    assert v["probe_rotation_while_advancing_deg"] == pytest.approx(0.0, abs=1e-6)
    assert v["probe_path_length_mm"] == pytest.approx(8.0)


def test_probe_rotation_while_advancing_and_needle_lost() -> None:
    samples = [needle(0.0, 5.0, tip_in_image=True)]
    for i in range(1, 11):  # rotate 1 deg per step while advancing
        samples.append(needle(0.1 * i, 5.0 + i, probe2world=probe(0, i), tip_in_image=True))
    # the probe turns further with the needle still: the tip leaves the image
    samples.append(needle(1.1, 15.0, probe2world=probe(0, 20.0), tip_in_image=False))
    v = run(samples)
    assert v["probe_rotation_while_advancing_deg"] == pytest.approx(10.0)
    assert v["needle_lost_by_probe_movement"] == 1.0


# ------------------------------------------------ redirections, damage
def test_pivot_redirection_and_swept_area() -> None:
    other = np.array([math.sin(math.radians(75)), 0.0, math.cos(math.radians(75))])
    samples = [
        needle(0.0, 20.0),
        needle(0.5, 20.0),
        needle(1.0, 20.0, direction=other),  # 30 deg pivot about the entry
        needle(1.5, 20.0, direction=other),
        needle(2.0, 20.0, direction=other),
    ]
    v = run(samples)
    assert v["redirections"] == 1.0
    assert v["tissue_damage_mm2"] == pytest.approx(0.5 * 20.0 * 20.0 * math.sin(math.radians(30)))
    # the shaft leaves the image plane when pivoting out of it
    out = np.array([0.0, 0.5, math.sqrt(0.75)])  # 30 deg out of the x-z plane
    s = needle(0.0, 10.0, direction=out)
    assert s.shaft_plane_angle_deg == pytest.approx(30.0)
    assert s.shaft_plane_distance_mm == pytest.approx(5.0)


def test_swept_area_of_a_parallel_shift() -> None:
    e0, t0 = np.zeros(3), np.array([0.0, 0.0, 10.0])
    shift = np.array([2.0, 0.0, 0.0])
    assert swept_area_mm2(e0, t0, e0 + shift, t0 + shift) == pytest.approx(20.0)
    assert swept_area_mm2(e0, t0, e0, t0 * 1.5) == pytest.approx(0.0, abs=1e-12)


# ------------------------------------------------------ target distance
@pytest.fixture(scope="module")
def cube_target() -> TargetDistance:
    return TargetDistance(cube_volume(), 1, (15.0, 15.0, 15.0))


@pytest.mark.parametrize(
    ("point", "expected"),
    [
        ((15.0, 15.0, 15.0), 0.0),
        ((12.0, 18.0, 11.0), 0.0),
        ((5.0, 15.0, 15.0), CUBE_LO - 5.0),
        ((15.0, 15.0, 24.3), 24.3 - CUBE_HI),
        ((25.0, 25.0, 15.0), math.hypot(25.0 - CUBE_HI, 25.0 - CUBE_HI)),
        ((3.0, 4.0, 5.0), float(np.linalg.norm(CUBE_LO - np.array([3.0, 4.0, 5.0])))),
        ((45.0, 15.0, 15.0), 45.0 - CUBE_HI),  # beyond the grid
    ],
)
def test_cube_surface_distance(cube_target: TargetDistance, point, expected) -> None:
    assert cube_target.surface_mm(point) == pytest.approx(expected, abs=HALF_VOX)


def test_centre_and_sphere_distances(cube_target: TargetDistance) -> None:
    assert cube_target.centre_mm((15.0, 15.0, 25.0)) == pytest.approx(10.0)
    sphere = TargetDistance(cube_volume(), None, (15.0, 15.0, 15.0), radius_mm=3.0)
    assert sphere.surface_mm((15.0, 15.0, 25.0)) == pytest.approx(7.0)
    assert sphere.surface_mm((16.0, 15.0, 15.0)) == 0.0
    assert sphere.compartments() == frozenset({"suprapatellar_recess"})
    with pytest.raises(ValueError, match="label or a radius_mm"):
        TargetDistance(cube_volume(), None, (0.0, 0.0, 0.0))


# ------------------------------------------------------ safety counts
def test_events_give_safety_counts() -> None:
    ctx = ScoringContext(
        target_structure="median_nerve_target",
        avoid={
            "median_nerve": "intraneural",
            "radial_artery": "arterial_puncture",
            "femur": "bone_strike",
            "quadriceps_tendon": "intratendinous",
            "pleura": "pleura",
        },
    )
    events = [
        ev(0.1, "skin_puncture", "skin"),
        ev(0.2, "enter", "median_nerve", "nerve"),
        ev(0.2, "intraneural", "median_nerve"),
        ev(0.3, "vessel_puncture", "radial_artery", "artery"),
        ev(0.3, "vessel_puncture", "cephalic_vein", "vein"),
        ev(0.4, "tendon_penetration", "quadriceps_tendon", "tendon"),
        ev(0.5, "bone_contact", "femur"),
        ev(0.5, "bone_contact", "femur"),
        ev(0.6, "enter", "pleura", "fascia"),
        ev(0.7, "intravascular_injection", "radial_artery"),
        ev(0.8, "skin_exit"),
        ev(0.9, "skin_puncture", "skin"),
    ]
    samples = [needle(0.0, 5.0), needle(1.0, 6.0, events=events)]
    v = run(samples, ctx)
    assert v["intraneural_tip_events"] == 1
    assert v["arterial_punctures"] == 1
    assert v["venous_punctures"] == 1
    assert v["intratendinous_events"] == 1
    assert v["bone_strikes"] == 2
    assert v["pleura_contacts"] == 1
    assert v["intravascular_injections"] == 1
    assert v["skin_punctures"] == 2
    # nerve, artery, tendon, 2 x femur, pleura (the vein is not marked avoid)
    assert v["avoid_contacts"] == 6
    expected = dataclasses.replace(ctx, expected_contacts=frozenset({"femur"}))
    assert run(samples, expected)["bone_strikes"] == 0


def test_injection_counts_from_samples() -> None:
    s = [
        needle(0.0, 10.0, tip_in_image=True),
        needle(0.1, 10.0, injecting=True, injected_ml=0.1, tip_in_image=False),
        needle(0.2, 10.0, injecting=True, injected_ml=0.2, tip_in_image=False),
        needle(0.3, 10.0, injected_ml=0.2, tip_in_image=True),
        # injected_ml grows with no flag: still an injection, in a nerve, tip seen
        needle(0.4, 12.0, injected_ml=0.3, kind_at_tip="nerve", structure_at_tip="n"),
        needle(0.5, 12.0, injected_ml=0.3, tip_in_image=True),
    ]
    v = run(s)
    assert v["injections_tip_not_visible"] == 2
    assert v["intraneural_injections"] == 1


# -------------------------------------------------- accuracy and grade
def knee_ctx(volume: AcousticVolume) -> ScoringContext:
    return ScoringContext(
        target=TargetDistance(volume, 1, (15.0, 15.0, 15.0)),
        target_structure="suprapatellar_recess",
        compartments=frozenset({"suprapatellar_recess"}),
        avoid={"quadriceps_tendon": "intratendinous", "femur": "bone_strike"},
    )


def good_attempt() -> list[Sample]:
    """From ENTRY straight to the cube centre (depth 15 sqrt 2), tip seen throughout; inject."""
    full = 15.0 * math.sqrt(2.0)
    samples = [needle(0.0, 0.0, tip_in_image=True, entry=ENTRY)]
    samples += [
        needle(0.1 * i, full * i / 20, tip_in_image=True, entry=ENTRY) for i in range(1, 21)
    ]
    samples[1] = dataclasses.replace(samples[1], events=(ev(0.1, "skin_puncture", "skin"),))
    for k in range(1, 6):
        samples.append(
            needle(
                2.0 + 0.2 * k,
                full,
                tip_in_image=True,
                injecting=True,
                injected_ml=0.5 * k,
                entry=ENTRY,
            )
        )
    return samples


def test_accuracy_metrics_on_the_cube(cube_target: TargetDistance) -> None:
    ctx = knee_ctx(cube_target.volume)
    v = run(good_attempt(), ctx, {"suprapatellar_recess": 2.0, "suprapatellar_fat_pad": 0.5})
    assert v["tip_to_target_at_injection_mm"] == 0.0
    assert v["tip_to_target_final_mm"] == 0.0
    assert v["min_tip_to_target_mm"] == 0.0
    assert v["target_reached"] == 1.0
    assert v["tip_to_target_centre_mm"] == pytest.approx(0.0, abs=1e-9)
    assert v["injectate_in_target_fraction"] == pytest.approx(0.8)
    # stopping short: 3 mm before the cube along the needle
    short = CUBE_LO * math.sqrt(2.0) - 3.0
    s = [needle(0.0, 1.0, entry=ENTRY), needle(1.0, short, entry=ENTRY)]
    s.append(needle(1.5, short, injected_ml=0.2, entry=ENTRY))
    v = run(s, ctx)
    # along the 45 deg shaft the nearest cube point is at the corner edge (x = z = CUBE_LO)
    assert v["tip_to_target_at_injection_mm"] == pytest.approx(3.0, abs=HALF_VOX)
    assert v["min_tip_to_target_mm"] == pytest.approx(3.0, abs=HALF_VOX)
    assert v["target_reached"] == 0.0
    assert v["tip_to_target_centre_mm"] == pytest.approx(
        math.sqrt(2.0) * (15.0 - short / math.sqrt(2.0))
    )


def knee_rubric():
    return load_scene_spec(KNEE).procedure.rubric


def test_rubric_grades_good_and_bad_attempts(cube_target: TargetDistance) -> None:
    rubric = knee_rubric()
    ctx = knee_ctx(cube_target.volume)
    good = score_samples(ctx, good_attempt(), {"suprapatellar_recess": 2.5}, rubric).grade()
    assert good.passed and good.score == 1.0
    assert all(r.met for r in good.results)

    bad_samples = good_attempt()
    tendon = ev(1.0, "tendon_penetration", "quadriceps_tendon", "tendon")
    bad_samples[10] = dataclasses.replace(bad_samples[10], events=(tendon,))
    bad = score_samples(ctx, bad_samples, {"suprapatellar_recess": 2.5}, rubric).grade()
    failed = [r.criterion.metric for r in bad.results if not r.met]
    assert failed == ["intratendinous_events"]
    assert not bad.passed  # critical, though 6 of 7 criteria are met (score >= pass mark)
    assert bad.score == pytest.approx(6 / 7)
    by_metric = {r.criterion.metric: r for r in bad.results}
    assert by_metric["intratendinous_events"].value == 1.0
    assert by_metric["tip_visibility_fraction"].value == pytest.approx(1.0)


def test_from_scene_uses_target_avoid_and_rubric() -> None:
    spec = load_scene_spec(KNEE)
    vol = cube_volume()
    proc = dataclasses.replace(
        spec.procedure, target=dataclasses.replace(spec.procedure.target, point_mm=(15, 15, 15))
    )
    scene = SimpleNamespace(
        spec=SimpleNamespace(name="knee", procedure=proc, structures=spec.structures), volume=vol
    )
    scorer = Scorer.from_scene(scene)
    assert scorer.ctx.avoid == {"quadriceps_tendon": "intratendinous", "femur": "bone_strike"}
    assert scorer.ctx.compartments == frozenset({"suprapatellar_recess"})
    scorer.update_all(good_attempt())
    scorer.finish({"suprapatellar_recess": 2.5})
    assert scorer.grade().passed
    with pytest.raises(RuntimeError, match="finished"):
        scorer.update(needle(10.0, 1.0))


# --------------------------------------------------- replay, round trip
def test_same_samples_give_identical_values_and_round_trip(cube_target: TargetDistance) -> None:
    samples = good_attempt() + depth_profile(ramp(21.0, 10.0) + ramp(10.0, 25.0), dt=0.1)
    samples = samples[: len(good_attempt())] + [
        dataclasses.replace(s, t_s=s.t_s + 5.0) for s in samples[len(good_attempt()) :]
    ]
    ctx = knee_ctx(cube_target.volume)
    a = run(samples, ctx, {"suprapatellar_recess": 2.5})
    b = run(samples, knee_ctx(cube_target.volume), {"suprapatellar_recess": 2.5})
    replayed = [Sample.from_dict(json.loads(json.dumps(s.to_dict()))) for s in samples]
    c = run(replayed, knee_ctx(cube_target.volume), {"suprapatellar_recess": 2.5})
    assert json.dumps(a) == json.dumps(b) == json.dumps(c)
    for s, r in zip(samples, replayed, strict=True):
        assert r.to_dict() == s.to_dict()


def test_sample_round_trip_and_errors() -> None:
    s = needle(
        1.5,
        12.0,
        probe2world=probe(2.0, 15.0),
        tip_in_image=True,
        structure_at_tip="fat",
        kind_at_tip="fat",
        injected_ml=0.4,
        injecting=True,
        target_in_image=False,
        events=(ev(1.4, "enter", "fat", "fat"),),
    )
    back = Sample.from_dict(json.loads(json.dumps(s.to_dict())))
    assert back.to_dict() == s.to_dict()
    assert np.array_equal(back.probe2world, s.probe2world)
    assert back.events == s.events and back.target_in_image is False
    none = Sample.from_dict(Sample(0.0, np.eye(4)).to_dict())
    assert none.tip_mm is None and none.shaft_plane_angle_deg is None
    with pytest.raises(ValueError, match="probe2world"):
        Sample(0.0, np.eye(3))
    with pytest.raises(ValueError, match="both entry_mm and tip_mm"):
        Sample(0.0, np.eye(4), entry_mm=(0, 0, 0))
    with pytest.raises(ValueError, match="time order"):
        run([needle(1.0, 2.0), needle(0.5, 2.0)])


def test_time_to_target_view() -> None:
    s = [Sample(0.5 * i, probe(i), target_in_image=i >= 3) for i in range(6)]
    v = run(s)
    assert v["time_to_target_view_s"] == pytest.approx(1.5)
    assert v["probe_path_length_mm"] == pytest.approx(5.0)


def test_scene_expected_contacts_reach_the_scorer() -> None:
    """Bone under a target on the periosteum is an expected contact, not a strike."""
    root = Path(__file__).resolve().parents[1] / "scenes" / "procedures"
    spec = load_scene_spec(root / "genicular_nerves.toml")
    assert spec.procedure.target.expected_contacts == ("femur_shaft", "medial_condyle")
    point_target = dataclasses.replace(
        spec.procedure.target, structure=None, point_mm=(15, 15, 15), radius_mm=2.0
    )
    proc = dataclasses.replace(spec.procedure, target=point_target)
    scene = SimpleNamespace(
        spec=SimpleNamespace(name="g", procedure=proc, structures=spec.structures),
        volume=cube_volume(),
    )
    ctx = Scorer.from_scene(scene).ctx
    assert ctx.expected_contacts == frozenset({"femur_shaft", "medial_condyle"})
    samples = [
        needle(0.0, 5.0),
        needle(1.0, 6.0, events=[ev(0.5, "bone_contact", "femur_shaft")]),
        needle(2.0, 6.0, events=[ev(1.5, "bone_contact", "patella")]),
    ]
    assert run(samples, ctx)["bone_strikes"] == 1
