"""A curved bone cortex is one continuous bright line at its true depth.

The phantom is the appearance sheet's condyle (a bone cylinder of 15 mm radius
under a 2.5 mm cartilage cap, crossing the image plane) painted on the 0.25 mm
grid the procedure scenes use, so that the voxel staircase is as coarse as in
the scenes. Each line's brightest echo near the true surface is compared with
the circle.
"""

from __future__ import annotations

import numpy as np
import pytest

from simulator.appearance_phantoms import CONDYLE_RADIUS_MM, CONDYLE_TOP_MM, build_phantom
from simulator.engine import BModeEngine, FrameRequest
from simulator.probe import ImagingSettings, get_probe, probe_pose

#: The scenes' grid (scenes/procedures/*.toml voxel_mm).
VOXEL_MM = 0.25
#: Lines within this distance of the top of the cylinder: incidence up to ~37 degrees.
HALF_ARC_MM = 9.0


@pytest.fixture(scope="module")
def cortex() -> np.ndarray:
    """(x, true depth, found depth, peak dB) of every line over the arc."""
    phantom = build_phantom("bone_cartilage", "short", voxel_mm=VOXEL_MM)
    engine = BModeEngine(phantom.volume, get_probe("linear_38"))
    try:
        settings = ImagingSettings(depth_mm=30.0, freq_mhz=10.0, focus_mm=15.0)
        frame = engine.render(FrameRequest(probe_pose(), settings))
    finally:
        engine.close()
    x, r = frame.scan.line_x_mm, frame.scan.ranges_mm
    env = frame.envelope
    centre = CONDYLE_TOP_MM + CONDYLE_RADIUS_MM
    rows = []
    for j in np.flatnonzero(np.abs(x) <= HALF_ARC_MM):
        true = centre - np.sqrt(CONDYLE_RADIUS_MM**2 - x[j] ** 2)
        window = (r > true - 1.0) & (r < true + 1.0)
        i = int(np.argmax(np.where(window, env[:, j], 0.0)))
        # parabolic refinement of the peak between samples
        a, b, c = np.log(env[i - 1 : i + 2, j])
        frac = 0.5 * (a - c) / (a - 2 * b + c) if a - 2 * b + c < 0 else 0.0
        rows.append((x[j], true, r[i] + frac * frac_step(frame), 20 * np.log10(env[i, j])))
    return np.array(rows)


def frac_step(frame) -> float:
    """Sample spacing, mm."""
    return float(frame.scan.dr_mm)


def test_cortex_lies_on_the_true_surface(cortex):
    err = cortex[:, 2] - cortex[:, 1]
    # the voxel staircase alone is up to a voxel (0.25 mm) off; the smooth
    # surface must be found to a fifth of that on average and never be a voxel off
    assert np.sqrt(np.mean(err**2)) < 0.25 * VOXEL_MM, np.sqrt(np.mean(err**2))
    assert np.abs(err).max() < 0.6 * VOXEL_MM, np.abs(err).max()


def test_cortex_has_no_step(cortex):
    # between neighbouring lines (0.15 mm apart) the echo moves with the
    # surface: a step of half a voxel beyond the circle's own change is a stair
    step = np.diff(cortex[:, 2]) - np.diff(cortex[:, 1])
    assert np.abs(step).max() < 0.5 * VOXEL_MM, np.abs(step).max()


def test_cortex_has_no_gap(cortex):
    # a gap is a dip of the cortex echo below its trend along the arc (the
    # trend falls with incidence; a 1.5 mm running median follows it): every
    # line stays within 6 dB of it, the depth of a dash between bright segments
    db = cortex[:, 3]
    half = 5
    trend = np.array([np.median(db[max(0, k - half) : k + half + 1]) for k in range(db.size)])
    assert (trend - db).max() < 6.0, (trend - db).max()
