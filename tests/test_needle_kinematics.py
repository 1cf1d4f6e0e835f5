"""Needle kinematics and contact events on hand-made layered volumes.

Main volume (0.25 mm voxels, skin at z = 0, +z into the body; a voxel
belongs to the layer of its centre, so ``label_at`` puts each boundary half
a voxel, 0.125 mm, above the nominal depth):

    skin 0-2 mm, fat 2-8, muscle 8-20, bursa 20-22 (fluid, the target),
    tendon 22-25, bone below 25;
    a nerve (radius 1.5 mm) along x at y = 6, z = 14;
    an artery lumen at y = -6, z = 10 and a vein lumen at y = -12, z = 10.

Needles go in at 45 deg along +x, so a layer boundary at depth z is crossed
at shaft depth z / sin(45 deg).
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from simulator.needle_events import EVENT_KINDS, EventLog, NeedleEvent
from simulator.needle_kinematics import (
    BONE_STANDOFF_MM,
    NeedleKinematics,
    TargetZone,
    deflection_mm,
)
from simulator.needle_pose import NeedlePose, direction_of, heading_angle_of
from simulator.skin import SkinSurface
from simulator.structure_kinds import structure_kinds
from simulator.tissues import get_tissue
from simulator.volume import AcousticVolume, StructureAcoustics

SPACING = 0.25
HALF_VOX = 0.5 * SPACING
SIN45 = math.sin(math.radians(45.0))
BONE_TOP_MM = 25.0 - HALF_VOX  # where label_at first returns bone


def _volume(
    layers: list[tuple[str, str, float, float]],
    cylinders: list[tuple[str, str, float, float, float]],
    shape: tuple[int, int, int],
    origin: tuple[float, float, float],
) -> AcousticVolume:
    """Layers (name, tissue, z0, z1) over a background, then cylinders along x
    (name, tissue, y, z, radius)."""
    structures = [StructureAcoustics("background", get_tissue("soft_tissue"), np.eye(3)[0])]
    o = np.asarray(origin, dtype=np.float64)
    x, y, z = (o[i] + SPACING * np.arange(n) for i, n in enumerate(shape))
    labels = np.zeros(shape, dtype=np.uint8)
    for name, tissue, z0, z1 in layers:
        structures.append(StructureAcoustics(name, get_tissue(tissue), np.eye(3)[0]))
        labels[:, :, (z >= z0) & (z < z1)] = len(structures) - 1
    for name, tissue, yc, zc, r in cylinders:
        structures.append(StructureAcoustics(name, get_tissue(tissue), np.eye(3)[0]))
        inside = (y[:, None] - yc) ** 2 + (z[None, :] - zc) ** 2 <= r * r
        labels[:, inside] = len(structures) - 1
    del x
    return AcousticVolume(
        labels=labels,
        origin_mm=o,
        spacing_mm=SPACING,
        structures=tuple(structures),
        boundary_index=np.zeros(0, np.int64),
        boundary_normal=np.zeros((0, 3), np.int8),
    )


@pytest.fixture(scope="module")
def volume() -> AcousticVolume:
    layers = [
        ("skin", "skin", 0.0, 2.0),
        ("fat", "fat", 2.0, 8.0),
        ("muscle", "muscle", 8.0, 20.0),
        ("bursa", "fluid", 20.0, 22.0),
        ("tendon", "tendon", 22.0, 25.0),
        ("bone", "bone", 25.0, 99.0),
    ]
    cylinders = [
        ("nerve", "nerve", 6.0, 14.0, 1.5),
        ("artery_lumen", "blood", -6.0, 10.0, 1.5),
        ("vein", "blood", -12.0, 10.0, 1.5),
    ]
    # x -5..45, y -20..12, z 0..30 mm
    return _volume(layers, cylinders, (201, 129, 121), (-5.0, -20.0, 0.0))


def _needle(
    volume: AcousticVolume,
    target: TargetZone | None = None,
    gauge: int = 22,
    log: EventLog | None = None,
    **kw: float,
) -> NeedleKinematics:
    if target is None:
        target = TargetZone(volume.structure_index("bursa"), (20.0, 0.0, 21.0), None, "bursa")
    return NeedleKinematics(
        volume, structure_kinds(volume), SkinSurface.flat(0.0), target, gauge, 50.0, log=log, **kw
    )


def _kinds(events: list[NeedleEvent]) -> list[str]:
    return [e.kind for e in events]


def _all(kin: NeedleKinematics, steps: list[tuple[float, float]]) -> list[NeedleEvent]:
    out: list[NeedleEvent] = []
    for d, t in steps:
        out += kin.advance(d, t).events
    return out


# ------------------------------------------------------------------ scripted insertion
def test_scripted_insertion_fires_events_in_order_at_the_right_depths_and_times(volume):
    log = EventLog()
    seen: list[NeedleEvent] = []
    log.subscribe(seen.append)
    kin = _needle(volume, log=log)
    kin.place((0.0, 0.0, 3.0), 0.0, 45.0, t_s=0.0)  # z is put on the skin
    assert kin.pose.entry_mm == (0.0, 0.0, 0.0)
    events = _all(kin, [(1.0, 0.1 * (i + 1)) for i in range(30)])  # 1 mm per 0.1 s
    assert _kinds(events) == [
        "skin_puncture",
        "enter",
        "leave",
        "enter",
        "leave",
        "enter",
        "leave",
        "enter",
        "target_reached",
    ]
    entered = [e.structure for e in events if e.kind == "enter"]
    assert entered == ["skin", "fat", "muscle", "bursa"]
    assert [e.structure for e in events if e.kind == "leave"] == ["skin", "fat", "muscle"]
    assert events[0].depth_mm == pytest.approx(0.0, abs=1e-6)
    assert events[0].t_s == pytest.approx(0.1)
    for boundary_mm, structure in ((2.0, "fat"), (8.0, "muscle"), (20.0, "bursa")):
        e = next(e for e in events if e.kind == "enter" and e.structure == structure)
        expected = boundary_mm / SIN45
        assert abs(e.depth_mm - expected) <= HALF_VOX / SIN45 + 1e-3
        assert e.position_mm[2] == pytest.approx(e.depth_mm * SIN45, abs=1e-6)
        assert e.t_s == pytest.approx(0.1 * math.ceil(e.depth_mm))  # the step that crossed it
    reached = events[-1]
    assert reached.structure == "bursa" and reached.depth_mm == events[-2].depth_mm
    assert kin.structure_at_tip == "bursa" and kin.in_target
    assert kin.punctures == [(pytest.approx(0.1), (0.0, 0.0, 0.0))]
    assert seen == events == log.events  # published to the log and its listeners


# ------------------------------------------------------------------ bone
def test_bone_stops_the_needle(volume):
    kin = _needle(volume)
    kin.place((0.0, 0.0, 0.0), 0.0, 45.0, 0.0)
    move = kin.advance(50.0, 1.0)
    assert move.blocked == "bone"
    tip_z = kin.tip_mm[2]
    assert BONE_TOP_MM - 0.5 <= tip_z < BONE_TOP_MM
    assert tip_z == pytest.approx(BONE_TOP_MM - BONE_STANDOFF_MM * SIN45, abs=1e-3)
    kinds = _kinds(move.events)
    assert kinds.count("bone_contact") == 1 and kinds[-1] == "bone_contact"
    assert kinds.index("tendon_penetration") > kinds.index("target_left")
    assert move.events[-1].structure == "bone"
    assert kin.structure_at_tip == "tendon"
    tip = kin.tip_mm.copy()
    again = kin.advance(5.0, 2.0)
    assert again.blocked == "bone" and again.events == []
    np.testing.assert_allclose(kin.tip_mm, tip, atol=1e-9)
    # a small withdrawal does not re-arm the contact; 1 mm does
    kin.advance(-0.2, 3.0)
    assert "bone_contact" not in _kinds(kin.advance(1.0, 4.0).events)
    kin.advance(-1.0, 5.0)
    assert _kinds(kin.advance(3.0, 6.0).events) == ["bone_contact"]


def test_a_redirect_that_would_sweep_the_shaft_into_bone_stops_at_it(volume):
    kin = _needle(volume, free_depth_mm=100.0)  # no tissue resistance here
    kin.place((0.0, 0.0, 0.0), 0.0, 45.0, 0.0)
    kin.advance(33.0, 1.0)  # tip at z = 23.3 mm, in the tendon
    move = kin.redirect(d_angle_deg=10.0, t_s=2.0)
    assert move.blocked == "bone"
    assert _kinds(move.events) == ["bone_contact"]
    assert 45.0 < kin.pose.angle_deg < 55.0
    assert BONE_TOP_MM - 0.5 <= kin.tip_mm[2] < BONE_TOP_MM


# ------------------------------------------------------------------ redirect
def _deviation_deg(kin: NeedleKinematics) -> float:
    track = kin.track_direction
    return math.degrees(math.acos(min(1.0, float(np.dot(track, kin.pose.direction)))))


@pytest.mark.parametrize("gauge", [22, 25])
def test_redirect_at_depth_is_resisted_until_withdrawn(volume, gauge):
    kin = _needle(volume, gauge=gauge)
    kin.place((0.0, 0.0, 0.0), 0.0, 45.0, 0.0)
    kin.advance(25.0, 1.0)  # z = 17.7 mm, in the muscle
    assert kin.track_direction is not None
    np.testing.assert_allclose(kin.track_direction, direction_of(0.0, 45.0), atol=1e-12)
    move = kin.redirect(d_heading_deg=10.0, t_s=2.0)
    assert move.blocked == "tissue"
    assert _kinds(move.events) == ["redirect_resisted"]
    assert "withdraw" in move.events[0].detail
    allowance = math.degrees(math.atan(deflection_mm(gauge) / 25.0))
    assert _deviation_deg(kin) == pytest.approx(allowance, abs=1e-6)
    assert kin.bend_mm == pytest.approx(25.0 * math.sin(math.radians(allowance)), abs=1e-6)
    assert kin.allowance_deg == pytest.approx(allowance)
    # pushing again is clamped again, without repeating the message
    again = kin.redirect(d_heading_deg=5.0, t_s=2.5)
    assert again.blocked == "tissue" and again.events == []
    assert _deviation_deg(kin) == pytest.approx(allowance, abs=1e-6)
    # advancing deeper: the tissue straightens the needle toward its track
    kin.advance(5.0, 3.0)
    assert _deviation_deg(kin) == pytest.approx(
        math.degrees(math.atan(deflection_mm(gauge) / 30.0)), abs=1e-6
    )
    # withdraw to the subcutaneous fat (z = 7.1 mm): the track is released
    kin.advance(-20.0, 4.0)
    assert kin.structure_at_tip == "fat"
    assert kin.track_direction is None and kin.bend_mm == 0.0
    heading = kin.pose.heading_deg
    free = kin.redirect(d_heading_deg=10.0, t_s=5.0)
    assert free.blocked is None and free.events == []
    assert kin.pose.heading_deg == pytest.approx(heading + 10.0)


def test_thinner_needle_bends_more(volume):
    deviations = {}
    for gauge in (18, 22, 25):
        kin = _needle(volume, gauge=gauge)
        kin.place((0.0, 0.0, 0.0), 0.0, 45.0, 0.0)
        kin.advance(25.0, 1.0)
        kin.redirect(d_heading_deg=10.0, t_s=2.0)
        deviations[gauge] = _deviation_deg(kin)
    assert deviations[18] < deviations[22] < deviations[25] < 10.0
    assert deviations[25] - deviations[22] == pytest.approx(
        math.degrees(math.atan(2.0 / 25.0) - math.atan(1.5 / 25.0)), abs=1e-6
    )


def test_redirect_in_the_skin_is_free_and_entry_cannot_move_while_inserted(volume):
    kin = _needle(volume)
    kin.place((0.0, 0.0, 0.0), 0.0, 45.0, 0.0)
    kin.advance(3.0, 1.0)
    move = kin.redirect(d_angle_deg=20.0, d_heading_deg=30.0, t_s=2.0)
    assert move.blocked is None
    assert (kin.pose.angle_deg, kin.pose.heading_deg) == pytest.approx((65.0, 30.0))
    with pytest.raises(ValueError, match="withdraw"):
        kin.place((5.0, 0.0, 0.0), 0.0, 45.0, 3.0)
    # same entry: a redirect
    kin.place((0.0, 0.0, 0.0), 30.0, 60.0, 3.0)
    assert kin.pose.angle_deg == pytest.approx(60.0)


# ------------------------------------------------------------------ punctures
def test_skin_punctures_are_counted(volume):
    kin = _needle(volume)
    kin.place((0.0, 0.0, 0.0), 0.0, 45.0, 0.0)
    kin.advance(5.0, 1.0)
    out = kin.advance(-10.0, 2.0)
    assert _kinds(out.events)[-2:] == ["leave", "skin_exit"]
    assert not kin.inserted and kin.structure_at_tip is None
    kin.place((4.0, 1.0, 0.0), 0.0, 45.0, 3.0)
    again = kin.advance(5.0, 4.0)
    assert _kinds(again.events)[0] == "skin_puncture"
    assert kin.punctures == [(1.0, (0.0, 0.0, 0.0)), (4.0, (4.0, 1.0, 0.0))]


# ------------------------------------------------------------------ nerve, vessels, target
@pytest.mark.parametrize(
    ("y_mm", "expected"),
    [(7.8, ["nerve_contact"]), (6.0, ["nerve_contact", "intraneural"]), (9.5, [])],
)
def test_nerve_contact_and_intraneural(volume, y_mm, expected):
    kin = _needle(volume)
    kin.place((0.0, y_mm, 0.0), 0.0, 45.0, 0.0)
    events = _all(kin, [(2.0, float(i)) for i in range(12)])  # to z = 17 mm
    nerve = [e for e in events if e.kind in ("nerve_contact", "intraneural")]
    assert _kinds(nerve) == expected
    assert all(e.structure == "nerve" for e in nerve)
    if "intraneural" in expected:
        e = nerve[1]
        assert abs(e.position_mm[2] - 12.5) <= HALF_VOX + 1e-3  # the nerve's top
        assert nerve[0].depth_mm < e.depth_mm
        assert "nerve" in [x.structure for x in events if x.kind == "enter"]


@pytest.mark.parametrize(
    ("y_mm", "kind", "name"), [(-6.0, "artery", "artery_lumen"), (-12.0, "vein", "vein")]
)
def test_artery_and_vein_punctures(volume, y_mm, kind, name):
    kin = _needle(volume)
    kin.place((0.0, y_mm, 0.0), 0.0, 45.0, 0.0)
    events = kin.advance(20.0, 1.0).events
    punct = [e for e in events if e.kind == "vessel_puncture"]
    assert len(punct) == 1
    assert (punct[0].structure, punct[0].detail) == (name, kind)
    assert abs(punct[0].position_mm[2] - 8.5) <= HALF_VOX + 1e-3
    # backing out through the vessel along the track is no new puncture
    back = kin.advance(-20.0, 2.0).events
    assert name in [e.structure for e in back if e.kind == "enter"]
    assert "vessel_puncture" not in _kinds(back)
    # nor for a tracked needle pulled back along its shaft
    kin.set_tip((0.0, y_mm, 0.0), (14.0, y_mm, 14.0), 3.0)
    back = kin.set_tip((0.0, y_mm, 0.0), (3.0, y_mm, 3.0), 4.0).events
    assert name in [e.structure for e in back if e.kind == "enter"]
    assert "vessel_puncture" not in _kinds(back)


def test_target_reached_and_left(volume):
    kin = _needle(volume)
    kin.place((0.0, 0.0, 0.0), 0.0, 45.0, 0.0)
    kin.advance(30.0, 1.0)
    assert kin.in_target
    out = kin.advance(-5.0, 2.0)
    assert _kinds(out.events) == ["target_left", "leave", "enter"]
    assert not kin.in_target and kin.structure_at_tip == "muscle"
    # a point target: the sphere of radius 1 mm about a point on the path
    point = tuple(15.0 * direction_of(0.0, 45.0))
    kin = _needle(volume, target=TargetZone(None, point, 1.0))
    kin.place((0.0, 0.0, 0.0), 0.0, 45.0, 0.0)
    events = kin.advance(20.0, 1.0).events
    sphere = [e for e in events if e.kind.startswith("target")]
    assert _kinds(sphere) == ["target_reached", "target_left"]
    assert sphere[0].depth_mm == pytest.approx(14.0, abs=1e-2)
    assert sphere[1].depth_mm == pytest.approx(16.0, abs=1e-2)
    assert sphere[0].structure == "target"
    spec = SimpleNamespace(structure="bursa", point_mm=[20, 0, 21], radius_mm=None)
    zone = TargetZone.from_spec(spec, volume)
    assert (zone.label, zone.name, zone.point_mm) == (4, "bursa", (20.0, 0.0, 21.0))


# ------------------------------------------------------------------ thin layers
def test_a_fast_move_through_thin_layers_reports_every_layer_in_order():
    layers = [
        ("skin", "skin", 0.0, 0.5),
        ("fat", "fat", 0.5, 1.0),
        ("fascia", "fascia", 1.0, 1.25),  # one voxel
        ("muscle", "muscle", 1.25, 3.0),
        ("tendon", "tendon", 3.0, 3.5),
        ("fluid", "fluid", 3.5, 4.0),
        ("cartilage", "cartilage", 4.0, 4.5),
        ("deep_muscle", "muscle", 4.5, 99.0),
    ]
    vol = _volume(layers, [], (60, 20, 60), (-2.0, -2.5, 0.0))
    kin = NeedleKinematics(vol, structure_kinds(vol), SkinSurface.flat(), None, 22, 50.0)
    kin.place((0.0, 0.0, 0.0), 0.0, 60.0, 0.0)
    events = kin.advance(10.0, 1.0).events
    entered = [e.structure for e in events if e.kind == "enter"]
    assert entered == [name for name, *_ in layers]
    depths = [e.depth_mm for e in events if e.kind == "enter"]
    assert depths == sorted(depths)
    assert "tendon_penetration" in _kinds(events)


# ------------------------------------------------------------------ tracked needle
def test_set_tip_fires_path_events_and_bone_stops_the_shown_tip(volume):
    kin = _needle(volume)
    entry = np.zeros(3)
    tip = 40.0 * direction_of(0.0, 45.0)  # z = 28.3: 3 mm into bone
    move = kin.set_tip(entry, tip, 1.0)
    assert move.blocked == "bone"
    kinds = _kinds(move.events)
    assert kinds[0] == "skin_puncture" and kinds[-1] == "bone_contact"
    assert [e.structure for e in move.events if e.kind == "enter"] == [
        "skin",
        "fat",
        "muscle",
        "bursa",
        "tendon",
    ]
    assert BONE_TOP_MM - 0.5 <= kin.tip_mm[2] < BONE_TOP_MM
    assert kin.pose.angle_deg == pytest.approx(45.0)
    # the tracked needle slides back to the muscle, then out above the skin
    back = kin.set_tip(entry, 15.0 * direction_of(0.0, 45.0), 2.0)
    assert _kinds(back.events) == [
        "leave",
        "enter",
        "target_reached",
        "target_left",
        "leave",
        "enter",
    ]
    assert [e.structure for e in back.events if e.kind == "enter"] == ["bursa", "muscle"]
    out = kin.set_tip(entry, -5.0 * direction_of(0.0, 45.0), 3.0)
    assert _kinds(out.events)[-1] == "skin_exit"
    assert kin.depth_mm == 0.0 and kin.pose.angle_deg == pytest.approx(45.0)
    assert len(kin.punctures) == 1


# ------------------------------------------------------------------ events and pose
def test_event_kinds_dicts_and_log():
    for kind in (
        "skin_puncture",
        "skin_exit",
        "enter",
        "leave",
        "bone_contact",
        "nerve_contact",
        "intraneural",
        "vessel_puncture",
        "tendon_penetration",
        "target_reached",
        "target_left",
        "redirect_resisted",
        "injection",
        "high_resistance",
        "intravascular_injection",
        "aspiration",
    ):
        assert kind in EVENT_KINDS
    e = NeedleEvent(1.5, "vessel_puncture", (1, 2, 3), 4.0, "artery_lumen", "artery")
    assert NeedleEvent.from_dict(e.to_dict()) == e
    with pytest.raises(ValueError, match="expected one of"):
        NeedleEvent(0.0, "bone_hit", (0, 0, 0), 0.0, None)
    log = EventLog()
    got: list[NeedleEvent] = []
    stop = log.subscribe(got.append)
    log.append(e)
    stop()
    log.append(NeedleEvent(3.0, "aspiration", (0, 0, 0), 4.0, None, "blood"))
    assert got == [e] and len(log) == 2
    assert [x.kind for x in log.since(2.0)] == ["aspiration"]
    assert log.count("vessel_puncture") == 1


def test_pose_bevel_and_direction_inverse():
    for heading, angle in ((0.0, 45.0), (-135.0, 10.0), (90.0, 80.0)):
        h, a = heading_angle_of(direction_of(heading, angle))
        assert (h, a) == pytest.approx((heading, angle))
    assert heading_angle_of(np.array([0.0, 0.0, 2.0]), 33.0) == (33.0, 90.0)
    pose = NeedlePose((0.0, 0.0, 0.0), gauge=22, bevel_deg=45.0)
    assert pose.bevel_length_mm == pytest.approx(0.718)
    with pytest.raises(ValueError, match="bevel_deg"):
        NeedlePose((0.0, 0.0, 0.0), bevel_deg=0.0)
    with pytest.raises(ValueError, match="needle gauge 19"):
        deflection_mm(19)
    with pytest.raises(ValueError, match="radius_mm"):
        TargetZone(None, (0.0, 0.0, 0.0), None)
    with pytest.raises(ValueError, match="kinds has"):
        NeedleKinematics(
            _volume([], [], (2, 2, 2), (0.0, 0.0, 0.0)), ("soft", "x"), SkinSurface.flat()
        )
