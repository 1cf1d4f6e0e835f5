"""The scanning session (no Qt): probe intents, presets, probe choice, needle intents."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from scenes import load_scene
from scenes.skin import skin_surface
from simulator.app.scan_session import ScanSession
from simulator.needle_pose import NeedlePose, aimed_at, direction_of, outer_diameter_mm
from simulator.presets import PRESETS
from simulator.probe import PROBES, SettingsError


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScanSession]:
    cache = tmp_path_factory.mktemp("cache")
    scene = load_scene("demo_msk", cache_dir=cache)
    s = ScanSession(scene, skin_surface(scene))
    yield s
    s.close()


@pytest.fixture
def fresh(session: ScanSession) -> Iterator[ScanSession]:
    """The module session reset to the scene's start."""
    session.reset_probe()
    session.apply_preset("scene")
    session.remove_needle()
    yield session


def test_slide_follows_the_probe_orientation(fresh: ScanSession) -> None:
    x0, y0 = fresh.handle.x_mm, fresh.handle.y_mm
    fresh.turn("rotate", 45.0)  # 45 steps of 2 degrees: yaw 90
    assert fresh.handle.yaw_deg == pytest.approx(90.0)
    fresh.slide(3.0, 0.0, "normal")  # along the array, now world +y
    assert fresh.handle.x_mm == pytest.approx(x0, abs=1e-9)
    assert fresh.handle.y_mm == pytest.approx(y0 + 3.0)
    fresh.slide(1.0, 0.0, "coarse")
    assert fresh.handle.y_mm == pytest.approx(y0 + 8.0)


def test_probe_stays_over_the_scene(fresh: ScanSession) -> None:
    fresh.slide(1000.0, 0.0, "coarse")
    hi = fresh.scene.spec.bounds_max_mm
    assert fresh.handle.x_mm <= hi[0] + 1e-9
    m = fresh.probe2world()
    assert m[2, 3] == pytest.approx(0.0, abs=0.05)  # on the skin


def test_tilt_and_rock_are_clamped(fresh: ScanSession) -> None:
    fresh.turn("tilt", 100.0, "coarse")
    fresh.turn("rock", -100.0, "coarse")
    assert fresh.handle.tilt_deg == pytest.approx(45.0)
    assert fresh.handle.rock_deg == pytest.approx(-45.0)
    with pytest.raises(KeyError, match="rotate, tilt or rock"):
        fresh.turn("spin", 1.0)


def test_setting_steps_and_invalid_settings(fresh: ScanSession) -> None:
    depth = fresh.settings.depth_mm
    fresh.step_setting("depth", +1)
    assert fresh.settings.depth_mm == pytest.approx(depth + 5.0)
    for _ in range(40):
        fresh.step_setting("depth", +1)
    assert fresh.settings.depth_mm == fresh.probe.max_depth_mm
    good = fresh.settings
    with pytest.raises(SettingsError, match="freq_mhz"):
        fresh.set_settings(freq_mhz=50.0)
    assert fresh.settings == good


@pytest.mark.parametrize("name", list(PRESETS))
@pytest.mark.parametrize("probe", list(PROBES))
def test_presets_fit_every_probe(name: str, probe: str) -> None:
    settings = PRESETS[name].settings(PROBES[probe])
    settings.validate(PROBES[probe])
    assert settings.focus_mm <= settings.depth_mm


def test_probe_choice_refits_settings(fresh: ScanSession) -> None:
    fresh.apply_preset("deep_joint")
    fresh.choose_probe("linear_50")
    assert fresh.probe.name == "linear_50" and fresh.engine.probe.name == "linear_50"
    fresh.settings.validate(fresh.probe)
    assert fresh.settings == PRESETS["deep_joint"].settings(fresh.probe, fresh.settings)
    with pytest.raises(KeyError, match="not offered"):
        fresh.choose_probe("curvilinear_60")
    fresh.choose_probe("linear_38")


def test_needle_is_placed_in_plane_and_advanced(fresh: ScanSession) -> None:
    needle = fresh.place_needle()
    m = fresh.probe2world()
    # entry beyond the probe end opposite the notch, on the skin, aimed into the image plane
    local = np.linalg.solve(m, np.append(needle.entry_mm, 1.0))[:3]
    assert local[0] < -0.5 * fresh.probe.footprint_mm
    assert abs(local[1]) < 1e-9 and needle.entry_mm[2] == pytest.approx(0.0, abs=0.05)
    assert abs(needle.direction @ m[:3, 1]) < 1e-9  # in the image plane
    fresh.advance(10.0, "normal")
    assert fresh.needle.depth_mm == pytest.approx(10.0)
    tip_local = np.linalg.solve(m, np.append(fresh.needle.tip_mm, 1.0))[:3]
    assert tip_local[2] > 0 and abs(tip_local[1]) < 1e-9
    fresh.advance(-100.0, "coarse")
    assert fresh.needle.depth_mm == 0.0


def test_needle_geometry() -> None:
    n = aimed_at((0.0, 0.0, 0.0), (10.0, 0.0, 10.0), gauge=22, length_mm=40.0)
    assert n.angle_deg == pytest.approx(45.0) and n.heading_deg == pytest.approx(0.0)
    n = n.advanced(np.sqrt(200.0))
    np.testing.assert_allclose(n.tip_mm, [10.0, 0.0, 10.0], atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(n.tip_mm - n.hub_mm), 40.0)
    assert n.advanced(100.0).depth_mm == 40.0
    steep = n.redirected(d_angle_deg=100.0)
    assert steep.angle_deg == 90.0
    np.testing.assert_allclose(direction_of(0.0, 90.0), [0.0, 0.0, 1.0], atol=1e-12)
    assert outer_diameter_mm(25) == pytest.approx(0.515)
    with pytest.raises(ValueError, match="gauge 19"):
        NeedlePose((0.0, 0.0, 0.0), gauge=19)
    with pytest.raises(ValueError, match="not below the skin"):
        aimed_at((0.0, 0.0, 0.0), (5.0, 0.0, -1.0))


def test_scene_probe_choices_are_validated(tmp_path: Path) -> None:
    from scenes import SceneError, load_scene_spec
    from scenes.cache import find_scene

    text = find_scene("demo_msk").read_text()
    bad = tmp_path / "bad_choice.toml"
    bad.write_text(text.replace('choices = ["linear_50"]', 'choices = ["linear_39"]'))
    with pytest.raises(SceneError, match=r"bad_choice\.toml.*choices\[0\].*linear_39"):
        load_scene_spec(bad)
