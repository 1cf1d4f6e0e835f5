"""A scanning session: one scene, its probe on the skin, a needle, imaging settings.

The window (and later a tracker or a replayed recording) changes the
session only through its intents (slide, rotate, tilt, rock, advance,
redirect, settings, presets, probe choice); the session turns them into the
frame requests the B-mode engine computes. No widgets here: the same
session runs headless.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from scenes import Scene
from simulator.engine import BModeEngine, FrameRequest
from simulator.needle_pose import NeedlePose, aimed_at, in_plane_entry
from simulator.presets import SCENE_PRESET, get_preset
from simulator.probe import ImagingSettings, ProbeModel, SettingsError, get_probe
from simulator.probe_control import STEPS, ProbeHandle
from simulator.skin import SkinSurface

#: Needle used when the scene names none: (gauge, length mm) for a linear
#: probe and for a curvilinear (deep) one.
DEFAULT_NEEDLE = {"linear": (25, 38.0), "curvilinear": (22, 89.0)}
#: Depth steps of the Z / X keys, mm.
DEPTH_STEP_MM = 5.0
#: Focus steps of the V / B keys, mm.
FOCUS_STEP_MM = 2.0
#: Gain steps of the + / - keys, dB.
GAIN_STEP_DB = 1.0


class ScanSession:
    """The state a trainee changes while scanning, and the frames it asks for.

    Parameters
    ----------
    scene : scenes.Scene
        The loaded scene.
    skin : SkinSurface
        Its skin surface (the probe face stays on it).
    n_threads : int
        Threads of the B-mode engine.

    Attributes
    ----------
    scene : scenes.Scene
    skin : SkinSurface
    probe : ProbeModel
        The probe in use (one of ``scene.spec.probe.models``).
    settings : ImagingSettings
        Current imaging settings, valid for ``probe``.
    preset : str
        Name of the last preset applied (``"scene"``: the scene's own).
    handle : ProbeHandle
        Probe position on the skin and angles.
    needle : NeedlePose or None
        The needle, once placed.
    engine : BModeEngine
        Engine of the scene and probe.
    """

    def __init__(self, scene: Scene, skin: SkinSurface, n_threads: int = 2) -> None:
        self.scene = scene
        self.skin = skin
        self._n_threads = n_threads
        spec = scene.spec
        self.probe: ProbeModel = spec.probe.probe
        self.settings: ImagingSettings = spec.imaging
        self.preset = SCENE_PRESET
        self.handle = self.start_handle()
        self.needle: NeedlePose | None = None
        self.engine = BModeEngine(scene.volume, self.probe, n_threads=n_threads)

    # ------------------------------------------------------------- probe
    def start_handle(self) -> ProbeHandle:
        """The scene's start pose (its ``[probe]`` section)."""
        p = self.scene.spec.probe
        return ProbeHandle.from_pose(p.position_mm, p.yaw_deg, p.tilt_deg, p.rock_deg)

    def probe2world(self) -> np.ndarray:
        """Current ``probe2world``, shape (4, 4) float64, face on the skin."""
        return self.handle.probe2world(self.skin)

    def set_handle(self, handle: ProbeHandle) -> None:
        """Put the probe at ``handle``, kept over the scene."""
        lo, hi = self.scene.spec.bounds_min_mm, self.scene.spec.bounds_max_mm
        self.handle = handle.clamped((lo[0], lo[1]), (hi[0], hi[1]))

    def slide(self, along_steps: float, across_steps: float, kind: str = "normal") -> None:
        """Slide along the array / across it by a number of steps of ``kind``."""
        step = STEPS[kind].move_mm
        self.set_handle(self.handle.slide(along_steps * step, across_steps * step))

    def slide_mm(self, along_mm: float, across_mm: float) -> None:
        """Slide along the array / across it by millimetres."""
        self.set_handle(self.handle.slide(along_mm, across_mm))

    def turn(self, what: str, steps: float, kind: str = "normal") -> None:
        """Rotate, tilt or rock (``what``) by a number of angle steps of ``kind``."""
        angle = steps * STEPS[kind].angle_deg
        if what == "rotate":
            self.set_handle(self.handle.rotate(angle))
        elif what == "tilt":
            self.set_handle(self.handle.tilt(angle))
        elif what == "rock":
            self.set_handle(self.handle.rock(angle))
        else:
            raise KeyError(f"unknown probe motion {what!r}: expected rotate, tilt or rock")

    def reset_probe(self) -> None:
        """Back to the scene's start pose."""
        self.handle = self.start_handle()

    # ----------------------------------------------------------- imaging
    def set_settings(self, **changes: object) -> None:
        """Change imaging settings.

        Raises
        ------
        SettingsError
            When the new settings are invalid for the probe; nothing changes.
        TypeError
            For an unknown field name.
        """
        new = self.settings.with_(**changes)
        new.validate(self.probe)
        self.settings = new

    def step_setting(self, name: str, steps: float) -> None:
        """Step ``gain``, ``depth`` or ``focus`` by a number of key steps (clamped)."""
        s, p = self.settings, self.probe
        if name == "gain":
            self.set_settings(gain_db=min(max(s.gain_db + steps * GAIN_STEP_DB, -60.0), 60.0))
        elif name == "depth":
            depth = min(max(s.depth_mm + steps * DEPTH_STEP_MM, 10.0), p.max_depth_mm)
            self.set_settings(depth_mm=depth, focus_mm=min(s.focus_mm, depth))
        elif name == "focus":
            focus = min(max(s.focus_mm + steps * FOCUS_STEP_MM, 2.0), s.depth_mm)
            self.set_settings(focus_mm=focus)
        else:
            raise KeyError(f"unknown setting step {name!r}: expected gain, depth or focus")

    def apply_preset(self, name: str) -> None:
        """Apply a preset (``"scene"`` restores the scene's own settings)."""
        if name == SCENE_PRESET:
            new = self.scene.spec.imaging
            if self.probe.name != self.scene.spec.probe.model:
                new = _fit(new, self.probe)
        else:
            new = get_preset(name).settings(self.probe, self.settings)
        new.validate(self.probe)
        self.settings = new
        self.preset = name

    def choose_probe(self, name: str) -> None:
        """Switch to another probe the scene allows; settings are refitted.

        Raises
        ------
        KeyError
            For a probe the scene does not offer (the message lists them).
        """
        models = self.scene.spec.probe.models
        if name not in models:
            raise KeyError(
                f"probe {name!r} is not offered by scene {self.scene.spec.name!r}; "
                f"choose one of {', '.join(models)}"
            )
        if name == self.probe.name:
            return
        self.probe = get_probe(name)
        self.engine.close()
        self.engine = BModeEngine(self.scene.volume, self.probe, n_threads=self._n_threads)
        self.apply_preset(self.preset)

    def frame_request(self, timestamp_s: float | None = None) -> FrameRequest:
        """The frame of the current pose and settings."""
        return FrameRequest(
            probe2world=self.probe2world(),
            settings=self.settings,
            timestamp_s=time.monotonic() if timestamp_s is None else timestamp_s,
        )

    # ------------------------------------------------------------ needle
    def needle_kind(self) -> tuple[int, float]:
        """Gauge and length of the scene's needle, or the default for the probe."""
        proc = self.scene.spec.procedure
        if proc is not None:
            return proc.needle.gauge, proc.needle.length_mm
        return DEFAULT_NEEDLE.get(self.probe.kind, DEFAULT_NEEDLE["linear"])

    def place_needle(self, entry_mm: np.ndarray | None = None) -> NeedlePose:
        """Put a needle on the skin, aimed in plane at the middle of the image.

        Parameters
        ----------
        entry_mm : ndarray, shape (3,), optional
            Skin entry point; default 5 mm beyond the probe end opposite the
            notch. Its depth is taken from the skin surface.
        """
        m = self.probe2world()
        aim_depth = 0.5 * self.settings.depth_mm
        half = 0.5 * self.probe.footprint_mm
        if self.probe.kind == "curvilinear":
            half = self.probe.radius_mm * np.sin(0.5 * self.probe.fov_rad)
        default_entry, aim = in_plane_entry(m, half, aim_depth)
        entry = default_entry if entry_mm is None else np.asarray(entry_mm, dtype=np.float64)
        entry = np.array([entry[0], entry[1], float(self.skin.height_mm(entry[0], entry[1]))])
        if aim[2] <= entry[2]:  # a steep rock could lift the aim above the entry
            aim = entry + np.array([0.0, 0.0, aim_depth])
        gauge, length = self.needle_kind()
        self.needle = aimed_at(entry, aim, gauge=gauge, length_mm=length)
        return self.needle

    def advance(self, steps: float, kind: str = "normal") -> None:
        """Advance (steps > 0) or withdraw the needle by key steps of ``kind``."""
        if self.needle is not None:
            self.needle = self.needle.advanced(steps * STEPS[kind].move_mm)

    def steer(self, what: str, steps: float, kind: str = "normal") -> None:
        """Redirect: ``"angle"`` steeper/shallower or ``"heading"`` left/right."""
        if self.needle is None:
            return
        d = steps * STEPS[kind].angle_deg
        if what == "angle":
            self.needle = self.needle.redirected(d_angle_deg=d)
        elif what == "heading":
            self.needle = self.needle.redirected(d_heading_deg=d)
        else:
            raise KeyError(f"unknown needle redirect {what!r}: expected angle or heading")

    def remove_needle(self) -> None:
        """Take the needle out."""
        self.needle = None

    def close(self) -> None:
        """Free the engine's threads."""
        self.engine.close()


def _fit(settings: ImagingSettings, probe: ProbeModel) -> ImagingSettings:
    """``settings`` brought inside what ``probe`` offers (band, depth)."""
    depth = min(settings.depth_mm, probe.max_depth_mm)
    freq = min(max(settings.freq_mhz, probe.freq_min_mhz), probe.freq_max_mhz)
    return replace(settings, depth_mm=depth, freq_mhz=freq, focus_mm=min(settings.focus_mm, depth))


__all__ = ["ScanSession", "SettingsError"]
