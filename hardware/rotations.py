"""Unit quaternions and 4x4 poses. Quaternions are ``(w, x, y, z)``, Hamilton convention."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def quat_to_matrix(q: Sequence[float] | np.ndarray) -> np.ndarray:
    """Rotation matrix of a quaternion ``(w, x, y, z)`` (normalised first).

    Returns
    -------
    ndarray, shape (3, 3), float64
    """
    return np.array(_rows(q))


def _rows(q: Sequence[float] | np.ndarray) -> list[list[float]]:
    """Rows of the rotation matrix of ``q`` (plain floats: fast for one quaternion)."""
    w, x, y, z = (float(v) for v in q)
    n = math.sqrt(w * w + x * x + y * y + z * z)
    w, x, y, z = w / n, x / n, y / n, z / n
    return [
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ]


def matrix_to_quat(r: np.ndarray) -> np.ndarray:
    """Unit quaternion ``(w, x, y, z)`` with ``w >= 0`` of a rotation matrix (Shepperd).

    Parameters
    ----------
    r : ndarray, shape (3, 3) or (4, 4)
        Only the upper-left 3x3 block is used.

    Returns
    -------
    ndarray, shape (4,), float64
    """
    m = np.asarray(r, dtype=np.float64)[:3, :3]
    tr = m[0, 0] + m[1, 1] + m[2, 2]
    if tr > 0:
        s = math.sqrt(tr + 1.0) * 2
        q = [0.25 * s, (m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s]
    elif m[0, 0] > m[1, 1] and m[0, 0] > m[2, 2]:
        s = math.sqrt(1.0 + m[0, 0] - m[1, 1] - m[2, 2]) * 2
        q = [(m[2, 1] - m[1, 2]) / s, 0.25 * s, (m[0, 1] + m[1, 0]) / s, (m[0, 2] + m[2, 0]) / s]
    elif m[1, 1] > m[2, 2]:
        s = math.sqrt(1.0 + m[1, 1] - m[0, 0] - m[2, 2]) * 2
        q = [(m[0, 2] - m[2, 0]) / s, (m[0, 1] + m[1, 0]) / s, 0.25 * s, (m[1, 2] + m[2, 1]) / s]
    else:
        s = math.sqrt(1.0 + m[2, 2] - m[0, 0] - m[1, 1]) * 2
        q = [(m[1, 0] - m[0, 1]) / s, (m[0, 2] + m[2, 0]) / s, (m[1, 2] + m[2, 1]) / s, 0.25 * s]
    out = np.array(q) / np.linalg.norm(q)
    return -out if out[0] < 0 else out


def pose_from(position_mm: Sequence[float] | np.ndarray, quat: Sequence[float]) -> np.ndarray:
    """4x4 pose from a translation (mm) and a quaternion ``(w, x, y, z)``.

    Returns
    -------
    ndarray, shape (4, 4), float64
    """
    r = _rows(quat)
    x, y, z = (float(v) for v in position_mm)
    return np.array([[*r[0], x], [*r[1], y], [*r[2], z], [0.0, 0.0, 0.0, 1.0]])


def slerp(q0: np.ndarray, q1: np.ndarray, alpha: float) -> np.ndarray:
    """Spherical interpolation from ``q0`` (alpha 0) to ``q1`` (alpha 1), shortest arc.

    Returns
    -------
    ndarray, shape (4,), float64, unit norm
    """
    a = np.asarray(q0, dtype=np.float64)
    b = np.asarray(q1, dtype=np.float64)
    dot = float(np.dot(a, b))
    if dot < 0:
        b, dot = -b, -dot
    if dot > 0.9995:  # nearly equal: normalised linear blend is exact enough
        out = a + alpha * (b - a)
        return out / np.linalg.norm(out)
    theta = math.acos(min(dot, 1.0))
    s = math.sin(theta)
    out = (math.sin((1 - alpha) * theta) * a + math.sin(alpha * theta) * b) / s
    return out / np.linalg.norm(out)


def angle_between_deg(q0: np.ndarray, q1: np.ndarray) -> float:
    """Rotation angle between two unit quaternions, degrees."""
    dot = min(abs(float(np.dot(q0, q1))), 1.0)
    return math.degrees(2 * math.acos(dot))
