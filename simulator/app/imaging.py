"""Turn a loaded scene plus command-line overrides into a pose and settings."""

from __future__ import annotations

import argparse
from dataclasses import replace

import numpy as np

from scenes.spec import ProbeSpec
from simulator.probe import ImagingSettings, probe_pose

_SETTING_FIELDS = (
    "depth_mm",
    "freq_mhz",
    "focus_mm",
    "gain_db",
    "tgc_db",
    "dynamic_range_db",
    "n_lines",
)


def settings_from(base: ImagingSettings, args: argparse.Namespace) -> ImagingSettings:
    """``base`` with every setting given on the command line replaced.

    When the depth is set above the scene's focus and no focus is given,
    the focus moves to half the new depth.
    """
    changes = {}
    for name in _SETTING_FIELDS:
        value = getattr(args, name, None)
        if value is not None:
            changes[name] = tuple(value) if name == "tgc_db" else value
    depth = changes.get("depth_mm")
    if depth is not None and "focus_mm" not in changes and 0 < depth < base.focus_mm:
        changes["focus_mm"] = depth / 2.0
    return replace(base, **changes)


def pose_from(spec_probe: ProbeSpec, args: argparse.Namespace) -> np.ndarray:
    """Scene start pose with the command line's position and angles applied.

    Returns
    -------
    ndarray, shape (4, 4), float64
        ``probe2world``.
    """
    position = args.position if args.position is not None else spec_probe.position_mm
    yaw = args.yaw if args.yaw is not None else spec_probe.yaw_deg
    tilt = args.tilt if args.tilt is not None else spec_probe.tilt_deg
    rock = args.rock if args.rock is not None else spec_probe.rock_deg
    return probe_pose(position, yaw, tilt, rock)
