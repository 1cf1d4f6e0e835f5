"""The needle and the injected tissue in the B-mode image (PHYSICS.md sections 2, 5, 7)."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import numpy as np
import pytest

from simulator.engine import BModeEngine, BModeFrame, FrameRequest
from simulator.needle_echo import (
    REVERB_COUNT,
    REVERB_STEP_DB,
    SHAFT_LOBE_DEG,
    NeedleShape,
    PointScatterers,
    steel_reflection,
)
from simulator.probe import ImagingSettings, get_probe, probe_pose
from simulator.tissue_edit import TissueEdit, injectate_label, with_injectate_label
from simulator.tissues import get_tissue
from simulator.volume import AcousticVolume, StructureAcoustics

DIAMETER_MM = 0.718  # 22 G
SETTINGS = ImagingSettings(depth_mm=40.0, freq_mhz=10.0, focus_mm=20.0)


def _uniform(tissue: str) -> AcousticVolume:
    """One tissue filling 42 x 12 x 47 mm (x -21..21, y -6..6, z -1..46), 0.25 mm voxels."""
    shape = (168, 48, 188)
    structs = (StructureAcoustics(tissue, get_tissue(tissue), np.array([1.0, 0.0, 0.0])),)
    return AcousticVolume(
        np.zeros(shape, np.uint8),
        np.array([-21.0, -6.0, -1.0]),
        0.25,
        structs,
        np.zeros(0, np.int64),
        np.zeros((0, 3), np.int8),
        seed=3,
    )


@pytest.fixture(scope="module")
def muscle():
    engine = BModeEngine(with_injectate_label(_uniform("muscle")), get_probe("linear_38"))
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def fluid():
    """An anechoic medium: only the needle's own echoes show."""
    engine = BModeEngine(_uniform("injectate"), get_probe("linear_38"))
    yield engine
    engine.close()


def _in_plane(angle_deg: float, tip=(0.0, 0.0, 20.0), y_mm: float = 0.0) -> NeedleShape:
    """A 50 mm needle coming from -x, ``angle_deg`` below the probe face, in the plane y = y_mm."""
    a = math.radians(angle_deg)
    u = np.array([math.cos(a), 0.0, math.sin(a)])
    t = np.asarray(tip, dtype=np.float64) + np.array([0.0, y_mm, 0.0])
    return NeedleShape(tuple(t - 50.0 * u), tuple(t), DIAMETER_MM)


def _render(engine: BModeEngine, **kw) -> BModeFrame:
    return engine.render(FrameRequest(probe_pose(), SETTINGS, **kw))


def _upper_wall(needle: NeedleShape, s_mm: float) -> np.ndarray:
    """Probe-frame point of the upper wall ``s_mm`` from the tip (linear probe at the origin)."""
    tip, hub = np.array(needle.tip_mm), np.array(needle.hub_mm)
    u = (tip - hub) / np.linalg.norm(tip - hub)
    across = np.array([0.0, 0.0, 1.0]) - u[2] * u
    return tip - s_mm * u - 0.5 * needle.diameter_mm * across / np.linalg.norm(across)


def _pitch_mm(frame: BModeFrame, z_mm: float) -> float:
    scan = frame.scan
    if scan.kind == "linear":
        return scan.line_pitch
    return (scan.radius_mm + z_mm) * scan.line_pitch


def _peak_near(frame: BModeFrame, point: np.ndarray, half_mm: float = 0.6) -> float:
    """Brightest beam_db within +-half_mm of a probe-frame point (x, z)."""
    scan = frame.scan
    line, sample = scan.to_beam_coords(np.array(point[0]), np.array(point[2]))
    hl = max(1, round(half_mm / _pitch_mm(frame, point[2])))
    hs = max(1, round(half_mm / scan.dr_mm))
    li, si = round(float(line)), round(float(sample))
    return float(frame.beam_db[si - hs : si + hs + 1, li - hl : li + hl + 1].max())


def _shaft_db(frame: BModeFrame, needle: NeedleShape) -> float:
    """Median over 3..10 mm behind the tip of the shaft's peak dB."""
    return float(np.median([_peak_near(frame, _upper_wall(needle, s)) for s in np.arange(3, 10)]))


