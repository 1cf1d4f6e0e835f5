"""``main.py render``: one frame of a scene to a PNG (and the beam data)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from simulator.app.cli import UserError, json_default
from simulator.app.imaging import pose_from, settings_from
from simulator.display import to_uint8
from simulator.engine import BModeEngine, BModeFrame, FrameRequest


def _write_png(path: Path, image: np.ndarray) -> None:
    from PIL import Image

    Image.fromarray(to_uint8(image), mode="L").save(path)


def beam_geometry(frame: BModeFrame) -> dict:
    """JSON-ready description of the beam data of ``frame``."""
    scan = frame.scan
    return {
        "array": "envelope, shape (n_samples, n_lines), float32, linear amplitude before "
        "gain/TGC/log compression (1 = perfect planar reflector at the focus)",
        "probe_kind": scan.kind,
        "n_samples": scan.n_samples,
        "n_lines": scan.n_lines,
        "sample_spacing_mm": scan.dr_mm,
        "first_sample_range_mm": 0.5 * scan.dr_mm,
        "depth_mm": scan.depth_mm,
        "line_x_mm": scan.line_x_mm,
        "line_angle_deg": np.degrees(scan.line_angle_rad),
        "radius_mm": scan.radius_mm,
        "probe2world": frame.probe2world,
        "settings": {
            "freq_mhz": frame.settings.freq_mhz,
            "focus_mm": frame.settings.focus_mm,
            "gain_db": frame.settings.gain_db,
            "tgc_db": list(frame.settings.tgc_db),
            "dynamic_range_db": frame.settings.dynamic_range_db,
            "compensation_db_cm_mhz": frame.settings.compensation_db_cm_mhz,
        },
    }


def run_render(args: argparse.Namespace) -> int:
    """Render the scene named in ``args`` and report what was written."""
    from scenes import load_scene

    scene = load_scene(args.scene)
    spec = scene.spec
    settings = settings_from(spec.imaging, args)
    pose = pose_from(spec.probe, args)
    if args.out.suffix.lower() != ".png":
        raise UserError(f"--out {args.out}: expected a .png file name")
    if args.envelope is not None and args.envelope.suffix.lower() != ".npy":
        raise UserError(f"--envelope {args.envelope}: expected a .npy file name")
    engine = BModeEngine(scene.volume, spec.probe.probe, pixel_mm=args.pixel_mm, seed=args.seed)
    try:
        frame = engine.render(FrameRequest(probe2world=pose, settings=settings))
    finally:
        engine.close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    _write_png(args.out, frame.image)
    g = frame.geometry
    print(f"wrote {args.out}")
    print(
        f"scene {spec.name}: probe {spec.probe.model}, {settings.freq_mhz:g} MHz, "
        f"depth {settings.depth_mm:g} mm, focus {settings.focus_mm:g} mm, "
        f"gain {settings.gain_db:g} dB"
    )
    print(
        f"image {g.cols} x {g.rows} px, pixel {g.pixel_mm:.4f} mm; "
        f"pixel (0,0) at x = {g.x0_mm:.3f} mm, depth = {g.z0_mm:.3f} mm; "
        f"spans x {g.x0_mm:.2f}..{g.x0_mm + (g.cols - 1) * g.pixel_mm:.2f} mm, "
        f"depth {g.z0_mm:.2f}..{g.z0_mm + (g.rows - 1) * g.pixel_mm:.2f} mm"
    )
    if args.envelope is not None:
        args.envelope.parent.mkdir(parents=True, exist_ok=True)
        np.save(args.envelope, np.ascontiguousarray(frame.envelope))
        meta = args.envelope.with_suffix(".json")
        meta.write_text(json.dumps(beam_geometry(frame), default=json_default, indent=2))
        print(
            f"wrote {args.envelope} (envelope {frame.scan.n_samples} samples x "
            f"{frame.scan.n_lines} lines, {frame.scan.dr_mm:.4f} mm per sample) and {meta}"
        )
    return 0
