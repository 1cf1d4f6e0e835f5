"""``main.py render``: one frame of a scene to a PNG (and the beam data)."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from scenes import Scene
from scenes.skin import skin_surface
from simulator.app.cli import UserError, json_default
from simulator.app.imaging import pose_from, settings_from
from simulator.app.scan_session import ScanSession
from simulator.display import to_uint8
from simulator.engine import BModeEngine, BModeFrame, FrameRequest
from simulator.needle_pose import outer_diameter_mm


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


def _needle_and_injectate(scene: Scene, args: argparse.Namespace) -> ScanSession | None:
    """A headless session with the needle of ``--needle-entry/--needle-tip`` and the
    injectate of ``--inject`` (None when no needle is asked for)."""
    entry, tip = getattr(args, "needle_entry", None), getattr(args, "needle_tip", None)
    inject_ml = getattr(args, "inject_ml", None)
    if entry is None and tip is None:
        if inject_ml is not None:
            raise UserError("--inject needs a needle: give --needle-entry and --needle-tip")
        return None
    if entry is None or tip is None:
        raise UserError("--needle-entry and --needle-tip go together: give both (scene mm)")
    if inject_ml is not None and not inject_ml > 0.0:
        raise UserError(f"--inject {inject_ml}: expected a volume > 0 ml")
    clock = iter(float(i) for i in range(1_000_000))
    session = ScanSession(
        scene,
        skin_surface(scene),
        clock=lambda: next(clock),
        pixel_mm=args.pixel_mm,
        seed=args.seed,
    )
    if args.gauge is not None:
        try:
            outer_diameter_mm(args.gauge)
        except ValueError as exc:
            raise UserError(f"--gauge: {exc}") from None
        session.needle_gauge = int(args.gauge)
    session.set_needle_tip(np.array(entry), np.array(tip))
    if session.kinematics is None or not session.kinematics.inserted:
        raise UserError(
            f"--needle-tip {tuple(tip)}: the tip is not under the skin "
            f"(entry {tuple(entry)}); give a tip deeper than the skin"
        )
    if inject_ml is not None:
        result = session.inject(inject_ml)
        session.finish_injection()
        if result is not None and result.warning:
            print(
                f"injection: {result.delivered_ml:.3f} of {result.requested_ml:.3f} ml "
                f"delivered ({result.outcome}): {result.warning}"
            )
    return session


def _print_needle(session: ScanSession, show_events: bool) -> None:
    k = session.kinematics
    assert k is not None and k.pose is not None
    tip = k.tip_mm
    print(
        f"needle {k.gauge} G: tip at ({tip[0]:.1f}, {tip[1]:.1f}, {tip[2]:.1f}) mm, "
        f"{k.depth_mm:.1f} mm in, in {k.structure_at_tip or 'no structure'}"
        + (f" ({session.notice})" if session.notice else "")
    )
    inj = session.injection
    if inj.injected_ml > 0.0:
        where = ", ".join(f"{n} {ml:.3f} ml" for n, ml in sorted(inj.distribution_ml().items()))
        print(f"injected {inj.injected_ml:.3f} ml: {where}")
    if show_events:
        for ev in session.events:
            print(f"event {ev}")


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
    session = _needle_and_injectate(scene, args)
    if session is None:
        engine = BModeEngine(scene.volume, spec.probe.probe, pixel_mm=args.pixel_mm, seed=args.seed)
        request = FrameRequest(probe2world=pose, settings=settings)
    else:  # the session's own engine images its volume, needle and injectate
        engine = session.engine
        request = replace(session.frame_request(), probe2world=pose, settings=settings)
    try:
        frame = engine.render(request)
    finally:
        engine.close()
        if session is not None:
            session.close()
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
    if session is not None:
        _print_needle(session, bool(getattr(args, "events", False)))
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
