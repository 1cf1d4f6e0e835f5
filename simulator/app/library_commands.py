"""Commands over the procedure library: ``scenes``, ``check-scene``, ``gallery``."""

from __future__ import annotations

import argparse
import html
import json
import sys
from pathlib import Path

import numpy as np

from simulator.app.cli import UserError

#: Exit status of ``check-scene`` when the file is valid but a check fails.
EXIT_CHECK_FAILED = 1


def _procedure_files(include_all: bool) -> list[Path]:
    from scenes import list_scene_files

    files = list_scene_files()
    if include_all:
        return files
    return [p for p in files if p.parent.name == "procedures"]


def run_scenes(args: argparse.Namespace) -> int:
    """List the scenes: name, family, region, target (``--json``: a JSON list)."""
    from scenes import SceneError, load_scene_spec

    rows, broken = [], []
    for path in _procedure_files(args.all):
        try:
            spec = load_scene_spec(path)
        except SceneError as exc:
            broken.append(str(exc))
            continue
        proc = spec.procedure
        rows.append(
            {
                "name": spec.name,
                "family": proc.family if proc else "phantom",
                "region": proc.region if proc else "",
                "target": proc.target_text if proc else spec.title,
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        widths = {
            k: max([len(k)] + [len(r[k]) for r in rows]) for k in ("name", "family", "region")
        }
        head = "  ".join(k.ljust(widths[k]) for k in widths) + "  target"
        print(head)
        print("-" * len(head))
        for r in rows:
            print("  ".join(r[k].ljust(widths[k]) for k in widths) + "  " + r["target"])
        print(f"\n{len(rows)} scenes")
    for message in broken:
        print(f"error: {message}", file=sys.stderr)
    return 2 if broken else 0


def run_check_scene(args: argparse.Namespace) -> int:
    """Validate a scene file and, for a procedure, run every procedure check."""
    from scenes import load_scene
    from scenes.checks import check_scene

    scene = load_scene(args.file)
    spec = scene.spec
    volume = scene.volume
    print(f"scene file {spec.path}: valid")
    print(f"  name {spec.name!r}, grid {spec.grid_shape} at {spec.voxel_mm} mm voxels")
    counts = np.bincount(volume.labels.ravel(), minlength=len(spec.structures) + 1)
    voxel_ml = spec.voxel_mm**3 / 1000.0
    print(f"  {'structure':<28} {'tissue':<14} {'role':<28} {'volume ml':>10}")
    for i, s in enumerate(spec.structures, start=1):
        role = s.role + (f" ({s.harm})" if s.harm else "")
        print(f"  {s.name:<28} {s.tissue:<14} {role:<28} {counts[i] * voxel_ml:>10.3f}")
    empty = [s.name for i, s in enumerate(spec.structures, start=1) if counts[i] == 0]
    for name in empty:
        print(
            f"  check failed: structures: {name!r} covers no voxel (outside the bounds, "
            "hidden by higher-priority structures, or a wrong [mesh_transform])"
        )
    if spec.procedure is None:
        print("  no [procedure] section: anatomy only, no procedure checks")
        return EXIT_CHECK_FAILED if empty else 0
    proc = spec.procedure
    print(f"  procedure: {proc.family}, {proc.region}: {proc.target_text}")
    findings = check_scene(scene)
    if not findings and not empty:
        print(
            "  checks passed: target in the canonical view, labelled structures at their "
            "depths, needle path clear, sizes as stated"
        )
        return 0
    for f in findings:
        print(f"  check failed: {f}")
    return EXIT_CHECK_FAILED


def run_gallery(args: argparse.Namespace) -> int:
    """Render every procedure scene's canonical view with its labels into ``--out``."""
    from scenes import SceneError, load_scene
    from scenes.checks import render_canonical
    from simulator.app.overlay import OverlayLabel, draw_overlay

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    files = _procedure_files(False)
    if args.scene:
        by_name = {p.stem: p for p in files}
        missing = [n for n in args.scene if n not in by_name]
        if missing:
            raise UserError(
                f"unknown procedure scene(s) {', '.join(missing)}; known: {', '.join(by_name)}"
            )
        files = [by_name[n] for n in args.scene]
    entries = []
    for path in files:
        try:
            scene = load_scene(path)
        except SceneError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        spec = scene.spec
        view = render_canonical(scene)
        items = [
            OverlayLabel(
                scene.volume.structure_index(lab.structure),
                lab.text,
                spec.structure(lab.structure).colour,
            )
            for lab in spec.procedure.labels
        ]
        target = np.linalg.inv(view.frame.probe2world) @ np.append(
            spec.procedure.target.point_mm, 1.0
        )
        picture = draw_overlay(
            view.frame.image,
            view.frame.geometry,
            view.labels,
            items,
            title=spec.title or spec.name,
            target_mm=(float(target[0]), float(target[2])),
        )
        file = out / f"{spec.name}.png"
        picture.save(file, optimize=True)
        entries.append((spec, file.name))
        print(f"wrote {file}")
    index = out / "index.html"
    index.write_text(_index_html(entries), encoding="utf-8")
    print(f"wrote {index}")
    return 0


def _index_html(entries: list) -> str:
    parts = [
        "<!doctype html><meta charset='utf-8'><title>Procedure library</title>",
        "<body style='background:#111;color:#ddd;font-family:sans-serif'>",
        "<h1>Procedure library: canonical views</h1>",
    ]
    for spec, name in entries:
        proc = spec.procedure
        parts.append(
            f"<h2>{html.escape(spec.title)}</h2><p>{html.escape(proc.family)} · "
            f"{html.escape(proc.region)} · target: {html.escape(proc.target_text)}</p>"
            f"<img src='{html.escape(name)}' style='max-width:100%'>"
            f"<p>{html.escape(proc.canonical_view.description)}</p>"
        )
    parts.append("</body>")
    return "\n".join(parts)
