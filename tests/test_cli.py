"""``main.py render`` and ``main.py bench`` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from simulator.app.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _cache(tmp_cache_dir):
    return tmp_cache_dir


def test_render_writes_png_and_reports_geometry(tmp_path, capsys):
    out = tmp_path / "frame.png"
    env = tmp_path / "beam.npy"
    status = main(
        [
            "render",
            "--scene",
            "phantom_cyst",
            "--out",
            str(out),
            "--envelope",
            str(env),
            "--depth",
            "30",
            "--freq",
            "12",
            "--gain",
            "3",
            "--seed",
            "7",
        ]
    )
    assert status == 0
    text = capsys.readouterr().out
    assert f"wrote {out}" in text
    assert "pixel" in text and "depth 0.00..30.00 mm" in text
    image = np.asarray(Image.open(out))
    assert image.dtype == np.uint8 and image.ndim == 2
    beam = np.load(env)
    meta = json.loads(env.with_suffix(".json").read_text())
    assert beam.shape == (meta["n_samples"], meta["n_lines"])
    assert meta["n_samples"] * meta["sample_spacing_mm"] == pytest.approx(30.0, abs=0.1)
    assert meta["settings"]["freq_mhz"] == 12.0
    # the cyst (centre 15 mm, radius 5 mm) is anechoic in the linear beam data
    r = (np.arange(meta["n_samples"]) + 0.5) * meta["sample_spacing_mm"]
    x = np.asarray(meta["line_x_mm"])
    inside = beam[(r > 12) & (r < 18)][:, np.abs(x) < 2]
    beside = beam[(r > 12) & (r < 18)][:, np.abs(x) > 8]
    assert inside.mean() < 0.01 * beside.mean()


def test_render_is_reproducible_and_pose_options_move_the_probe(tmp_path):
    a, b, c = (tmp_path / n for n in ("a.png", "b.png", "c.png"))
    assert main(["render", "--scene", "phantom_tendon", "--out", str(a)]) == 0
    assert main(["render", "--scene", "phantom_tendon", "--out", str(b)]) == 0
    assert main(["render", "--scene", "phantom_tendon", "--out", str(c), "--rock", "10"]) == 0
    ia, ib, ic = (np.asarray(Image.open(p)) for p in (a, b, c))
    assert np.array_equal(ia, ib)
    assert not np.array_equal(ia, ic)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--depth", "-5"], "depth_mm = -5.0"),
        (["--freq", "30"], "outside the band of probe linear_38"),
        (["--scene", "no_such_scene"], "no_such_scene"),
        (["--tgc", "0", "0", "0", "0", "0", "0", "0", "99"], "tgc_db"),
        (["--needle-tip", "0", "0", "10"], "--needle-entry and --needle-tip go together"),
        (["--inject", "1"], "--inject needs a needle"),
        (
            ["--needle-entry", "-20", "0", "0", "--needle-tip", "0", "0", "-5"],
            "not under the skin",
        ),
        (
            ["--needle-entry", "-20", "0", "0", "--needle-tip", "0", "0", "10", "--gauge", "19"],
            "--gauge: needle gauge 19",
        ),
        (
            ["--needle-entry", "-20", "0", "0", "--needle-tip", "0", "0", "10", "--inject", "0"],
            "--inject 0.0: expected a volume > 0 ml",
        ),
    ],
)
def test_render_user_errors_exit_2_with_a_message(tmp_path, capsys, argv, expected):
    status = main(["render", "--out", str(tmp_path / "x.png"), *argv])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("error: ")
    assert expected in err
    assert "Traceback" not in err


def test_render_with_a_needle_and_injectate(tmp_path, capsys):
    """The needle brightens the image along its path; 0.4 ml darkens it about the tip."""
    plain, needle, injected = (tmp_path / f"{n}.png" for n in ("plain", "needle", "inj"))
    base = ["render", "--scene", "demo_msk", "--freq", "10"]
    entry_tip = ["--needle-entry", "30", "0", "0", "--needle-tip", "12", "0", "16"]
    assert main([*base, "--out", str(plain)]) == 0
    assert main([*base, "--out", str(needle), *entry_tip, "--events"]) == 0
    out = capsys.readouterr().out
    assert "event" in out and "skin_puncture" in out and "in muscle" in out
    assert main([*base, "--out", str(injected), *entry_tip, "--inject", "0.4"]) == 0
    out = capsys.readouterr().out
    assert "injected 0.400 ml: muscle 0.4" in out
    a, b, c = (np.asarray(Image.open(p), dtype=float) for p in (plain, needle, injected))
    # pixel geometry: 485 columns over x -18.93..18.89 mm, 513 rows over 0..40 mm
    col = lambda x_mm: round((x_mm + 18.926) / 0.0781)  # noqa: E731
    row = lambda z_mm: round(z_mm / 0.0781)  # noqa: E731
    # along the shaft (x 14, z 14.2: 2 mm before the tip) the needle is bright
    r, k = row(14.2 - 0.3), col(14.0)
    assert b[r - 3 : r + 4, k - 3 : k + 4].max() > a[r - 3 : r + 4, k - 3 : k + 4].max() + 40
    # below and left of the tip (clear of the shaft and its comet tail) the pool is dark
    r, k = row(18.0), col(9.5)
    assert c[r - 4 : r + 5, k - 4 : k + 5].mean() < 0.3 * b[r - 4 : r + 5, k - 4 : k + 5].mean()


def test_broken_scene_file_is_reported_by_file_and_field(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    text = (ROOT / "scenes" / "phantoms" / "phantom_cyst.toml").read_text()
    bad.write_text(text.replace("depth_mm", "dpeth_mm"))
    status = main(["render", "--scene", str(bad), "--out", str(tmp_path / "x.png")])
    err = capsys.readouterr().err
    assert status == 2
    assert "bad.toml" in err and "dpeth_mm" in err and "depth_mm" in err


def test_main_py_exits_non_zero_without_traceback(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "main.py"),
            "render",
            "--depth",
            "-1",
            "--scene",
            "phantom_cyst",
            "--out",
            str(tmp_path / "x.png"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 2
    assert "depth_mm" in proc.stderr and "Traceback" not in proc.stderr


def test_bench_json_has_the_figures(capsys):
    assert main(["bench", "--json", "--frames", "3", "--scene", "phantom_cyst"]) == 0
    result = json.loads(capsys.readouterr().out)
    for key in ("fps", "ms_per_frame", "n_lines", "n_samples", "depth_mm", "stages_ms"):
        assert key in result
    assert result["n_lines"] == 256 and result["depth_mm"] == 40.0
    assert set(result["stages_ms"]) >= {"march", "psf", "log", "scan_convert"}
    assert result["fps"] > 0
    assert set(result["variants"]) == {
        "linear_128_lines_4cm",
        "curvilinear_8cm",
        "linear_256_lines_4cm_needle_1ml",
    }
    needle = result["variants"]["linear_256_lines_4cm_needle_1ml"]
    assert needle["stages_ms"]["needle"] > 0.0
    assert needle["injection"]["volume_ml"] == pytest.approx(1.0)
    assert needle["injection"]["spread_s"] > 0.0
    assert result["scene_load"]["cached_load_s"] < result["scene_load"]["first_load_s"]
    # the SIMD extensions numpy runs with, split as numpy.show_runtime() splits them
    simd = result["numpy_simd"]
    assert set(simd) == {"baseline", "found", "not_found"} and simd["baseline"]
    assert not set(simd["found"]) & set(simd["not_found"])


def test_bench_reports_simd_features_turned_off():
    # users' laptops lack AVX-512: NPY_DISABLE_CPU_FEATURES turns numpy's kernels off,
    # and bench must say so (numpy reads the variable when it is first imported)
    env = {**os.environ, "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR"}
    code = "from simulator.app.bench import numpy_simd; print(numpy_simd()['found'])"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    for feature in ("X86_V4", "AVX512_ICL", "AVX512_SPR"):
        assert feature not in out


def test_app_scene_option_reports_a_broken_file_before_opening_a_window(tmp_path, capsys):
    bad = tmp_path / "mine.toml"
    bad.write_text("[scene]\nname = 'x'\n")
    assert main(["--scene", str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "missing required key 'seed'" in err
