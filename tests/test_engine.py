"""B-mode engine behaviour beyond the physics checks: settings, display chain, geometry."""

from __future__ import annotations

import numpy as np
import pytest

from scenes import load_scene
from simulator.engine import BModeEngine
from simulator.probe import ImagingSettings, SettingsError, get_probe
from simulator.scan_convert import get_converter, image_geometry
from simulator.scan_geometry import make_scan_geometry
from tests.physics_helpers import render


@pytest.fixture(scope="module")
def cyst(tmp_path_factory):
    return load_scene("phantom_cyst", cache_dir=tmp_path_factory.mktemp("cache"))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"freq_mhz": 3.0}, "outside the band of probe linear_38 (5.0-15.0 MHz)"),
        ({"depth_mm": 0.0}, "depth_mm = 0.0"),
        ({"depth_mm": 90.0}, "expected a depth in (0, 60.0] mm"),
        ({"tgc_db": (0.0,) * 7}, "expected 8 slider values"),
        ({"dynamic_range_db": 5.0}, "dynamic_range_db = 5.0"),
    ],
)
def test_settings_outside_the_probe_are_refused(cyst, changes, message):
    engine = BModeEngine(cyst.volume, get_probe("linear_38"), n_threads=1)
    with pytest.raises(SettingsError) as info:
        render(engine, ImagingSettings().with_(**changes))
    assert message in str(info.value)


def test_gain_and_tgc_shift_the_log_data_by_their_decibels(cyst):
    engine = BModeEngine(cyst.volume, get_probe("linear_38"))
    base = cyst.spec.imaging
    ref = render(engine, base)
    gained = render(engine, base.with_(gain_db=6.0))
    np.testing.assert_allclose(gained.beam_db - ref.beam_db, 6.0, atol=1e-3)
    # the deepest TGC slider lifts only the deep end
    tgc = render(engine, base.with_(tgc_db=(0.0,) * 7 + (10.0,)))
    r = ref.scan.ranges_mm
    diff = (tgc.beam_db - ref.beam_db).mean(axis=1)
    assert diff[r < base.depth_mm * 6 / 8 - 0.5].max() == pytest.approx(0.0, abs=1e-3)
    assert diff[r > base.depth_mm * 15 / 16].min() == pytest.approx(10.0, abs=1e-3)
    # and more gain is a brighter picture
    assert gained.image.mean() > ref.image.mean()


def test_threads_do_not_change_the_image(cyst):
    one = render(BModeEngine(cyst.volume, get_probe("linear_38"), n_threads=1), cyst.spec.imaging)
    two = render(BModeEngine(cyst.volume, get_probe("linear_38"), n_threads=2), cyst.spec.imaging)
    assert np.array_equal(one.image, two.image)


def test_linear_image_geometry_spans_the_footprint_and_depth():
    probe = get_probe("linear_38")
    scan = make_scan_geometry(probe, ImagingSettings(depth_mm=30.0))
    g = image_geometry(scan)
    assert g.z0_mm == 0.0
    assert g.z0_mm + (g.rows - 1) * g.pixel_mm == pytest.approx(30.0, abs=1e-9)
    assert g.x0_mm == pytest.approx(scan.line_x_mm[0])
    assert g.x0_mm + (g.cols - 1) * g.pixel_mm <= scan.line_x_mm[-1] + 1e-9
    assert scan.line_x_mm[-1] - scan.line_x_mm[0] == pytest.approx(38.0 - 38.0 / 256)


def test_curvilinear_sector_mask_follows_the_arc():
    probe = get_probe("curvilinear_60")
    scan = make_scan_geometry(probe, ImagingSettings(depth_mm=80.0, freq_mhz=4.0, focus_mm=40.0))
    conv = get_converter(scan)
    g = conv.geometry
    half = abs(scan.line_angle_rad[0])

    def inside(x_mm: float, z_mm: float) -> bool:
        row, col = g.pixel_of(x_mm, z_mm)
        return bool(conv.inside[round(row), round(col)])

    assert inside(0.0, 1.0) and inside(0.0, 79.0)
    # just inside and just outside the edge line at 50 mm range
    r = 60.0 + 50.0
    for delta, expected in ((-0.02, True), (0.02, False)):
        a = half + delta
        assert inside(r * np.sin(a), r * np.cos(a) - 60.0) is expected
    # below the face at the centre, above the arc at the edge: outside
    assert not inside(0.0, -1.0)
