"""The needle and the injectate through the scanning session (no Qt), on demo_msk.

demo_msk (scene mm, +z depth): skin 0-2.6, fat to 11.8, fascia, muscle; a
tendon 7.5-12.5 deep along x; the effusion (the target) about x -15..3,
z 18-24; the nerve in short axis at x -15, z 31 (radius 2); the artery lumen
at x -7, z 32.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import count
from pathlib import Path

import numpy as np
import pytest

from scenes import Scene, load_scene
from scenes.skin import skin_surface
from simulator.app.scan_session import ScanSession
from simulator.engine import FrameRequest


@pytest.fixture(scope="module")
def scene(scene_cache: Path) -> Scene:
    return load_scene("demo_msk", cache_dir=scene_cache)


@pytest.fixture
def session(scene: Scene) -> Iterator[ScanSession]:
    ticks = count()
    s = ScanSession(scene, skin_surface(scene), clock=lambda: float(next(ticks)))
    yield s
    s.close()


def _kinds(s: ScanSession) -> list[tuple[str, str | None]]:
    return [(e.kind, e.structure) for e in s.events]


def test_keyboard_insertion_into_the_effusion_fires_events_in_path_order(
    session: ScanSession,
) -> None:
    session.place_needle(np.array([-35.0, 0.0, 0.0]))
    pose = session.needle
    assert pose is not None and not pose.inserted
    # aim it at the effusion's centre and push in 1 mm at a time until the target
    aim = np.array([-6.0, 0.0, 21.0])
    d = aim - np.asarray(pose.entry_mm)
    session.steer(
        "angle", (np.degrees(np.arctan2(d[2], np.hypot(d[0], d[1]))) - pose.angle_deg) / 2
    )
    for _ in range(60):
        session.advance(1.0)
        if session.kinematics.in_target:  # type: ignore[union-attr]
            break
    kinds = _kinds(session)
    assert kinds[0] == ("skin_puncture", "skin")
    order = [k for k in kinds if k[0] in ("enter", "target_reached")]
    names = [n for _, n in order]
    assert names[:3] == ["skin", "subcutaneous_fat", "fascia"]
    assert names.index("effusion") < len(names)
    assert order[-1] == ("target_reached", "effusion")
    times = [e.t_s for e in session.events]
    assert times == sorted(times)
    # depths grow along the path
    depths = [e.depth_mm for e in session.events if e.kind == "enter"]
    assert depths == sorted(depths)


def test_injection_in_the_effusion_is_conserved_and_evented(session: ScanSession) -> None:
    session.set_needle_tip(np.array([-30.0, 0.0, 0.0]), np.array([-6.0, 0.0, 21.0]))
    assert session.kinematics.structure_at_tip == "effusion"  # type: ignore[union-attr]
    for _ in range(10):
        result = session.inject(0.05)
        assert result is not None and result.outcome == "spread"
    dist = session.injection.distribution_ml()
    assert sum(dist.values()) == pytest.approx(0.5, rel=0.05)
    assert dist["effusion"] > 0.45
    assert "injection" not in [e.kind for e in session.events]  # recorded when the bolus ends
    bolus = session.finish_injection()
    assert bolus is not None and bolus.detail == "0.50 ml spread in effusion"
    assert session.finish_injection() is None  # nothing more given
    aspirate = session.aspirate()
    assert aspirate is not None and aspirate.fluid and not aspirate.blood
    assert session.events[-1].kind == "aspiration" and session.events[-1].detail == "fluid"


def test_the_image_shows_the_collection_where_it_was_injected(session: ScanSession) -> None:
    """0.3 ml in muscle: the B-mode is >= 15 dB darker about the tip, unchanged far away."""
    tip = np.array([12.0, 0.0, 16.0])  # muscle, right of the effusion
    session.set_needle_tip(np.array([35.0, 0.0, 0.0]), tip)
    assert session.kinematics.kind_at_tip == "muscle"  # type: ignore[union-attr]

    def beam_db(req: FrameRequest) -> tuple[np.ndarray, object]:
        # no needle in either image: only the tissue differs
        from dataclasses import replace

        frame = session.engine.render(replace(req, needle=None, scatterers=None))
        return frame.beam_db, frame.scan

    before, scan = beam_db(session.frame_request())
    session.inject(0.3)
    req = session.frame_request()
    assert req.tissue_edit is not None and req.tissue_edit.n_voxels > 0
    after, _ = beam_db(req)
    line, sample = scan.to_beam_coords(np.array(tip[0]), np.array(tip[2]))  # type: ignore[attr-defined]
    li, si = round(float(line)), round(float(sample))
    half_l = int(1.5 / scan.line_pitch)  # type: ignore[attr-defined]
    half_s = int(1.5 / scan.dr_mm)  # type: ignore[attr-defined]
    near = (slice(si - half_s, si + half_s), slice(li - half_l, li + half_l))
    assert before[near].mean() - after[near].mean() > 15.0
    far = (slice(si - half_s, si + half_s), slice(10, 10 + 2 * half_l))  # the left edge
    assert abs(before[far].mean() - after[far].mean()) < 1.0
    # and the collection is centred on the tip: the fluid's centroid within 2 mm
    box = session.injection.fluid_box()
    assert box is not None
    mask, origin, spacing = box
    centre = origin + spacing * np.argwhere(mask).mean(axis=0)
    assert np.linalg.norm(centre - tip) < 2.0


def test_intraneural_injection_warns_and_stops(session: ScanSession) -> None:
    session.set_needle_tip(np.array([-30.0, 0.0, 0.0]), np.array([-15.0, 0.0, 31.0]))
    assert session.kinematics.structure_at_tip == "nerve"  # type: ignore[union-attr]
    kinds = [e.kind for e in session.events]
    assert "intraneural" in kinds
    result = session.inject(0.5)
    assert result is not None and result.resistance == "high"
    assert result.delivered_ml < 0.15 and result.warning
    assert session.events[-1].kind == "high_resistance"
    session.inject(0.5)  # pushing again: no more fluid, no second warning at this site
    assert session.injection.injected_ml < 0.15
    assert [e.kind for e in session.events].count("high_resistance") == 1


def test_intravascular_injection_and_blood_flash(session: ScanSession) -> None:
    session.set_needle_tip(np.array([-25.0, 0.0, 0.0]), np.array([-7.0, 0.0, 32.0]))
    kinds = [(e.kind, e.detail) for e in session.events]
    assert ("vessel_puncture", "artery") in kinds
    flash = session.aspirate()
    assert flash is not None and flash.blood and flash.kind == "artery"
    assert session.events[-1].detail == "blood (artery)"
    result = session.inject(0.2)
    assert result is not None and result.outcome == "intravascular"
    assert session.injection.fluid_box() is None  # carried away: no collection
    assert "intravascular_injection" in [e.kind for e in session.events]


def test_needle_in_the_frame_request_and_bone_notice(session: ScanSession) -> None:
    session.place_needle()
    assert session.frame_request().needle is not None
    session.remove_needle()
    assert session.frame_request().needle is None
    # straight down onto the condyle: the tip stops at the bone, with a notice
    session.set_needle_tip(np.array([15.0, 0.0, 0.0]), np.array([15.0, 0.0, 60.0]))
    assert "bone_contact" in [e.kind for e in session.events]
    assert "Bone" in session.notice
    assert session.kinematics.tip_mm[2] < 60.0  # type: ignore[union-attr]


def test_no_injection_without_a_needle_in_the_skin(session: ScanSession) -> None:
    assert session.inject(0.5) is None
    assert session.aspirate() is None
    session.place_needle()
    assert session.inject(0.5) is None  # on the skin, not in
    assert session.injection.injected_ml == 0.0


def test_a_jittering_tip_keeps_one_site_and_one_warning(session: ScanSession) -> None:
    """A tracked tip shaking by 0.1 mm stays at one injection site: one event each."""
    entry = np.array([-30.0, 0.0, 0.0])
    rng = np.random.default_rng(1)
    for _ in range(8):
        tip = np.array([-15.0, 0.0, 31.0]) + rng.normal(0.0, 0.1, 3)
        session.set_needle_tip(entry, tip)
        session.inject(0.02)
    kinds = [e.kind for e in session.events]
    assert kinds.count("high_resistance") == 1
    session.remove_needle()  # the bolus ends with the needle out
    injections = session.events.of_kind("injection")
    assert len(injections) == 1 and injections[0].detail.endswith("intraneural in nerve")


def test_background_relabelling_reaches_the_latest_injectate(scene: Scene) -> None:
    """The window's mode: the image shows the newest collection once it is relabelled."""
    import time

    s = ScanSession(scene, skin_surface(scene), relabel_in_background=True)
    try:
        s.set_needle_tip(np.array([35.0, 0.0, 0.0]), np.array([12.0, 0.0, 16.0]))
        s.inject(0.2)
        deadline = time.monotonic() + 10.0
        while not s.injection_settled() and time.monotonic() < deadline:
            s.frame_request()
            time.sleep(0.05)
        assert s.injection_settled()
        req = s.frame_request()
        assert req.tissue_edit is s.injection.tissue_edit()
        # handed over: the engine renders it without relabelling again
        assert s.engine.edited_volume(req.tissue_edit) is not None
        assert s.engine.render(req).timings_ms["edit"] < 5.0
        # a probe switch hands the relabelled volume to the new engine
        s.choose_probe("linear_50")
        assert s.engine.edited_volume(req.tissue_edit) is not None
    finally:
        s.close()


def test_adopt_edit_names_what_differs(session: ScanSession, scene: Scene) -> None:
    from dataclasses import replace

    from simulator.tissue_edit import TissueEdit

    edit = TissueEdit(np.array([0], np.int64), np.array([1], np.uint8))
    moved = replace(session.volume, origin_mm=session.volume.origin_mm + 1.0)
    with pytest.raises(ValueError, match="origin_mm"):
        session.engine.adopt_edit(edit, moved)
    with pytest.raises(ValueError, match="finite"):
        session.inject(float("nan"))
