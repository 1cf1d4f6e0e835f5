"""Pose smoothing for jittery sensors: one-euro filter or exponential smoothing.

Positions are filtered per coordinate (mm); orientations are blended with
SLERP toward the new rotation by the same kind of time-dependent factor,
so the result is always a proper rotation. A smoother is a callable
``smoother(pose2tracker, t_s) -> pose2tracker`` (4x4 float64, mm) with state;
make one per tool.

One-euro filter (Casiez, Roussel & Vogel, CHI 2012): a low-pass whose
cut-off rises with speed, ``f_c = min_cutoff_hz + beta * |speed|``, so a
still sensor is smoothed hard (jitter removed) and a moving one lags little.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from hardware.rotations import matrix_to_quat, quat_to_matrix, slerp

Smoother = Callable[[np.ndarray, float], np.ndarray]
SmoothingSpec = None | str | dict[str, Any]


def _alpha(cutoff_hz: float, dt_s: float) -> float:
    tau = 1.0 / (2 * math.pi * cutoff_hz)
    return 1.0 / (1.0 + tau / dt_s)


def _rotation_vector_deg(q0: np.ndarray, q1: np.ndarray) -> np.ndarray:
    """Rotation vector (axis * angle, degrees) taking ``q0`` to ``q1``, in ``q0``'s frame."""
    w0, v0 = q0[0], -q0[1:]  # conjugate of q0
    w1, v1 = q1[0], q1[1:]
    w = w0 * w1 - v0 @ v1
    v = w0 * v1 + w1 * v0 + np.cross(v0, v1)
    if w < 0:
        w, v = -w, -v
    sin_half = float(np.linalg.norm(v))
    if sin_half < 1e-12:
        return np.zeros(3)
    angle_deg = math.degrees(2 * math.atan2(sin_half, w))
    return v / sin_half * angle_deg


class OneEuroPoseFilter:
    """One-euro filter of a 4x4 pose.

    Parameters
    ----------
    min_cutoff_hz : float
        Cut-off when still, Hz (lower: smoother, more lag).
    beta_per_mm : float
        Cut-off increase per mm/s of speed, Hz/(mm/s).
    beta_per_deg : float
        Cut-off increase per deg/s of angular speed, Hz/(deg/s).
    d_cutoff_hz : float
        Cut-off of the speed estimate, Hz.
    """

    def __init__(
        self,
        min_cutoff_hz: float = 1.0,
        beta_per_mm: float = 0.05,
        beta_per_deg: float = 0.02,
        d_cutoff_hz: float = 1.0,
    ) -> None:
        if min_cutoff_hz <= 0 or d_cutoff_hz <= 0 or beta_per_mm < 0 or beta_per_deg < 0:
            raise ValueError(
                "one-euro smoothing: min_cutoff_hz and d_cutoff_hz must be > 0, betas >= 0"
            )
        self.min_cutoff_hz = min_cutoff_hz
        self.beta_per_mm = beta_per_mm
        self.beta_per_deg = beta_per_deg
        self.d_cutoff_hz = d_cutoff_hz
        self._t: float | None = None
        self._p = np.zeros(3)
        self._q = np.array([1.0, 0, 0, 0])
        self._v_mm_s = np.zeros(3)  # filtered velocity, mm/s
        self._w_deg_s = np.zeros(3)  # filtered angular velocity (rotation vector), deg/s

    def __call__(self, pose: np.ndarray, t_s: float) -> np.ndarray:
        p = np.asarray(pose[:3, 3], dtype=np.float64)
        q = matrix_to_quat(pose)
        if self._t is None or t_s <= self._t:
            if self._t is None:
                self._t, self._p, self._q = t_s, p.copy(), q
            return self._compose()
        dt = t_s - self._t
        self._t = t_s
        ad = _alpha(self.d_cutoff_hz, dt)
        # velocities are filtered as vectors (sensor noise averages out), then their norm
        # sets the cut-off, as in the original filter's per-coordinate derivative
        self._v_mm_s += ad * ((p - self._p) / dt - self._v_mm_s)
        speed = float(np.linalg.norm(self._v_mm_s))
        a = _alpha(self.min_cutoff_hz + self.beta_per_mm * speed, dt)
        self._p = self._p + a * (p - self._p)
        self._w_deg_s += ad * (_rotation_vector_deg(self._q, q) / dt - self._w_deg_s)
        speed = float(np.linalg.norm(self._w_deg_s))
        a = _alpha(self.min_cutoff_hz + self.beta_per_deg * speed, dt)
        self._q = slerp(self._q, q, a)
        return self._compose()

    def _compose(self) -> np.ndarray:
        out = np.eye(4)
        out[:3, :3] = quat_to_matrix(self._q)
        out[:3, 3] = self._p
        return out


class ExponentialPoseFilter:
    """Exponential smoothing with time constant ``tau_s`` (position and SLERP orientation)."""

    def __init__(self, tau_s: float = 0.05) -> None:
        if tau_s <= 0:
            raise ValueError(f"exponential smoothing: tau_s = {tau_s}, expected > 0 s")
        self.tau_s = tau_s
        self._t: float | None = None
        self._p = np.zeros(3)
        self._q = np.array([1.0, 0, 0, 0])

    def __call__(self, pose: np.ndarray, t_s: float) -> np.ndarray:
        p = np.asarray(pose[:3, 3], dtype=np.float64)
        q = matrix_to_quat(pose)
        if self._t is None:
            self._t, self._p, self._q = t_s, p.copy(), q
        elif t_s > self._t:
            a = 1.0 - math.exp(-(t_s - self._t) / self.tau_s)
            self._t = t_s
            self._p = self._p + a * (p - self._p)
            self._q = slerp(self._q, q, a)
        out = np.eye(4)
        out[:3, :3] = quat_to_matrix(self._q)
        out[:3, 3] = self._p
        return out


def make_smoother(spec: SmoothingSpec) -> Smoother:
    """A new smoother from a spec.

    Parameters
    ----------
    spec : None, str or dict
        None: identity. ``"one-euro"`` / ``"exponential"``: defaults. A dict
        ``{"kind": "one-euro", "min_cutoff_hz": 0.5, ...}``: keyword arguments
        of :class:`OneEuroPoseFilter` or :class:`ExponentialPoseFilter`.

    Raises
    ------
    ValueError
        For an unknown kind or bad parameters (the message names them).
    """
    if spec is None:
        return lambda pose, t_s: pose
    options = {"kind": spec} if isinstance(spec, str) else dict(spec)
    kind = options.pop("kind", "one-euro")
    classes = {"one-euro": OneEuroPoseFilter, "exponential": ExponentialPoseFilter}
    if kind not in classes:
        raise ValueError(f"smoothing kind {kind!r}: expected one of {sorted(classes)}")
    try:
        return classes[kind](**options)
    except TypeError as exc:
        raise ValueError(f"smoothing {kind!r}: {exc}") from None
