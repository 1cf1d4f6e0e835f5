"""Edge shadows: a thin shadow below each side of a round structure.

A tendon seen end-on (the appearance sheet's 5 mm tendon in muscle) is faster
than the muscle around it (1750 against 1580 m/s), so the lines that meet its
sides beyond the critical angle, asin(1580 / 1750) = 64.5 degrees, are
totally reflected there: below each lateral edge hangs a thin dark column,
darker than the tissue beside it and than what lies below the tendon's middle.
"""

from __future__ import annotations

import numpy as np
import pytest

from simulator.app.appearance import render_phantom
from simulator.appearance_phantoms import TENDON_DIAMETER_MM, build_phantom

#: Depths below the tendon (centre 8 mm, radius 2.5 mm) where the columns are compared.
BELOW_MM = (13.0, 18.0)


@pytest.fixture(scope="module")
def columns() -> dict[str, float]:
    frame = render_phantom(build_phantom("tendon", "short"))
    x, r = frame.scan.line_x_mm, frame.scan.ranges_mm
    amp = 10.0 ** (frame.beam_db / 20.0)
    rows = (r > BELOW_MM[0]) & (r < BELOW_MM[1])
    radius = TENDON_DIAMETER_MM / 2.0

    def level_db(lo: float, hi: float) -> float:
        lines = (np.abs(x) >= lo) & (np.abs(x) < hi)
        return float(20.0 * np.log10(amp[rows][:, lines].mean()))

    return {
        # the lines that meet the sides beyond the critical angle: |x| > R sin(64.5 deg)
        "edge": level_db(radius - 0.35, radius + 0.05),
        "middle": level_db(0.0, radius - 0.8),
        "beside": level_db(radius + 1.0, radius + 3.0),
    }


def test_shadow_below_each_side_of_a_round_tendon(columns):
    # 2 dB is what a trainee sees as a thin dark line in speckle averaged over
    # 5 mm of depth; without the total reflection the edge columns are as
    # bright as the tissue beside them (measured -0.2 dB) and brighter than the
    # middle (+1.6 dB)
    assert columns["beside"] - columns["edge"] >= 2.0, columns
    assert columns["middle"] - columns["edge"] >= 2.0, columns
