"""Measurements on B-mode frames shared by the physics tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from scenes import load_scene
from simulator.engine import BModeEngine, BModeFrame, FrameRequest
from simulator.probe import ImagingSettings, get_probe, probe_pose


def scene_loader(cache_dir: Path) -> Callable:
    """``get(name)``: the scene, loaded once through ``cache_dir``."""
    loaded = {}

    def get(name: str):
        if name not in loaded:
            loaded[name] = load_scene(name, cache_dir=cache_dir)
        return loaded[name]

    return get


def scene_engine(scene: Callable, name: str, probe: str | None = None, **kw) -> BModeEngine:
    """An engine on scene ``name`` (from ``scene_loader``) with its probe or ``probe``."""
    s = scene(name)
    return BModeEngine(s.volume, get_probe(probe) if probe else s.spec.probe.probe, **kw)


def render(engine: BModeEngine, settings: ImagingSettings, **pose: float) -> BModeFrame:
    """Render with the probe at ``position`` (default origin) and angles."""
    position = pose.pop("position", (0.0, 0.0, 0.0))
    return engine.render(FrameRequest(probe_pose(position, **pose), settings))


def mean_db(linear: np.ndarray) -> float:
    """Mean of linear amplitudes, in dB."""
    return float(20.0 * np.log10(np.mean(linear)))


def compensated(frame: BModeFrame) -> np.ndarray:
    """Linear amplitude after gain and TGC, shape (n_samples, n_lines)."""
    return 10.0 ** (frame.beam_db / 20.0)


def sample_world_positions(frame: BModeFrame) -> np.ndarray:
    """World position of every beam sample, shape (n_samples, n_lines, 3), mm."""
    scan = frame.scan
    r = scan.ranges_mm
    pts = scan.origins_mm[None, :, :] + r[:, None, None] * scan.directions[None, :, :]
    rot, t = frame.probe2world[:3, :3], frame.probe2world[:3, 3]
    return pts @ rot.T + t


def parabolic_peak(profile: np.ndarray, k: int) -> float:
    """Sub-sample position of the peak at index ``k`` (parabola on the log)."""
    y = np.log(np.maximum(profile[k - 1 : k + 2], 1e-30))
    denom = y[0] - 2 * y[1] + y[2]
    return k + (0.5 * (y[0] - y[2]) / denom if denom != 0 else 0.0)


def gaussian_fwhm(profile: np.ndarray, k: int, step: float) -> float:
    """-6 dB full width of the peak at ``k``: Gaussian fitted to the log of +-2 samples."""
    t = np.arange(-2, 3)
    y = np.log(np.maximum(profile[k - 2 : k + 3], 1e-30))
    curvature = np.polyfit(t, y, 2)[0]
    sigma = np.sqrt(-1.0 / (2.0 * curvature))
    return float(2.0 * np.sqrt(2.0 * np.log(2.0)) * sigma * step)


def find_point(frame: BModeFrame, x_mm: float, z_mm: float, window: int = 25) -> tuple[int, int]:
    """(sample, line) of the brightest envelope sample near probe-frame (x, z)."""
    scan = frame.scan
    line, sample = scan.to_beam_coords(np.array(x_mm), np.array(z_mm))
    i, j = round(float(sample)), round(float(line))
    env = frame.envelope
    i0, j0 = max(i - window, 2), max(j - window, 2)
    sub = env[i0 : i + window, j0 : j + window]
    di, dj = np.unravel_index(int(np.argmax(sub)), sub.shape)
    return i0 + int(di), j0 + int(dj)
