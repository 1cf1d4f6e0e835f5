"""Command line: ``python main.py [COMMAND] ...``.

Commands:

- (none): the desktop application;
- ``render``: one B-mode frame of a scene to a PNG (and optionally the
  linear beam data to ``.npy`` with its geometry in a ``.json`` beside it);
- ``bench``: frames per second and milliseconds per stage;
- ``scenes``: list the procedure library (``--json``);
- ``check-scene FILE``: validate a scene file and run the procedure checks;
- ``gallery --out DIR``: every procedure's canonical view, labelled;
- ``appearance --out DIR``: every tissue in long and short axis, with its
  textbook appearance (``DIR.md``);
- ``attempt --scene NAME --trajectory FILE --trainee NAME``: run a trajectory
  file headless, store it as an attempt, print the grade and metrics;
- ``results``: the stored attempts (table, JSON or a class CSV);
- ``report (--attempt ID | --trainee NAME) --out OUT.pdf``: a PDF report;
- ``replay --attempt ID``: re-score a stored attempt (and write its frames);
- ``tracker --url URL --protocol NAME``: live samples of a tracker and its rate;
- ``emulate --protocol NAME``: a device emulator to connect the app or
  ``tracker`` to (prints its URL).

Commands that use the records take ``--db PATH``; default ``$INJECTION_SIM_DB``,
else the user's data directory.

A user's mistake (a broken scene file, a setting outside the probe's range)
prints ``error: ...`` naming what and where, and exits with status 2; never a
traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from simulator.probe import SettingsError

#: Scene used when a command is given no ``--scene``.
DEFAULT_SCENE = "demo_msk"

EXIT_USER_ERROR = 2


class UserError(Exception):
    """A mistake in the command line or the files it names."""


def _add_imaging_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("probe pose (default: the scene's start pose)")
    g.add_argument(
        "--position",
        nargs=3,
        type=float,
        metavar=("X", "Y", "Z"),
        help="transducer face centre in the scene frame, mm",
    )
    g.add_argument("--yaw", type=float, help="rotation on the skin about the depth axis, deg")
    g.add_argument("--tilt", type=float, help="out-of-plane tilt (fanning), deg")
    g.add_argument("--rock", type=float, help="in-plane heel-toe rock, deg")
    s = p.add_argument_group("imaging (default: the scene's settings)")
    s.add_argument("--depth", type=float, dest="depth_mm", help="depth, mm")
    s.add_argument("--freq", type=float, dest="freq_mhz", help="centre frequency, MHz")
    s.add_argument("--focus", type=float, dest="focus_mm", help="transmit focus depth, mm")
    s.add_argument("--gain", type=float, dest="gain_db", help="overall gain, dB")
    s.add_argument(
        "--tgc",
        type=float,
        nargs=8,
        dest="tgc_db",
        metavar="DB",
        help="8 TGC slider values, shallow to deep, dB",
    )
    s.add_argument("--dynamic-range", type=float, dest="dynamic_range_db", help="dynamic range, dB")
    s.add_argument("--lines", type=int, dest="n_lines", help="beam lines per frame")
    s.add_argument("--seed", type=int, help="scatterer seed (default: the scene's)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``main.py``."""
    parser = argparse.ArgumentParser(
        prog="main.py",
        description="Ultrasound-guided injection simulator. Without a command: the app.",
    )
    parser.add_argument(
        "--scene",
        dest="app_scene",
        metavar="NAME_OR_FILE",
        help=f"app only: open this scene (a library name or any .toml; default: {DEFAULT_SCENE})",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    r = sub.add_parser("render", help="render one B-mode frame of a scene to a PNG")
    r.add_argument(
        "--scene",
        default=DEFAULT_SCENE,
        help=f"scene name or .toml file (default: {DEFAULT_SCENE})",
    )
    r.add_argument("--out", required=True, type=Path, help="output PNG file")
    r.add_argument(
        "--envelope",
        type=Path,
        metavar="OUT.npy",
        help="also save the linear beam data (n_samples, n_lines) float32; "
        "its geometry goes to OUT.json beside it",
    )
    r.add_argument("--pixel", type=float, dest="pixel_mm", help="output pixel size, mm")
    r.add_argument(
        "--needle-entry",
        type=float,
        nargs=3,
        metavar=("X", "Y", "Z"),
        help="needle skin entry point, scene mm (with --needle-tip)",
    )
    r.add_argument(
        "--needle-tip",
        type=float,
        nargs=3,
        metavar=("X", "Y", "Z"),
        help="needle tip, scene mm (bone stops it at its surface)",
    )
    r.add_argument(
        "--gauge",
        type=int,
        help="needle gauge (default: the scene's needle; without one 25 G, 22 G curvilinear)",
    )
    r.add_argument(
        "--inject",
        type=float,
        dest="inject_ml",
        metavar="ML",
        help="inject this volume at the needle tip before rendering, ml",
    )
    r.add_argument(
        "--events",
        action="store_true",
        help="print the needle and injection events and where the injectate went",
    )
    _add_imaging_options(r)
    b = sub.add_parser("bench", help="measure frames per second and time per stage")
    b.add_argument(
        "--scene",
        default=DEFAULT_SCENE,
        help=f"scene name or .toml file (default: {DEFAULT_SCENE})",
    )
    b.add_argument("--frames", type=int, default=60, help="frames timed per configuration")
    b.add_argument("--json", action="store_true", help="print one JSON object")
    ls = sub.add_parser("scenes", help="list the procedure scenes (name, family, region, target)")
    ls.add_argument("--json", action="store_true", help="print a JSON list of objects")
    ls.add_argument("--all", action="store_true", help="include phantoms and the demo scene")
    c = sub.add_parser(
        "check-scene", help="validate a scene file (yours too) and run the procedure checks"
    )
    c.add_argument("file", type=Path, help="scene .toml file")
    g = sub.add_parser("gallery", help="render each procedure's canonical view with labels")
    g.add_argument("--out", required=True, type=Path, help="output folder (PNGs + index.html)")
    g.add_argument("--scene", nargs="+", metavar="NAME", help="only these scenes")
    from simulator.app.appearance import add_parser as add_appearance_command

    add_appearance_command(sub)
    _add_records_commands(sub)
    from hardware.commands import add_parsers as add_hardware_commands

    add_hardware_commands(sub)
    return parser


def _add_db_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--db",
        type=Path,
        metavar="PATH",
        help="records database (SQLite file; default: $INJECTION_SIM_DB if set, else "
        "$XDG_DATA_HOME or ~/.local/share, then injection-simulator/records.sqlite)",
    )


