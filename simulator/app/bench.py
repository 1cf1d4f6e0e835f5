"""``main.py bench``: how fast the B-mode engine runs on this machine.

Measures, over a scene with bone, tendon and fluid (the demo scene by
default):

- the headline configuration: linear probe, 256 lines, 4 cm, 10 MHz, scan
  conversion included;
- 128 lines at 4 cm, and a curvilinear 8 cm frame;
- the headline frame with a needle in plane and 1 ml of injectate beside it
  (stages ``needle`` and ``edit``), and the time to spread that 1 ml;
- scene load: first (voxelising into an empty cache) and from the cache.

The probe moves a little between frames, as a hand does, so no stage can
reuse the previous frame. Prints a table, or one JSON object with ``--json``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from dataclasses import replace

import numpy as np

from simulator.app.cli import dump_json
from simulator.engine import BModeEngine, FrameRequest
from simulator.probe import ImagingSettings, ProbeModel, get_probe, probe_pose
from simulator.tissue_edit import with_injectate_label

STAGES = ("plan", "march", "points", "needle", "edit", "psf", "log", "scan_convert")
#: Needle and injection site of the needle configuration, relative to the probe's
#: start position, mm: in plane, 30 degrees, tip 16 mm deep (muscle in demo_msk).
NEEDLE_ENTRY_MM = np.array([30.0, 0.0, 0.0])
NEEDLE_TIP_MM = np.array([12.0, 0.0, 16.0])
BENCH_INJECT_ML = 1.0


def _time_config(
    volume,
    probe: ProbeModel,
    settings: ImagingSettings,
    start_mm: np.ndarray,
    n_frames: int,
    extra: dict | None = None,
) -> dict:
    """Render ``n_frames`` frames along a short sweep; return the figures.

    ``extra`` holds further ``FrameRequest`` fields (needle, tissue_edit, scatterers).
    """
    extra = extra or {}
    engine = BModeEngine(volume, probe)
    try:
        request = FrameRequest(probe_pose(start_mm), settings, **extra)
        for _ in range(3):  # warm-up: caches, scan-conversion table, FFT plans
            frame = engine.render(request)
        totals = []
        stages = {k: [] for k in STAGES}
        t_start = time.perf_counter()
        for i in range(n_frames):
            # a slow sweep and rock, as a hand scanning
            offset = np.array([2.0 * np.sin(i / 15.0), 0.3 * i / n_frames, 0.0])
            pose = probe_pose(start_mm + offset, 0.0, 0.0, 3.0 * np.sin(i / 10.0))
            frame = engine.render(FrameRequest(pose, settings, timestamp_s=i / 60.0, **extra))
            totals.append(frame.timings_ms["total"])
            for k in STAGES:
                stages[k].append(frame.timings_ms.get(k, 0.0))
        wall_s = time.perf_counter() - t_start
    finally:
        engine.close()
    return {
        "fps": n_frames / wall_s,
        "ms_per_frame": 1e3 * wall_s / n_frames,
        "ms_per_frame_median": statistics.median(totals),
        "n_lines": frame.scan.n_lines,
        "n_samples": frame.scan.n_samples,
        "depth_mm": settings.depth_mm,
        "freq_mhz": settings.freq_mhz,
        "probe": probe.name,
        "image_shape": [frame.geometry.rows, frame.geometry.cols],
        "stages_ms": {k: statistics.mean(v) for k, v in stages.items()},
    }


def _load_times(scene_name: str) -> tuple[object, dict]:
    from scenes import load_scene

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        load_scene(scene_name, cache_dir=tmp)
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        scene = load_scene(scene_name, cache_dir=tmp)
        cached = time.perf_counter() - t0
        # the cached arrays are memory-mapped inside tmp: take them into memory
        volume = replace(
            scene.volume,
            labels=np.array(scene.volume.labels),
            boundary_index=np.array(scene.volume.boundary_index),
            boundary_normal=np.array(scene.volume.boundary_normal),
        )
        spec = scene.spec
    n = spec.grid_shape
    return (spec, volume), {
        "scene": spec.name,
        "grid_shape": list(n),
        "voxel_mm": spec.voxel_mm,
        "extent_mm": [
            float(hi - lo) for lo, hi in zip(spec.bounds_min_mm, spec.bounds_max_mm, strict=True)
        ],
        "first_load_s": first,
        "cached_load_s": cached,
    }


def numpy_simd() -> dict[str, list[str]]:
    """The SIMD extensions numpy runs with, as ``numpy.show_runtime()`` reports them.

    Returns
    -------
    dict
        ``baseline`` (compiled in), ``found`` and ``not_found`` (dispatched at
        run time; ``NPY_DISABLE_CPU_FEATURES`` moves a feature to not found).
    """
    from numpy._core._multiarray_umath import (
        __cpu_baseline__,
        __cpu_dispatch__,
        __cpu_features__,
    )

    found = [f for f in __cpu_dispatch__ if __cpu_features__.get(f)]
    missing = [f for f in __cpu_dispatch__ if not __cpu_features__.get(f)]
    return {"baseline": list(__cpu_baseline__), "found": found, "not_found": missing}


def run_bench(args: argparse.Namespace) -> int:
    """Run the benchmark and print the figures."""
    (spec, volume), load = _load_times(args.scene)
    linear_4cm = replace(spec.imaging, depth_mm=40.0, freq_mhz=10.0, focus_mm=20.0)
    # (key in the JSON, label in the table, probe, settings); the first is the headline
    configs = (
        (
            "linear_256_lines_4cm",
            "linear 256 lines 4 cm",
            "linear_38",
            replace(linear_4cm, n_lines=256),
        ),
        (
            "linear_128_lines_4cm",
            "linear 128 lines 4 cm",
            "linear_38",
            replace(linear_4cm, n_lines=128),
        ),
        (
            "curvilinear_8cm",
            "curvilinear 8 cm",
            "curvilinear_60",
            ImagingSettings(depth_mm=80.0, freq_mhz=4.0, focus_mm=40.0),
        ),
    )
    start = np.asarray(spec.probe.position_mm, dtype=np.float64)
    volume = with_injectate_label(volume)
    figures = {
        key: _time_config(volume, get_probe(probe), settings, start, args.frames)
        for key, _, probe, settings in configs
    }
    extra, injection = _needle_and_injectate(volume, start)
    key = "linear_256_lines_4cm_needle_1ml"
    label = f"+ needle, {BENCH_INJECT_ML:g} ml"
    configs = (*configs, (key, label, "linear_38", configs[0][3]))
    figures[key] = _time_config(
        volume, get_probe("linear_38"), configs[0][3], start, args.frames, extra
    )
    figures[key]["injection"] = injection
    head_key = configs[0][0]
    result = dict(figures[head_key])
    result.update(
        {
            "scene_load": load,
            "variants": {k: v for k, v in figures.items() if k != head_key},
            "cpu_count": os.cpu_count(),
            "numpy_simd": numpy_simd(),
        }
    )
    if args.json:
        print(dump_json(result))
        return 0
    inj = figures[key]["injection"]
    simd = result["numpy_simd"]
    print(
        f"numpy {np.__version__} SIMD: baseline {' '.join(simd['baseline']) or '-'}; "
        f"found {' '.join(simd['found']) or '-'}; not found {' '.join(simd['not_found']) or '-'}"
    )
    print(
        f"scene {load['scene']}: grid {load['grid_shape']} at {load['voxel_mm']} mm; "
        f"first load {load['first_load_s']:.2f} s, from cache {load['cached_load_s']:.3f} s"
    )
    for key, label, _, _ in configs:
        r = figures[key]
        stage_text = ", ".join(f"{k} {v:.2f}" for k, v in r["stages_ms"].items())
        print(
            f"{label:24s} {r['fps']:6.1f} fps  {r['ms_per_frame']:6.2f} ms/frame  "
            f"({r['n_lines']} x {r['n_samples']}; ms: {stage_text})"
        )
    print(
        f"injection: {inj['volume_ml']:g} ml spread in {inj['spread_s']:.2f} s "
        f"({inj['site']}); the engine relabels it in {inj['apply_edit_ms']:.0f} ms"
    )
    return 0


def _needle_and_injectate(volume, start_mm: np.ndarray) -> tuple[dict, dict]:
    """Frame-request fields with a needle and 1 ml injected at its tip, and the timings."""
    from simulator.injection import Injection
    from simulator.needle_echo import NeedleShape, PointScatterers
    from simulator.needle_pose import outer_diameter_mm
    from simulator.tissue_edit import apply_edit

    tip = start_mm + NEEDLE_TIP_MM
    back = (NEEDLE_ENTRY_MM - NEEDLE_TIP_MM) / np.linalg.norm(NEEDLE_ENTRY_MM - NEEDLE_TIP_MM)
    needle = NeedleShape(tuple(tip + 50.0 * back), tuple(tip), outer_diameter_mm(22))  # 50 mm
    injection = Injection(volume)
    t0 = time.perf_counter()
    result = injection.inject(tip, BENCH_INJECT_ML, 0.0)
    spread_s = time.perf_counter() - t0
    edit = injection.tissue_edit()
    t0 = time.perf_counter()
    apply_edit(volume, edit)
    apply_ms = 1e3 * (time.perf_counter() - t0)
    positions, amplitude = injection.bubbles(0.2)
    extra = {
        "needle": needle,
        "tissue_edit": edit,
        "scatterers": PointScatterers(positions, amplitude),
    }
    return extra, {
        "volume_ml": result.delivered_ml,
        "site": result.site_structure,
        "spread_s": spread_s,
        "apply_edit_ms": apply_ms,
        "edited_voxels": edit.n_voxels,
    }
