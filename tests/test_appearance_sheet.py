"""``main.py appearance``: the tissue appearance sheet and its phantoms."""

from __future__ import annotations

import re

import numpy as np
import pytest
from PIL import Image

from simulator.app.appearance import DESCRIPTIONS, render_phantom
from simulator.app.cli import main
from simulator.appearance_phantoms import (
    AXES,
    SKIN_MM,
    TENDON_DEPTH_MM,
    TENDON_DIAMETER_MM,
    VOXEL_MM,
    build_phantom,
    phantom_keys,
)


def _plane_column(phantom, x_mm: float) -> np.ndarray:
    """Labels along depth at world (x_mm, 0) and the depth of each voxel."""
    vol = phantom.volume
    ix = round((x_mm - vol.origin_mm[0]) / vol.spacing_mm)
    iy = round((0.0 - vol.origin_mm[1]) / vol.spacing_mm)
    z = vol.origin_mm[2] + vol.spacing_mm * np.arange(vol.shape[2])
    return vol.labels[ix, iy, :], z


def _plane_row(phantom, z_mm: float) -> tuple[np.ndarray, np.ndarray]:
    """Labels across the image (world x) at depth z_mm in the plane y = 0."""
    vol = phantom.volume
    iy = round((0.0 - vol.origin_mm[1]) / vol.spacing_mm)
    iz = round((z_mm - vol.origin_mm[2]) / vol.spacing_mm)
    x = vol.origin_mm[0] + vol.spacing_mm * np.arange(vol.shape[0])
    return vol.labels[:, iy, iz], x


def test_the_command_writes_a_picture_per_tissue_and_axis_and_the_sheet(tmp_path, capsys):
    out = tmp_path / "sheet"
    assert main(["appearance", "--out", str(out), "--only", "tendon", "collection"]) == 0
    written = sorted(p.name for p in out.iterdir())
    assert written == [
        "collection_long.jpg",
        "collection_short.jpg",
        "tendon_long.jpg",
        "tendon_short.jpg",
    ]
    for name in written:
        img = np.asarray(Image.open(out / name))
        assert img.ndim == 2  # greyscale
        assert img.shape[1] > 300 and img.shape[0] > 150
        # a B-mode picture, not a blank: speckle spreads the grey levels
        assert img.std() > 15
        # the depth scale: bright tick marks in the left margin
        assert (img[:, 40:52] > 150).any()
    md = (tmp_path / "sheet.md").read_text(encoding="utf-8")
    for name in written:
        assert f"](sheet/{name})" in md
    rows = [line for line in md.splitlines() if line.startswith("| **")]
    assert len(rows) == 2
    for row in rows:
        # long, short, description, at least one linked source
        assert re.search(r"\]\(https?://", row.split(" | ")[-1])
    assert "linear_38" in md and "dynamic range" in md
    assert "wrote" in capsys.readouterr().out


def test_an_unknown_tissue_is_a_user_error(tmp_path, capsys):
    assert main(["appearance", "--out", str(tmp_path / "x"), "--only", "spleen"]) == 2
    assert "spleen" in capsys.readouterr().err


@pytest.mark.parametrize("axis", AXES)
def test_the_tendon_cylinder_is_at_its_stated_depth_and_diameter(axis):
    ph = build_phantom("tendon", axis)
    tendon = ph.volume.structure_index("tendon")
    assert ph.stated == {"centre_depth_mm": TENDON_DEPTH_MM, "diameter_mm": TENDON_DIAMETER_MM}
    labels, z = _plane_column(ph, 0.0)
    inside = z[labels == tendon]
    top, bottom = inside.min(), inside.max()
    r = TENDON_DIAMETER_MM / 2
    assert top == pytest.approx(TENDON_DEPTH_MM - r, abs=VOXEL_MM)
    assert bottom == pytest.approx(TENDON_DEPTH_MM + r, abs=VOXEL_MM)
    # one contiguous run: a solid cylinder
    assert inside.size == pytest.approx((bottom - top) / VOXEL_MM + 1, abs=0.5)
    across, x = _plane_row(ph, TENDON_DEPTH_MM)
    wide = x[across == tendon]
    if axis == "long":  # runs the whole image width in the plane
        assert wide.min() <= -19.0 and wide.max() >= 19.0
    else:  # a disc of the stated diameter
        assert wide.min() == pytest.approx(-r, abs=VOXEL_MM)
        assert wide.max() == pytest.approx(r, abs=VOXEL_MM)
    # under the skin (from above the probe face down to SKIN_MM)
    assert ph.volume.label_at(np.array([0.0, 0.0, SKIN_MM / 2])) == ph.volume.structure_index(
        "skin"
    )


def test_fibres_run_along_the_structure_in_long_axis_and_across_the_plane_in_short_axis():
    long_ = build_phantom("tendon", "long")
    short = build_phantom("tendon", "short")
    f_long = long_.volume.structures[long_.volume.structure_index("tendon")].fibre_dir
    f_short = short.volume.structures[short.volume.structure_index("tendon")].fibre_dir
    np.testing.assert_allclose(f_long, [1.0, 0.0, 0.0])
    np.testing.assert_allclose(f_short, [0.0, 1.0, 0.0])
    # pennate background muscle: in the image plane in long axis, out of it in short axis
    m_long = long_.volume.structures[0].fibre_dir
    m_short = short.volume.structures[0].fibre_dir
    assert m_long[1] == 0.0 and m_long[0] > 0.9 and m_long[2] > 0.1
    assert m_short[0] == 0.0 and m_short[1] > 0.9 and m_short[2] > 0.1


@pytest.mark.parametrize("key", phantom_keys())
def test_every_phantom_shows_its_structure_and_has_a_sourced_description(key):
    assert key in DESCRIPTIONS and DESCRIPTIONS[key].sources
    for axis in AXES:
        ph = build_phantom(key, axis)
        vol = ph.volume
        target = vol.structure_index(ph.target)
        iy = round(-vol.origin_mm[1] / vol.spacing_mm)
        plane = vol.labels[:, iy, :]
        x = vol.origin_mm[0] + vol.spacing_mm * np.arange(vol.shape[0])
        z = vol.origin_mm[2] + vol.spacing_mm * np.arange(vol.shape[2])
        seen = plane[np.abs(x) <= 19.0][:, (z > 0) & (z < ph.depth_mm)]
        assert (seen == target).any(), f"{key} {axis}: {ph.target} not in the image"
        assert 0.0 < ph.focus_mm < ph.depth_mm <= 40.0 and 10.0 <= ph.freq_mhz <= 12.0
        for s in vol.structures:
            assert np.linalg.norm(s.fibre_dir) == pytest.approx(1.0)
            along = 0 if axis == "long" else 1
            assert abs(s.fibre_dir[1 - along]) < 1e-12  # never across both axes
        assert len(vol.boundary_index) == len(vol.boundary_normal) > 0


def test_a_fluid_collection_renders_dark_with_enhancement_behind_it():
    ph = build_phantom("collection", "short")
    frame = render_phantom(ph)
    g = frame.geometry
    img = frame.image

    def mean(x0: float, x1: float, z0: float, z1: float) -> float:
        r0, c0 = g.pixel_of(x0, z0)
        r1, c1 = g.pixel_of(x1, z1)
        return float(img[int(r0) : int(r1), int(c0) : int(c1)].mean())

    fluid = mean(-3, 3, 9, 13)
    beside = mean(10, 16, 9, 13)
    behind = mean(-3, 3, 17, 22)
    behind_beside = mean(10, 16, 17, 22)
    assert fluid < 0.5 * beside
    assert behind > behind_beside