def _add_records_commands(sub: argparse._SubParsersAction) -> None:
    """The parsers of ``attempt``, ``results``, ``report`` and ``replay``."""
    a = sub.add_parser(
        "attempt",
        help="run a trajectory file headless, store it as an attempt, print grade and metrics",
        description="Run a trajectory file (docs/trajectory.md) through the session headless, "
        "store it as an attempt and print the grade (each criterion: measured value, "
        "threshold, pass/fail) and every metric. Exit status 0 whether or not the attempt "
        "passed the rubric.",
    )
    a.add_argument(
        "--scene", help="scene name or .toml file (default: the scene the trajectory names)"
    )
    a.add_argument("--trajectory", required=True, type=Path, metavar="FILE", help="JSON file")
    a.add_argument("--trainee", required=True, metavar="NAME", help="trainee (added if new)")
    a.add_argument("--mode", default="practice", choices=("practice", "exam", "demo"))
    a.add_argument("--json", action="store_true", help="print one JSON object")
    a.add_argument("--realtime", action="store_true", help="pace the samples at wall-clock speed")
    _add_db_option(a)
    r = sub.add_parser("results", help="list stored attempts (table, JSON) or write a class CSV")
    _add_db_option(r)
    r.add_argument("--csv", type=Path, metavar="OUT.csv", help="write a CSV, one row per attempt")
    r.add_argument("--trainee", metavar="NAME", help="only this trainee's attempts")
    r.add_argument("--scene", metavar="NAME", help="only attempts on this scene")
    r.add_argument("--mode", choices=("practice", "exam", "demo", "quiz"), help="only this mode")
    r.add_argument("--json", action="store_true", help="print a JSON list")
    p = sub.add_parser("report", help="write a PDF report of an attempt or of a trainee")
    _add_db_option(p)
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--attempt", type=int, metavar="ID", help="one attempt")
    who.add_argument("--trainee", metavar="NAME", help="every attempt of a trainee")
    p.add_argument("--out", required=True, type=Path, metavar="OUT.pdf", help="output PDF")
    y = sub.add_parser(
        "replay",
        help="re-score a stored attempt, compare with its stored metrics, write its frames",
        description="Replay a stored attempt through a fresh session: print stored and "
        "re-scored metrics side by side (exit status 1 if they differ) and, with --out-dir, "
        "write its B-mode frames as PNGs.",
    )
    y.add_argument("--attempt", required=True, type=int, metavar="ID", help="attempt id")
    _add_db_option(y)
    y.add_argument("--out-dir", type=Path, metavar="DIR", help="write frames as PNGs here")
    y.add_argument("--every", type=int, default=1, metavar="N", help="every N-th frame")


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``main.py``; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "render":
            from simulator.app.render_command import run_render

            return run_render(args)
        if args.command == "appearance":
            from simulator.app.appearance import run_appearance

            return run_appearance(args)
        if args.command == "bench":
            from simulator.app.bench import run_bench

            return run_bench(args)
        if args.command in ("scenes", "check-scene", "gallery"):
            from simulator.app import library_commands as lib

            run = {"scenes": lib.run_scenes, "check-scene": lib.run_check_scene}
            return run.get(args.command, lib.run_gallery)(args)
        if args.command in ("attempt", "replay"):
            from simulator.app import attempt_commands as att

            run_cmd = att.run_attempt_command if args.command == "attempt" else None
            return (run_cmd or att.run_replay_command)(args)
        if args.command in ("tracker", "emulate"):
            from hardware import commands as hw

            return (hw.run_tracker if args.command == "tracker" else hw.run_emulate)(args)
        if args.command in ("results", "report"):
            from simulator.reports.commands import run_report, run_results

            return (run_results if args.command == "results" else run_report)(args)
        from simulator.gui.run import run_app

        return run_app(args)
    except (UserError, SettingsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except ValueError as exc:
        # scene and mesh errors (SceneError, MeshError) derive from ValueError
        from scenes import SceneError

        if isinstance(exc, SceneError) or type(exc).__name__ == "MeshError":
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_USER_ERROR
        raise
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR


def json_default(obj: object) -> object:
    """JSON encoder fallback for NumPy values."""
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def dump_json(obj: object) -> str:
    """``json.dumps`` that understands NumPy values."""
    return json.dumps(obj, default=json_default, indent=2)
