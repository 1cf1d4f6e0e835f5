"""One tracker interface: every pose source (serial rig, NDI, OpenIGTLink, mouse, replay).

A tracker produces :class:`TrackerSample` objects: a host timestamp and, per
tool, a :class:`ToolSample` with its pose in the tracker frame. The session
asks for the newest sample (:meth:`Tracker.latest`) or for every sample since
the last time it asked (:meth:`Tracker.samples_since`), from a bounded ring
buffer: a slow consumer loses the oldest samples, memory never grows.

Conventions
-----------
- Poses are 4x4 float64 ``tool2tracker`` matrices in millimetres
  (ARCHITECTURE.md): probe frame origin at the centre of the transducer face,
  +z into the body along the beam, +x along the array toward the orientation
  notch; needle frame origin at the **tip**, +z from the tip toward the hub.
- ``quality`` is in [0, 1], 1 best. Trackers that measure an RMS error in mm
  (NDI) map it with :func:`quality_from_error_mm` and also report the raw
  value in ``error_mm``; an IMU maps its calibration status to [0, 1].
- Missing tools are reported in :attr:`TrackerSample.missing`, never guessed:
  a tool the device announced but did not see is listed there and is absent
  from ``tools`` (or present with ``visible=False`` when the device says so).
- After an unplug the tracker's status becomes ``"disconnected"`` and it
  pushes one last sample that repeats the last poses with ``stale=True``
  (the pose is *frozen*, not lost); ``latest()`` keeps returning it until
  the device is back.
- Host timestamps ``t_s`` are ``time.monotonic()`` seconds at the moment the
  bytes were read; ``device_t_s`` is the device's own clock when it sends one.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

import numpy as np

#: Default capacity of a tracker's ring buffer, samples (about 4 s at 250 Hz).
DEFAULT_CAPACITY = 1024
#: Window over which :meth:`Tracker.rate_hz` is measured, s.
RATE_WINDOW_S = 1.0

TOOL_KINDS = ("probe", "needle", "pointer", "reference")


class TrackerStatus(StrEnum):
    """Connection state of a tracker; compares equal to its string value."""

    STOPPED = "stopped"
    CONNECTING = "connecting"
    TRACKING = "tracking"
    DISCONNECTED = "disconnected"
    ERROR = "error"


def quality_from_error_mm(error_mm: float) -> float:
    """Map an RMS tracking error (mm) to a quality in [0, 1]: ``1 / (1 + error_mm)``."""
    if not np.isfinite(error_mm) or error_mm < 0:
        return 0.0
    return 1.0 / (1.0 + float(error_mm))


@dataclass(frozen=True)
class ToolSample:
    """One tool's state at one instant.

    Attributes
    ----------
    tool : str
        Tool name (``"probe"``, ``"needle"``, ...).
    pose2tracker : ndarray, shape (4, 4), float64, or None
        Tool frame to tracker frame, mm. ``None`` when the device sends no
        pose for this tool (e.g. a needle that reports only its depth).
        For ``orientation_only`` tools the translation is the configured
        fixed landmark (or zero): the app supplies the position.
    quality : float
        0..1, 1 best (see module docstring).
    visible : bool
        The device saw the tool in this sample.
    t_s : float
        Host time of this tool's last update, s (``time.monotonic``).
    orientation_only : bool
        Only the rotation is measured (IMU probe).
    depth_mm : float or None
        Needle insertion depth, mm, when the device measures it.
    buttons : frozenset of str
        Buttons held down (``"inject"``, ``"freeze"``, ``"aspirate"``, ...).
    stale : bool
        The device is disconnected; this is the last pose, frozen.
    error_mm : float or None
        Raw RMS error reported by the device, mm, if any.
    device_t_s : float or None
        Device timestamp, s (unwrapped), if the protocol sends one.
    """

    tool: str
    pose2tracker: np.ndarray | None
    quality: float
    visible: bool
    t_s: float
    orientation_only: bool = False
    depth_mm: float | None = None
    buttons: frozenset[str] = frozenset()
    stale: bool = False
    error_mm: float | None = None
    device_t_s: float | None = None

    @property
    def position_mm(self) -> np.ndarray | None:
        """Translation of ``pose2tracker``, shape (3,), mm, or None."""
        return None if self.pose2tracker is None else self.pose2tracker[:3, 3].copy()


@dataclass(frozen=True)
class TrackerSample:
    """Every tool's state at one host instant.

    Attributes
    ----------
    t_s : float
        Host time, s (``time.monotonic``).
    tools : dict of str to ToolSample
        Tools with a current state (each has its own ``t_s``).
    missing : tuple of str
        Tools the device announced that are not currently reported.
    """

    t_s: float
    tools: dict[str, ToolSample]
    missing: tuple[str, ...] = ()

    @property
    def stale(self) -> bool:
        """True when every tool in the sample is a frozen pose after an unplug."""
        return bool(self.tools) and all(t.stale for t in self.tools.values())


@dataclass(frozen=True)
class ToolDescription:
    """A tool the tracker knows.

    Attributes
    ----------
    name : str
        Tool name used as the key of :attr:`TrackerSample.tools`.
    kind : str
        One of ``"probe"``, ``"needle"``, ``"pointer"``, ``"reference"``.
    handle : str
        Device handle: DIY tool id, NDI port handle, IGTL device name.
    orientation_only : bool
        The tool reports rotation only.
    """

    name: str
    kind: str
    handle: str = ""
    orientation_only: bool = False


class Tracker(ABC):
    """Abstract pose source with a bounded ring buffer and a live rate meter.

    Subclasses implement :meth:`start`, :meth:`stop` and :meth:`tools`, and
    publish with :meth:`_push` (a sample) and :meth:`_note_update` (one tool
    updated, for the rate meter), and :meth:`_set_status`. Everything here is
    thread-safe: the producer is usually a reader thread, the consumer the
    session or GUI thread.

    Parameters
    ----------
    capacity : int
        Ring buffer size, samples.
    clock : callable
        Host clock, s (``time.monotonic``).
    """

    def __init__(
        self, capacity: int = DEFAULT_CAPACITY, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if capacity < 1:
            raise ValueError(f"tracker capacity = {capacity}: expected at least 1 sample")
        self._lock = threading.Lock()
        self._buffer: deque[TrackerSample] = deque(maxlen=capacity)
        self._pushed = 0
        self._updates: dict[str, deque[float]] = {}
        self._status = TrackerStatus.STOPPED
        self._status_message = ""
        self.clock = clock
        self.device_info: dict[str, Any] = {}
        # the reading thread of a tracker that runs one (_start_worker / _stop_worker)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------
    def _start_worker(self, run: Callable[[], None], name: str, message: str) -> None:
        """Run ``run`` on a daemon reading thread, status ``connecting`` (``message``).

        Nothing happens while the thread is alive (``start`` is idempotent).
        """
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._set_status(TrackerStatus.CONNECTING, message)
        self._thread = threading.Thread(target=run, name=name, daemon=True)
        self._thread.start()

    def _stop_worker(self, join_s: float) -> None:
        """Ask the reading thread to end and wait up to ``join_s`` for it (not from itself)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(join_s)
        self._thread = None

    @abstractmethod
    def start(self) -> None:
        """Open the device (in the background when it is slow) and start tracking."""

    @abstractmethod
    def stop(self) -> None:
        """Stop tracking; the last samples stay readable. Idempotent."""

    def close(self) -> None:
        """Release the device for good (default: :meth:`stop`)."""
        self.stop()

    def __enter__(self) -> Tracker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @abstractmethod
    def tools(self) -> list[ToolDescription]:
        """The tools this tracker knows (announced by the device or configured)."""

    # --- status ----------------------------------------------------------
    @property
    def status(self) -> TrackerStatus:
        """Current :class:`TrackerStatus`."""
        return self._status

    @property
    def status_message(self) -> str:
        """Human-readable detail for the status (the error, the port...)."""
        return self._status_message

    def _set_status(self, status: TrackerStatus | str, message: str = "") -> None:
        self._status = TrackerStatus(status)
        self._status_message = message

    # --- samples ---------------------------------------------------------
    def latest(self) -> TrackerSample | None:
        """The newest sample, or None before the first one."""
        with self._lock:
            return self._buffer[-1] if self._buffer else None

    def samples_since(self, seq: int) -> tuple[list[TrackerSample], int]:
        """Samples pushed after sequence number ``seq``, oldest first.

        Parameters
        ----------
        seq : int
            The ``new_seq`` of the previous call (0 the first time).

        Returns
        -------
        samples : list of TrackerSample
            At most the buffer capacity; when the caller fell further behind,
            ``new_seq - seq > len(samples)`` tells how many were lost.
        new_seq : int
            Pass it to the next call.
        """
        with self._lock:
            n_new = min(max(self._pushed - seq, 0), len(self._buffer))
            samples = list(self._buffer)[len(self._buffer) - n_new :] if n_new else []
            return samples, self._pushed

    @property
    def capacity(self) -> int:
        """Ring buffer size, samples."""
        return self._buffer.maxlen or 0

    def __len__(self) -> int:
        return len(self._buffer)

    def _push(self, sample: TrackerSample) -> None:
        with self._lock:
            self._buffer.append(sample)
            self._pushed += 1

    def _note_update(self, tool: str, t_s: float) -> None:
        times = self._updates.get(tool)
        if times is None:
            times = self._updates[tool] = deque(maxlen=4096)
        times.append(t_s)

    def rate_hz(self) -> float:
        """Measured update rate of the fastest tool over the last second, Hz (0 if none)."""
        best = 0.0
        now = self.clock()
        for times in list(self._updates.values()):
            recent = [t for t in list(times) if now - t <= RATE_WINDOW_S]
            if len(recent) >= 2 and recent[-1] > recent[0]:
                best = max(best, (len(recent) - 1) / (recent[-1] - recent[0]))
        return best

    def _freeze(self, reason: str) -> None:
        """Push the last sample again with every tool marked stale (after an unplug)."""
        last = self.latest()
        if last is None or last.stale:
            return
        tools = {k: replace(v, stale=True) for k, v in last.tools.items()}
        self._push(TrackerSample(self.clock(), tools, last.missing))


@dataclass
class _ToolState:
    """Mutable per-tool state a driver accumulates between messages."""

    description: ToolDescription
    pose2tracker: np.ndarray | None = None
    quality: float = 0.0
    visible: bool = False
    t_s: float = -1.0
    depth_mm: float | None = None
    buttons: frozenset[str] = field(default_factory=frozenset)
    device_t_s: float | None = None
    error_mm: float | None = None

    def sample(self) -> ToolSample:
        d = self.description
        return ToolSample(
            tool=d.name,
            pose2tracker=None if self.pose2tracker is None else self.pose2tracker.copy(),
            quality=self.quality,
            visible=self.visible,
            t_s=self.t_s,
            orientation_only=d.orientation_only,
            depth_mm=self.depth_mm,
            buttons=self.buttons,
            error_mm=self.error_mm,
            device_t_s=self.device_t_s,
        )
