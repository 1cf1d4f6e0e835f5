"""Pose sources that are not devices: the mouse/keyboard and a replayed recording.

Both implement :class:`~hardware.tracker.Tracker`, so the session reads
poses the same way whatever drives it.

- :class:`ManualSource`: the app pushes the probe and needle poses it
  computes from the keyboard and mouse (``set_pose``); a tool the user put
  away is cleared and then reported missing.
- :class:`ReplaySource`: plays ``[(t_s, {tool: pose}), ...]`` on its own
  clock (``speed`` times real time, optionally looping). It has no thread:
  samples due by the clock are published when the consumer asks
  (``latest`` / ``samples_since``), so it is exact and deterministic with an
  injected clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np

from hardware.tracker import (
    DEFAULT_CAPACITY,
    ToolDescription,
    ToolSample,
    Tracker,
    TrackerSample,
    TrackerStatus,
)

_KINDS = {"probe": "probe", "needle": "needle"}


def _as_pose(pose: np.ndarray, where: str) -> np.ndarray:
    m = np.asarray(pose, dtype=np.float64)
    if m.shape != (4, 4) or not np.all(np.isfinite(m)):
        raise ValueError(f"{where}: expected a finite 4x4 pose, got shape {m.shape}")
    return m.copy()


class ManualSource(Tracker):
    """Poses pushed by the app (mouse/keyboard control).

    Parameters
    ----------
    tools : sequence of str
        Tool names this source reports (kind inferred from the name,
        ``"pointer"`` otherwise).
    """

    def __init__(
        self,
        tools: Sequence[str] = ("probe", "needle"),
        capacity: int = DEFAULT_CAPACITY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(capacity=capacity, clock=clock)
        self._descriptions = [ToolDescription(t, _KINDS.get(t, "pointer"), handle=t) for t in tools]
        self._current: dict[str, ToolSample] = {}
        self.device_info = {"protocol": "manual", "name": "mouse and keyboard"}

    def start(self) -> None:
        """Start reporting (status ``"tracking"``)."""
        self._set_status(TrackerStatus.TRACKING, "mouse and keyboard")

    def stop(self) -> None:
        """Stop (status ``"stopped"``); the last sample stays readable."""
        self._set_status(TrackerStatus.STOPPED, "")

    def tools(self) -> list[ToolDescription]:
        """The configured tools."""
        return list(self._descriptions)

    def set_pose(
        self,
        tool: str,
        pose2tracker: np.ndarray | None,
        depth_mm: float | None = None,
        buttons: Iterable[str] = (),
        t_s: float | None = None,
    ) -> TrackerSample:
        """Report ``tool`` at ``pose2tracker`` (4x4, mm) and publish a sample.

        Raises
        ------
        ValueError
            For an unknown tool or a pose that is not a finite 4x4 matrix.
        """
        names = [d.name for d in self._descriptions]
        if tool not in names:
            raise ValueError(f"manual source: unknown tool {tool!r}, expected one of {names}")
        pose = None if pose2tracker is None else _as_pose(pose2tracker, f"tool {tool!r}")
        t = self.clock() if t_s is None else float(t_s)
        self._current[tool] = ToolSample(
            tool, pose, 1.0, True, t, depth_mm=depth_mm, buttons=frozenset(buttons)
        )
        self._note_update(tool, t)
        return self._publish(t)

    def clear(self, tool: str, t_s: float | None = None) -> TrackerSample:
        """The tool is no longer there (needle put away): reported missing from now on."""
        self._current.pop(tool, None)
        return self._publish(self.clock() if t_s is None else float(t_s))

    def _publish(self, t_s: float) -> TrackerSample:
        missing = tuple(d.name for d in self._descriptions if d.name not in self._current)
        sample = TrackerSample(t_s, dict(self._current), missing)
        self._push(sample)
        return sample


class ReplaySource(Tracker):
    """A recording played back on its own clock.

    Parameters
    ----------
    samples : sequence of (t_s, mapping tool -> 4x4 pose)
        The recording, times in s (any origin, non-decreasing), poses mm.
        A tool absent from an entry is reported missing there.
    speed : float
        Playback speed (1 = real time).
    loop : bool
        Start again after the last sample.
    """

    def __init__(
        self,
        samples: Sequence[tuple[float, Mapping[str, np.ndarray]]],
        speed: float = 1.0,
        loop: bool = False,
        capacity: int = DEFAULT_CAPACITY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(capacity=capacity, clock=clock)
        if not samples:
            raise ValueError("replay: the recording has no samples")
        if speed <= 0:
            raise ValueError(f"replay speed {speed}: expected > 0")
        times = np.array([float(t) for t, _ in samples])
        if np.any(np.diff(times) < 0) or not np.all(np.isfinite(times)):
            raise ValueError("replay: sample times must be finite and non-decreasing")
        self._times = times - times[0]
        self._poses = [
            {k: _as_pose(v, f"replay sample {i}, tool {k!r}") for k, v in poses.items()}
            for i, (_, poses) in enumerate(samples)
        ]
        names = sorted({k for poses in self._poses for k in poses})
        self._descriptions = [ToolDescription(n, _KINDS.get(n, "pointer"), handle=n) for n in names]
        step = float(np.median(np.diff(self._times))) if len(times) > 1 else 0.0
        #: Virtual length of one pass, s (duration plus one typical step).
        self.period_s = float(self._times[-1]) + step
        self.speed = float(speed)
        self.loop = bool(loop)
        self._t0: float | None = None
        self._next = 0
        self.device_info = {"protocol": "replay", "samples": len(samples)}

    def start(self) -> None:
        """Start (or restart) playback from the first sample."""
        self._t0 = self.clock()
        self._next = 0
        self._set_status(TrackerStatus.TRACKING, "replaying")

    def stop(self) -> None:
        """Stop playback."""
        self._advance()
        self._t0 = None
        self._set_status(TrackerStatus.STOPPED, "")

    def tools(self) -> list[ToolDescription]:
        """Every tool that appears in the recording."""
        return list(self._descriptions)

    @property
    def finished(self) -> bool:
        """Every sample has been played (never true when looping)."""
        self._advance()
        return not self.loop and self._next >= len(self._times)

    def latest(self) -> TrackerSample | None:
        """The newest sample due by the clock."""
        self._advance()
        return super().latest()

    def samples_since(self, seq: int) -> tuple[list[TrackerSample], int]:
        """Samples due by the clock since ``seq`` (see :meth:`Tracker.samples_since`)."""
        self._advance()
        return super().samples_since(seq)

    def _due_time(self, k: int) -> float:
        n = len(self._times)
        return (k // n) * self.period_s + float(self._times[k % n])

    def _n_due(self, virtual_s: float) -> int:
        """How many samples (counting passes when looping) are due by ``virtual_s``."""
        n = len(self._times)
        if not self.loop:
            return int(np.searchsorted(self._times, virtual_s, side="right"))
        passes = int(virtual_s // self.period_s)
        rest = virtual_s - passes * self.period_s
        return passes * n + int(np.searchsorted(self._times, rest, side="right"))

    def _advance(self) -> None:
        if self._t0 is None:
            return
        virtual_s = (self.clock() - self._t0) * self.speed
        n = len(self._times)
        if self.loop and self.period_s <= 0:  # a one-sample loop: play it once
            due_end = 1
        else:
            due_end = self._n_due(virtual_s)
        # older samples would fall out of the ring buffer anyway: skip them
        for k in range(max(self._next, due_end - self.capacity), due_end):
            t_host = self._t0 + self._due_time(k) / self.speed
            poses = self._poses[k % n]
            tools = {
                name: ToolSample(name, pose.copy(), 1.0, True, t_host)
                for name, pose in poses.items()
            }
            for name in tools:
                self._note_update(name, t_host)
            missing = tuple(d.name for d in self._descriptions if d.name not in tools)
            self._push(TrackerSample(t_host, tools, missing))
        self._next = max(self._next, due_end)
        if not self.loop and self._next >= n and self.status is TrackerStatus.TRACKING:
            self._set_status(TrackerStatus.STOPPED, "replay finished")