def _argmax_mm(
    frame: BModeFrame,
    centre: np.ndarray,
    half_mm: float = 2.5,
    without: BModeFrame | None = None,
) -> np.ndarray:
    """Probe-frame (x, z) of the brightest envelope sample within +-half_mm of ``centre``.

    With ``without`` (the same view without the needle), of the brightest
    rise above that frame: the needle's own echo, not a bright speckle or
    texture spot of the tissue that happens to lie beside it.
    """
    scan = frame.scan
    line, sample = scan.to_beam_coords(np.array(centre[0]), np.array(centre[2]))
    hl, hs = round(half_mm / _pitch_mm(frame, centre[2])), round(half_mm / scan.dr_mm)
    l0, s0 = round(float(line)) - hl, round(float(sample)) - hs
    env = frame.envelope if without is None else frame.envelope - without.envelope
    sub = env[s0 : s0 + 2 * hs + 1, l0 : l0 + 2 * hl + 1]
    i, j = np.unravel_index(int(np.argmax(sub)), sub.shape)
    x, z = scan.beam_to_plane(l0 + j, s0 + i)
    return np.array([float(x), float(z)])


def test_steel_reflects_almost_everything():
    r = float(steel_reflection(get_tissue("muscle").impedance_mrayl))
    assert r == pytest.approx(0.93, abs=0.01)
    assert r * r == pytest.approx(0.86, abs=0.01)  # PHYSICS.md section 2: muscle/steel 0.86


def test_shaft_visibility_falls_with_insertion_angle(fluid, muscle):
    """Check 6: shaft at 15 deg at least 15 dB above the shaft at 60 deg."""
    # the shaft's own echo, in an anechoic medium
    db = {a: _shaft_db(_render(fluid, needle=_in_plane(a)), _in_plane(a)) for a in (15, 30, 60)}
    assert db[15] - db[60] >= 15.0
    assert db[15] > db[30] > db[60]
    # in muscle: well above the speckle at 15 deg, lost in it at 60 deg
    base = _render(muscle)
    contrast = {
        a: _shaft_db(_render(muscle, needle=_in_plane(a)), _in_plane(a))
        - _shaft_db(base, _in_plane(a))
        for a in (15, 60)
    }
    assert contrast[15] > 10.0
    assert contrast[60] < 5.0


@pytest.mark.parametrize("angle_deg", [15, 30, 45, 60])
def test_tip_is_the_brightest_point_of_the_needle(muscle, angle_deg):
    needle = _in_plane(angle_deg)
    frame = _render(muscle, needle=needle)
    tip_db = _peak_near(frame, _upper_wall(needle, 0.0), 0.4)
    shaft = [_peak_near(frame, _upper_wall(needle, s), 0.4) for s in np.arange(2.5, 15.0, 0.5)]
    assert tip_db > max(shaft) + 1.0
    # and the needle's brightest echo is at the tip
    found = _argmax_mm(frame, _upper_wall(needle, 3.0), half_mm=5.0, without=_render(muscle))
    wall = _upper_wall(needle, 0.0)
    assert np.hypot(found[0] - wall[0], found[1] - wall[2]) < 0.4


def test_needle_fades_out_of_the_slice(fluid, muscle):
    peaks = []
    for y in (0.0, 0.5, 0.75, 1.0, 2.0, 3.0):
        needle = _in_plane(20.0, y_mm=y)
        peaks.append(_shaft_db(_render(fluid, needle=needle), needle))
    assert all(a > b for a, b in itertools.pairwise(peaks[:5]))
    assert peaks[5] <= peaks[4]
    assert peaks[0] - peaks[3] > 20.0  # 1 mm off the plane
    assert peaks[0] - peaks[5] > 40.0
    # in muscle, 3 mm off the plane it is lost in the speckle: the image barely changes
    off = _render(muscle, needle=_in_plane(20.0, y_mm=3.0))
    base = _render(muscle)
    assert np.max(np.abs(off.beam_db - base.beam_db)) < 0.5
    assert off.needle_view is not None and not off.needle_view.tip_in_image
    assert off.needle_view.shaft_in_slice_fraction == 0.0


