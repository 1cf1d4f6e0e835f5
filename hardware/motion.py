"""A plausible scanning motion for the device emulators: a probe and an in-plane needle.

:func:`plausible_path` is a pure function of time, so an emulator can send
the pose of time ``t`` and a test can recompute exactly what was sent.

Frames and conventions (ARCHITECTURE.md):

- The returned poses are ``tool2tracker`` 4x4 float64 matrices in mm, and the
  emulated tracker frame *is* the scene frame: right-handed, world +z points
  into the body, the skin is the plane ``z = scene_center_mm[2]``.
- **Probe**: origin at the centre of the transducer face, +z into the body
  along the beam, +x along the array toward the orientation notch, +y
  elevation. The face stays on the skin plane; the probe slides (about
  ±15 mm along x and ±6 mm along y around the centre), turns on the skin
  (yaw ±12°), and fans/rocks gently (±5°, ±4°) so the beam stays roughly
  vertical.
- **Needle**: origin at the needle **tip**, +z from the tip toward the hub
  (so the direction of travel is the frame's -z), +x parallel to the probe's
  elevation axis (+y of the probe). It enters in plane at the skin 5 mm
  beyond the probe's -x end (the end opposite the notch), at 30° below the
  skin, heading toward +x under the probe; the insertion depth follows a
  12 s cycle: out (0 mm, tip at the entry point) for 1 s, advance to 35 mm
  over 5 s, hold 2 s, withdraw over 3 s, out 1 s.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

PROBE_HALF_LENGTH_MM = 20.0
NEEDLE_ANGLE_DEG = 30.0
NEEDLE_MAX_DEPTH_MM = 35.0
NEEDLE_CYCLE_S = 12.0


def _rot(axis: str, angle_deg: float) -> np.ndarray:
    a = math.radians(angle_deg)
    c, s = math.cos(a), math.sin(a)
    if axis == "x":
        return np.array([[1, 0, 0], [0, c, -s], [0, s, c]], dtype=np.float64)
    if axis == "y":
        return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]], dtype=np.float64)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]], dtype=np.float64)


def needle_depth_mm(t_s: float) -> float:
    """Insertion depth of the emulated needle at ``t_s``, mm (12 s cycle, smooth ramps)."""
    u = t_s % NEEDLE_CYCLE_S

    def ease(x: float) -> float:
        return 0.5 - 0.5 * math.cos(math.pi * min(max(x, 0.0), 1.0))

    if u < 1.0:
        return 0.0
    if u < 6.0:
        return NEEDLE_MAX_DEPTH_MM * ease((u - 1.0) / 5.0)
    if u < 8.0:
        return NEEDLE_MAX_DEPTH_MM
    if u < 11.0:
        return NEEDLE_MAX_DEPTH_MM * (1.0 - ease((u - 8.0) / 3.0))
    return 0.0


def probe_path(t_s: float, scene_center_mm: Sequence[float] = (0.0, 0.0, 0.0)) -> np.ndarray:
    """``probe2tracker`` at ``t_s``: slides and turns gently on the skin plane.

    Returns
    -------
    ndarray, shape (4, 4), float64
    """
    c = np.asarray(scene_center_mm, dtype=np.float64)
    w = 2 * math.pi
    pose = np.eye(4)
    yaw = 12.0 * math.sin(w * t_s / 17.0)
    tilt = 5.0 * math.sin(w * t_s / 7.0)
    rock = 4.0 * math.sin(w * t_s / 5.0 + 1.0)
    pose[:3, :3] = _rot("z", yaw) @ _rot("x", tilt) @ _rot("y", rock)
    slide_mm = np.array([15.0 * math.sin(w * t_s / 9.0), 6.0 * math.sin(w * t_s / 13.0), 0.0])
    pose[:3, 3] = c + slide_mm
    return pose


def needle_path(t_s: float, probe2tracker: np.ndarray) -> np.ndarray:
    """``needle2tracker`` at ``t_s``, in plane beside ``probe2tracker`` (see module doc).

    Returns
    -------
    ndarray, shape (4, 4), float64
    """
    r = probe2tracker[:3, :3]
    x_p, y_p = r[:, 0].copy(), r[:, 1].copy()
    # the needle stays in the probe's image plane but its entry is on the skin
    x_flat = np.array([x_p[0], x_p[1], 0.0])
    x_flat /= np.linalg.norm(x_flat)
    entry = probe2tracker[:3, 3] - (PROBE_HALF_LENGTH_MM + 5.0) * x_flat
    a = math.radians(NEEDLE_ANGLE_DEG)
    travel = math.cos(a) * x_flat + math.sin(a) * np.array([0.0, 0.0, 1.0])
    tip = entry + needle_depth_mm(t_s) * travel
    z = -travel
    x = y_p - np.dot(y_p, z) * z
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = x, y, z, tip
    return pose


def plausible_path(
    t_s: float, scene_center_mm: Sequence[float] = (0.0, 0.0, 0.0)
) -> dict[str, np.ndarray]:
    """Probe and needle poses at ``t_s`` (a pure function of time).

    Parameters
    ----------
    t_s : float
        Time since the emulator started, s.
    scene_center_mm : sequence of 3 float
        Skin point the probe scans around, mm (its z is the skin plane).

    Returns
    -------
    dict
        ``{"probe": probe2tracker, "needle": needle2tracker}``, each shape
        (4, 4) float64, mm.
    """
    probe = probe_path(t_s, scene_center_mm)
    return {"probe": probe, "needle": needle_path(t_s, probe)}
