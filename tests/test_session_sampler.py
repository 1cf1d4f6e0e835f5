"""A live session scored through its samples: the knee suprapatellar recess, in plane."""

from __future__ import annotations

from itertools import count
from pathlib import Path

import numpy as np
import pytest

from scenes import Scene, load_scene
from scenes.skin import skin_surface
from simulator.app.scan_session import ScanSession
from simulator.app.session_driver import ManualClock
from simulator.app.session_sampler import SessionSampler
from simulator.needle_pose import aimed_at
from simulator.scoring.samples import Sample
from simulator.scoring.scorer import Scorer


@pytest.fixture(scope="module")
def scene(scene_cache: Path) -> Scene:
    return load_scene("knee_suprapatellar_recess", cache_dir=scene_cache)


def _attempt(scene: Scene, aim_mm: np.ndarray, inject_ml: float) -> tuple[Scorer, list[Sample]]:
    """In plane from the procedure's entry toward ``aim_mm`` at 2 mm per 0.1 s; inject."""
    ticks = count()
    s = ScanSession(scene, skin_surface(scene), clock=lambda: 0.1 * next(ticks))
    try:
        proc = scene.spec.procedure
        assert proc is not None
        sampler = SessionSampler(s)
        scorer = Scorer.from_scene(scene)
        samples = []
        pose = aimed_at(proc.needle.entry_mm, aim_mm, proc.needle.gauge, proc.needle.length_mm)
        s.set_needle_tip(np.asarray(pose.entry_mm), np.asarray(pose.entry_mm))
        distance = float(np.linalg.norm(aim_mm - np.asarray(pose.entry_mm)))
        for depth in np.arange(2.0, distance + 1e-9, 2.0):
            s.set_needle_tip(np.asarray(pose.entry_mm), pose.entry_mm + depth * pose.direction)
            samples.append(sampler.sample())
        for _ in range(round(inject_ml / 0.1)):
            s.inject(0.1)
            samples.append(sampler.sample(injecting=True))
        s.finish_injection()
        samples.append(sampler.sample())
        scorer.update_all(samples)
        scorer.finish(s.injection.distribution_ml())
        # every event of the session went into exactly one sample, in order
        fed = [e for smp in samples for e in smp.events]
        assert fed == list(s.events)[len(s.events) - len(fed) :]
        return scorer, samples
    finally:
        s.close()


def test_a_good_in_plane_injection_into_the_recess_passes(scene: Scene) -> None:
    proc = scene.spec.procedure
    assert proc is not None
    scorer, samples = _attempt(scene, np.asarray(proc.target.point_mm), 1.0)
    values = scorer.values()
    assert values["target_reached"] == 1.0
    assert values["tip_to_target_at_injection_mm"] == pytest.approx(0.0, abs=0.5)
    assert values["injectate_in_target_fraction"] > 0.7
    # in plane, but the first millimetres lie beyond the end of the probe's footprint
    half_image_mm = 0.5 * 38.0 - 0.5
    probe_x = scene.spec.probe.position_mm[0]
    under = [s for s in samples if s.inserted and abs(s.tip_mm[0] - probe_x) < half_image_mm]
    beyond = [s for s in samples if s.inserted and abs(s.tip_mm[0] - probe_x) > 0.5 * 38.0 + 0.5]
    assert under and all(s.tip_in_image for s in under)
    assert beyond and not any(s.tip_in_image for s in beyond)
    advancing = [s for s in samples if s.inserted and not s.injecting][:-1]
    seen = sum(s.tip_in_image for s in advancing) / len(advancing)
    assert values["tip_visibility_fraction"] == pytest.approx(seen, abs=0.1)
    assert values["skin_punctures"] == 1.0
    grade = scorer.grade()
    assert grade.passed, grade


def test_stopping_short_in_the_fat_pad_fails_on_accuracy(scene: Scene) -> None:
    proc = scene.spec.procedure
    assert proc is not None
    target = np.asarray(proc.target.point_mm)
    entry = np.asarray(proc.needle.entry_mm)
    short = entry + 0.6 * (target - entry)  # 40 % short of the recess
    scorer, _ = _attempt(scene, short, 0.5)
    values = scorer.values()
    assert values["target_reached"] == 0.0
    assert values["tip_to_target_at_injection_mm"] > 2.0
    assert values["injectate_in_target_fraction"] < 0.5
    assert not scorer.grade().passed


def test_target_in_image_follows_the_probe_and_times_the_target_view(scene: Scene) -> None:
    """The aim point is in the image at the start pose and 0.2 mm off it, not 20 mm across."""
    clock = ManualClock(0.0)
    s = ScanSession(scene, skin_surface(scene), clock=clock)
    try:
        sampler = SessionSampler(s)
        start = s.probe2world()

        def off_plane(offset_mm: float) -> Sample:
            clock.t_s += 0.5
            pose = start.copy()
            pose[:3, 3] += offset_mm * start[:3, 1]  # along the elevation axis
            s.set_probe_pose(pose)
            return sampler.sample()

        away = off_plane(20.0)
        near = off_plane(0.2)  # within the slice's half-maximum thickness
        clock.t_s += 0.5
        s.reset_probe()
        on = sampler.sample()
    finally:
        s.close()
    assert away.target_in_image is False and on.target_in_image is True
    assert near.target_in_image is True
    scorer = Scorer.from_scene(scene)
    scorer.update_all([away, near, on])
    # first sample with the target in view comes 0.5 s after the first sample
    assert scorer.values()["time_to_target_view_s"] == pytest.approx(0.5)