def test_out_of_plane_needle_is_a_dot_where_it_crosses_the_slice(fluid):
    # descending across the image plane at 30 deg; crosses y = 0 at (2, 0, 15); tip 6 mm beyond
    a = math.radians(30.0)
    u = np.array([0.0, math.cos(a), math.sin(a)])
    cross = np.array([2.0, 0.0, 15.0])
    tip = cross + (6.0 / u[1]) * u
    needle = NeedleShape(tuple(tip - 40.0 * u), tuple(tip), DIAMETER_MM)
    frame = _render(fluid, needle=needle)
    view = frame.needle_view
    assert view is not None and not view.tip_in_image  # the dot is the shaft, not the tip
    assert view.angle_to_beam_deg == pytest.approx(60.0, abs=0.01)
    wall = cross - 0.5 * DIAMETER_MM * np.array([0.0, -u[2], u[1]]) * np.sign(u[1])
    found = _argmax_mm(frame, cross, half_mm=4.0)
    assert abs(found[0] - wall[0]) < 0.3 and abs(found[1] - wall[2]) < 0.3
    # one dot: the bright (> -10 dB of the peak) samples span less than 1 mm laterally
    env = frame.envelope
    bright = env > env.max() * 10 ** (-10 / 20)
    lines = np.flatnonzero(bright.any(axis=0))
    assert (lines.max() - lines.min()) * frame.scan.line_pitch < 1.0
    # and short in depth: the slice holds only this part of the shaft (smeared by the
    # slice thickness, ~+-0.4 mm at 30 deg), with the first comet-tail echo below it
    rows = np.flatnonzero(bright.any(axis=1))
    r = frame.scan.ranges_mm
    assert wall[2] - 0.8 < r[rows.min()] and r[rows.max()] < wall[2] + 1.5


def test_comet_tail_repeats_one_diameter_apart(fluid):
    needle = NeedleShape((-30.0, 0.0, 18.0), (10.0, 0.0, 18.0), DIAMETER_MM)  # parallel to face
    frame = _render(fluid, needle=needle)
    scan = frame.scan
    line = round(float(scan.to_beam_coords(np.array(0.0), np.array(18.0))[0]))
    col = frame.envelope[:, line]
    top = int(np.argmax(col))
    assert scan.ranges_mm[top] == pytest.approx(18.0 - 0.5 * DIAMETER_MM, abs=0.1)
    step = DIAMETER_MM / scan.dr_mm
    levels = [20 * np.log10(col[top])]
    for k in range(1, REVERB_COUNT + 1):
        seg = slice(round(top + (k - 0.4) * step), round(top + (k + 0.4) * step))
        j = seg.start + int(np.argmax(col[seg]))
        assert abs(j - (top + k * step)) <= 1.0
        levels.append(20 * np.log10(col[j]))
    drops = -np.diff(levels)
    assert np.all(np.abs(drops + REVERB_STEP_DB) < 2.0)
    # and it is dark between the repeats
    mid = round(top + 0.5 * step)
    assert col[mid] < col[round(top + step)] * 0.1


@pytest.mark.parametrize("angle_deg", [20.0, 45.0])
def test_needle_echo_is_where_the_needle_is(fluid, angle_deg):
    needle = _in_plane(angle_deg, tip=(3.0, 0.0, 22.0))
    frame = _render(fluid, needle=needle)
    wall = _upper_wall(needle, 0.0)
    found = _argmax_mm(frame, wall)
    assert abs(found[0] - wall[0]) < 0.3
    assert abs(found[1] - wall[2]) < 0.3
    view = frame.needle_view
    assert view is not None and view.tip_in_image
    assert view.tip_probe_mm == pytest.approx((3.0, 0.0, 22.0))
    assert view.angle_to_beam_deg == pytest.approx(90.0 - angle_deg)
    assert 0.0 < view.shaft_in_slice_fraction <= 1.0


def test_needle_geometry_on_a_curvilinear_probe():
    engine = BModeEngine(_uniform("injectate"), get_probe("curvilinear_60"), n_threads=1)
    settings = ImagingSettings(depth_mm=40.0, freq_mhz=5.0, focus_mm=20.0)
    needle = _in_plane(20.0, tip=(8.0, 0.0, 25.0))
    frame = engine.render(FrameRequest(probe_pose(), settings, needle=needle))
    tip, hub = np.array(needle.tip_mm), np.array(needle.hub_mm)
    u = (tip - hub) / np.linalg.norm(tip - hub)
    d = np.array([tip[0], 0.0, tip[2] + 60.0])
    d /= np.linalg.norm(d)  # the line through the tip
    across = d - (d @ u) * u
    wall = tip - 0.5 * DIAMETER_MM * across / np.linalg.norm(across)
    found = _argmax_mm(frame, wall, half_mm=3.0)
    assert abs(found[0] - wall[0]) < 0.4 and abs(found[1] - wall[2]) < 0.4
    engine.close()


def _ball_edit(engine: BModeEngine, centre_mm, radius_mm: float) -> TissueEdit:
    vol = engine.volume
    centres = vol.origin_mm + vol.spacing_mm * np.indices(vol.shape).reshape(3, -1).T
    inside = np.linalg.norm(centres - np.asarray(centre_mm), axis=1) <= radius_mm
    flat = np.flatnonzero(inside).astype(np.int64)
    return TissueEdit(flat, np.full(flat.size, injectate_label(vol), np.uint8))


