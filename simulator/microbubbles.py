"""The brief swirl of bright microbubbles that real injectate shows.

Bubbles carried in with the injectate are strong point scatterers: for a
second or two after the plunger moves, bright specks swirl in the fresh
collection near the needle tip, then dissolve. ``swirl`` gives their
positions and amplitudes at a time, deterministically from a random
generator seeded per injection burst (``simulator.injection`` picks where);
``swirl_paths`` draws a burst's circles once and ``swirl_at`` places the
bubbles on them at any time (a frame's cost: no drawing).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Most bubbles shown at once.
MAX_BUBBLES = 200
#: Fade time constant after the last increment, s.
BUBBLE_FADE_S = 0.5
#: No bubbles this long after the last increment, s.
BUBBLE_END_S = 2.0
#: Radius range of each bubble's circular swirl, mm.
BUBBLE_SWIRL_MM = (0.2, 0.8)
#: Peak amplitude reflectivity (as ``AcousticVolume.point_reflectivity``).
BUBBLE_AMPLITUDE = 0.5


@dataclass(frozen=True)
class SwirlPaths:
    """The random part of a burst's swirl: each bubble's circle and brightness.

    Drawn once per burst (``swirl_paths``); ``swirl_at`` places the bubbles
    on them at any time without drawing again.

    Attributes
    ----------
    radius : ndarray, shape (k,)
        Radius of each bubble's circle, mm.
    omega : ndarray, shape (k,)
        Angular speed, rad/s.
    phase : ndarray, shape (k,)
        Angle at time 0, rad.
    e1, e2 : ndarray, shape (k, 3)
        Orthonormal axes of each circle's plane.
    brightness : ndarray, shape (k,)
        Amplitude of each bubble relative to ``BUBBLE_AMPLITUDE``.
    """

    radius: np.ndarray
    omega: np.ndarray
    phase: np.ndarray
    e1: np.ndarray
    e2: np.ndarray
    brightness: np.ndarray


def swirl_paths(rng: np.random.Generator, k: int) -> SwirlPaths:
    """Draw the circles and brightness of ``k`` bubbles (``k <= MAX_BUBBLES``).

    Draws ``MAX_BUBBLES`` of everything, so a bubble keeps its motion whatever
    ``k`` is, in the order ``swirl`` always has.
    """
    radius = rng.uniform(*BUBBLE_SWIRL_MM, MAX_BUBBLES)[:k]
    omega = rng.uniform(np.pi, 4 * np.pi, MAX_BUBBLES)[:k]
    phase = rng.uniform(0, 2 * np.pi, MAX_BUBBLES)[:k]
    axis = rng.normal(size=(MAX_BUBBLES, 3))[:k]
    axis /= np.linalg.norm(axis, axis=1, keepdims=True)
    e1 = np.cross(axis, [0.0, 0.0, 1.0]) + np.cross(axis, [1.0, 0.0, 0.0]) * 1e-3
    e1 /= np.linalg.norm(e1, axis=1, keepdims=True)
    e2 = np.cross(axis, e1)
    brightness = rng.uniform(0.3, 1.0, MAX_BUBBLES)[:k]
    return SwirlPaths(radius, omega, phase, e1, e2, brightness)


def swirl_at(
    centre_mm: np.ndarray, paths: SwirlPaths, t_s: float, age_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """Bubbles on their circles ``paths`` about ``centre_mm`` at time ``t_s``.

    Parameters and returns as ``swirl``, with the paths drawn beforehand.
    """
    envelope = np.exp(-max(age_s, 0.0) / BUBBLE_FADE_S)
    ang = paths.omega * float(t_s) + paths.phase
    pos = centre_mm + paths.radius[:, None] * (
        np.cos(ang)[:, None] * paths.e1 + np.sin(ang)[:, None] * paths.e2
    )
    amp = BUBBLE_AMPLITUDE * envelope * paths.brightness
    return pos, amp


def swirl(
    centre_mm: np.ndarray, rng: np.random.Generator, t_s: float, age_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """Bubbles circling about their centres at time ``t_s``.

    Parameters
    ----------
    centre_mm : ndarray, shape (k, 3)
        Centre of each bubble's circle, world mm (``k <= MAX_BUBBLES``).
    rng : numpy.random.Generator
        Seeded per burst: the same seed gives the same bubbles.
    t_s : float
        Session time, s (drives the rotation).
    age_s : float
        Time since the last injection increment, s (drives the fade).

    Returns
    -------
    positions_mm : ndarray, shape (k, 3), float64
    amplitude : ndarray, shape (k,), float64
    """
    return swirl_at(centre_mm, swirl_paths(rng, len(centre_mm)), t_s, age_s)
