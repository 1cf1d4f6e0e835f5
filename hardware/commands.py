"""``python main.py tracker`` and ``python main.py emulate``.

- ``tracker --url URL --protocol NAME [--baud N] [--rom [NAME=]FILE ...] [--seconds S]
  [--json]``: connects, prints every tool's position (mm), rotation (quaternion
  w x y z), quality, depth and buttons a few times per second with the measured
  rate and status; Ctrl-C stops cleanly. ``--rom`` (repeatable, NDI): a passive
  Polaris tool's definition file, optionally named (``--rom needle=needle.rom``).
- ``emulate --protocol NAME [--rate HZ] [--seconds S] [--transport pty|socket]
  [--passive NAME ...]``: starts that protocol's device emulator, prints
  ``connect to: URL`` and the exact tracker command line, and streams a
  plausible probe and needle motion until Ctrl-C. ``--transport``: protocols
  whose emulator has a choice (diy, ndi). ``--passive`` (repeatable, NDI): serve
  that tool as a passive Polaris tool (PHRQ/PVWR) instead of a wired one.

A user's mistake (unknown protocol, port that does not exist) prints
``error: ...`` and returns 2; never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any, TextIO

from hardware.registry import (
    PROTOCOLS,
    UnknownProtocolError,
    emulator_accepts,
    make_emulator,
    open_tracker,
    tracker_accepts,
)
from hardware.rotations import matrix_to_quat
from hardware.tracker import Tracker, TrackerSample, TrackerStatus

EXIT_USER_ERROR = 2
PRINT_INTERVAL_S = 0.25


def add_parsers(subparsers: Any) -> None:
    """Add the ``tracker`` and ``emulate`` sub-commands to an argparse sub-parser set."""
    protocols = sorted(PROTOCOLS)
    t = subparsers.add_parser("tracker", help="print live samples from a tracked probe and needle")
    t.add_argument("--url", required=True, help="serial port, socket://host:port, or pty path")
    t.add_argument("--protocol", default="diy", choices=protocols, help="device protocol")
    t.add_argument("--baud", type=int, default=None, help="baud rate (default: the protocol's)")
    t.add_argument(
        "--rom",
        action="append",
        default=None,
        metavar="[NAME=]FILE",
        help="passive tool definition file (NDI Polaris; repeatable)",
    )
    t.add_argument("--seconds", type=float, default=None, help="stop after this long, s")
    t.add_argument("--json", action="store_true", help="one JSON object per line")
    e = subparsers.add_parser("emulate", help="emulate a tracker device (pty or socket)")
    e.add_argument("--protocol", default="diy", choices=protocols, help="device protocol")
    e.add_argument("--rate", type=float, default=100.0, help="samples per second")
    e.add_argument("--seconds", type=float, default=None, help="stop after this long, s")
    e.add_argument(
        "--transport", choices=("pty", "socket"), default=None, help="pty pair or TCP socket"
    )
    e.add_argument(
        "--passive",
        action="append",
        default=None,
        metavar="NAME",
        help="serve this tool as a passive Polaris tool (NDI; repeatable)",
    )


def _error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_USER_ERROR


def sample_record(sample: TrackerSample, tracker: Tracker) -> dict[str, Any]:
    """A JSON-ready summary of a sample (positions mm, quaternions w x y z)."""
    tools = {}
    for name, tool in sample.tools.items():
        entry: dict[str, Any] = {
            "visible": tool.visible,
            "quality": round(tool.quality, 3),
            "stale": tool.stale,
        }
        if tool.pose2tracker is not None:
            entry["position_mm"] = [round(float(v), 2) for v in tool.pose2tracker[:3, 3]]
            entry["quat_wxyz"] = [round(float(v), 4) for v in matrix_to_quat(tool.pose2tracker)]
        if tool.orientation_only:
            entry["orientation_only"] = True
        if tool.depth_mm is not None:
            entry["depth_mm"] = round(tool.depth_mm, 2)
        if tool.buttons:
            entry["buttons"] = sorted(tool.buttons)
        tools[name] = entry
    return {
        "t_s": round(sample.t_s, 3),
        "status": str(tracker.status),
        "rate_hz": round(tracker.rate_hz(), 1),
        "tools": tools,
        "missing": list(sample.missing),
    }


def _format_line(record: dict[str, Any]) -> str:
    parts = [f"{record['status']:<12} {record['rate_hz']:6.1f} Hz"]
    for name, t in record["tools"].items():
        text = f"{name}:"
        if "position_mm" in t:
            text += " pos " + " ".join(f"{v:7.2f}" for v in t["position_mm"]) + " mm"
            text += " q " + " ".join(f"{v:+.3f}" for v in t["quat_wxyz"])
        if "depth_mm" in t:
            text += f" depth {t['depth_mm']:.1f} mm"
        if t.get("buttons"):
            text += " [" + ",".join(t["buttons"]) + "]"
        text += f" quality {t['quality']:.2f}" + (" STALE" if t["stale"] else "")
        parts.append(text)
    if record["missing"]:
        parts.append("missing: " + ",".join(record["missing"]))
    return " | ".join(parts)


#: The constructor keyword of each serial protocol's baud rate (NDI: the rate it
#: switches to after the handshake at 9600).
_BAUD_OPTION = {"diy": "baudrate", "ndi": "baudrate_target"}


def _rom_entry(name: str | None, file: str) -> str | tuple[str, str]:
    return file if name is None else (name, file)


def run_tracker(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Print live samples until Ctrl-C or ``args.seconds``; returns the exit status."""
    out = out or sys.stdout
    options: dict[str, Any] = {}
    if getattr(args, "baud", None) is not None:
        if args.protocol not in _BAUD_OPTION:
            return _error(f"--baud: protocol {args.protocol!r} is not serial; leave --baud out")
        options[_BAUD_OPTION[args.protocol]] = args.baud
    try:
        if getattr(args, "rom", None):
            if not tracker_accepts(args.protocol, "roms"):
                return _error(f"--rom: protocol {args.protocol!r} has no passive tools")
            from hardware.ndi_tracker import parse_rom_option

            options["roms"] = [_rom_entry(*parse_rom_option(text)) for text in args.rom]
        tracker = open_tracker(args.protocol, args.url, **options)
    except (UnknownProtocolError, ValueError, OSError) as exc:
        return _error(str(exc))
    except ImportError as exc:
        return _error(f"protocol {args.protocol!r} is not available: {exc}")
    deadline = None if args.seconds is None else time.monotonic() + args.seconds
    last_status = None
    try:
        tracker.start()
        while deadline is None or time.monotonic() < deadline:
            time.sleep(PRINT_INTERVAL_S)
            status = (tracker.status, tracker.status_message)
            sample = tracker.latest()
            if args.json:
                record = (
                    sample_record(sample, tracker)
                    if sample is not None
                    else {"status": str(status[0]), "message": status[1]}
                )
                print(json.dumps(record), file=out, flush=True)
                continue
            if status != last_status:
                print(f"status: {status[0]} {status[1]}".rstrip(), file=out, flush=True)
                last_status = status
            if sample is not None and tracker.status is not TrackerStatus.CONNECTING:
                print(_format_line(sample_record(sample, tracker)), file=out, flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        tracker.close()
    if not args.json:
        print(f"stopped; last rate {tracker.rate_hz():.1f} Hz", file=out, flush=True)
    return 0


def run_emulate(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Run a device emulator until Ctrl-C or ``args.seconds``; returns the exit status."""
    out = out or sys.stdout
    options: dict[str, Any] = {"rate_hz": args.rate}
    try:
        for flag, option, value in (
            ("--transport", "transport", getattr(args, "transport", None)),
            ("--passive", "passive_tools", getattr(args, "passive", None)),
        ):
            if value:
                if not emulator_accepts(args.protocol, option):
                    return _error(f"{flag}: the {args.protocol!r} emulator has no such choice")
                options[option] = value
        emulator = make_emulator(args.protocol, **options)
        url = emulator.start()
    except (UnknownProtocolError, ValueError, OSError) as exc:
        return _error(str(exc))
    except ImportError as exc:
        return _error(f"protocol {args.protocol!r} is not available: {exc}")
    print(f"connect to: {url}", file=out)
    print(f"  python main.py tracker --protocol {args.protocol} --url {url}", file=out, flush=True)
    for name in getattr(args, "passive", None) or ():
        print(f"  passive tool {name}: add --rom {name}=FILE (any .rom file)", file=out)
    try:
        if args.seconds is None:
            while True:
                time.sleep(1.0)
        else:
            time.sleep(args.seconds)
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    print("emulator stopped", file=out, flush=True)
    return 0