def _region_db(frame: BModeFrame, x0, x1, z0, z1) -> float:
    scan = frame.scan
    l0, _ = scan.to_beam_coords(np.array(x0), np.array(0.0))
    l1, _ = scan.to_beam_coords(np.array(x1), np.array(0.0))
    r = scan.ranges_mm
    rows = (r >= z0) & (r <= z1)
    amp = 10 ** (frame.beam_db[rows, round(float(l0)) : round(float(l1))] / 20)
    return float(20 * np.log10(np.mean(amp)))


def test_injectate_is_anechoic_with_enhancement_behind(muscle):
    edit = _ball_edit(muscle, (0.0, 0.0, 15.0), 3.0)
    frame = _render(muscle, tissue_edit=edit)
    inside = _region_db(frame, -1.5, 1.5, 13.5, 16.5)
    beside = _region_db(frame, 6.0, 9.0, 13.5, 16.5)
    assert inside < beside - 20.0
    # posterior enhancement: 2 alpha f d ~ 2 * 0.96 * 10 * 0.6 = 11.5 dB for the full 6 mm
    behind = _region_db(frame, -1.0, 1.0, 19.0, 24.0)
    beside_deep = _region_db(frame, 6.0, 9.0, 19.0, 24.0)
    assert 5.0 < behind - beside_deep < 16.0
    # the same edit object is imaged from the cache: no recomputation
    again = _render(muscle, tissue_edit=edit)
    assert again.timings_ms["edit"] < 1.0
    assert np.array_equal(again.image, frame.image)


def test_scatterers_are_bright_dots(muscle):
    points = np.array([[-1.0, 0.0, 14.0], [1.0, 0.0, 15.5], [0.0, 0.1, 16.5]])
    edit = _ball_edit(muscle, (0.0, 0.0, 15.0), 3.0)
    dots = PointScatterers(points, np.full(3, 0.05))
    frame = _render(muscle, tissue_edit=edit, scatterers=dots)
    plain = _render(muscle, tissue_edit=edit)
    for p in points:
        assert _peak_near(frame, p, 0.3) > _peak_near(plain, p, 0.3) + 25.0
    # out of the slice (3 mm in elevation) they do not show
    far = PointScatterers(points + np.array([0.0, 3.0, 0.0]), np.full(3, 0.05))
    hidden = _render(muscle, tissue_edit=edit, scatterers=far)
    assert np.max(np.abs(hidden.beam_db - plain.beam_db)) < 0.5


def test_same_request_same_image(muscle):
    edit = _ball_edit(muscle, (2.0, 0.0, 12.0), 2.0)
    dots = PointScatterers(np.array([[2.0, 0.0, 12.0]]), np.array([0.1]))
    request = FrameRequest(
        probe_pose(), SETTINGS, needle=_in_plane(25.0), tissue_edit=edit, scatterers=dots
    )
    one, two = muscle.render(request), muscle.render(request)
    assert np.array_equal(one.image, two.image)
    assert np.array_equal(one.envelope, two.envelope)


def test_lobe_constant_is_documented_range():
    assert 20.0 <= SHAFT_LOBE_DEG <= 25.0


def test_no_needle_costs_nothing(muscle):
    frame = _render(muscle)
    assert frame.needle_view is None
    assert frame.timings_ms["needle"] < 0.5


def test_needle_under_bone_is_shadowed():
    vol = _uniform("muscle")
    labels = vol.labels.copy()
    labels[:, :, 44:52] = 1  # bone plate at z = 10..12 mm
    structs = (*vol.structures, StructureAcoustics("bone", get_tissue("bone"), np.ones(3)))
    bone = replace(vol, labels=labels, structures=structs)
    engine = BModeEngine(bone, get_probe("linear_38"), n_threads=1)
    plain = BModeEngine(vol, get_probe("linear_38"), n_threads=1)
    needle = NeedleShape((-30.0, 0.0, 20.0), (10.0, 0.0, 20.0), DIAMETER_MM)
    wall = np.array([0.0, 0.0, 20.0 - 0.5 * DIAMETER_MM])
    shadowed = _peak_near(_render(engine, needle=needle), wall, 0.3)
    seen = _peak_near(_render(plain, needle=needle), wall, 0.3)
    assert seen - shadowed > 40.0
    engine.close()
    plain.close()
