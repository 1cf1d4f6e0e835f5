"""DIY rig over serial: :class:`SerialLink` + the DIY :class:`Decoder` -> :class:`TrackerSample`.

Each chunk of bytes read that completes at least one tool message (pose,
orientation, depth, buttons) becomes one :class:`TrackerSample` holding
every tool updated within ``tool_timeout_s`` (each with its own ``t_s``);
tools the device announced but that did not report within that time are
listed in ``missing``. On unplug the status turns ``"disconnected"`` and the
last sample is pushed again with ``stale=True`` (frozen pose); on replug the
tracker asks for the identity again and resumes.

Orientation-only tools (an IMU on the probe) get ``orientation_only=True``
and their translation is ``fixed_position_mm`` (a landmark, e.g. the scene's
scan point) or zero: the app then supplies the position from the mouse.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

import numpy as np

from hardware.diy_protocol import (
    PROTOCOL_VERSION,
    Buttons,
    Decoder,
    DecoderStats,
    Depth,
    DeviceError,
    Frame,
    Heartbeat,
    Identity,
    Orientation,
    Pose,
    RequestIdentity,
    encode,
)
from hardware.rotations import pose_from, quat_to_matrix
from hardware.serial_link import SerialLink
from hardware.smoothing import SmoothingSpec, make_smoother
from hardware.tracker import (
    DEFAULT_CAPACITY,
    ToolDescription,
    Tracker,
    TrackerSample,
    TrackerStatus,
    _ToolState,
)

#: Names of tool ids before the device announces its tools.
DEFAULT_TOOLS = {0: ("probe", "probe"), 1: ("needle", "needle")}
_U32 = 1 << 32


class DiyTracker(Tracker):
    """Tracker for the open DIY serial protocol (PROTOCOL.md).

    Parameters
    ----------
    url : str
        Serial device path, ``socket://host:port``, or any pyserial URL.
    baudrate : int
        Serial baud rate (115200 for the reference firmware).
    smoothing : None, str or dict
        None (raw), ``"one-euro"``, ``"exponential"``, or keyword arguments
        for :func:`hardware.smoothing.make_smoother`.
    fixed_position_mm : sequence of 3 float, optional
        Translation given to orientation-only tools (a fixed landmark), mm.
    tool_timeout_s : float
        A tool silent for longer is reported missing, s.
    capacity : int
        Ring buffer size, samples.
    reconnect_interval_s : float
        Delay between reopen attempts after an unplug, s.
    """

    def __init__(
        self,
        url: str,
        baudrate: int = 115200,
        smoothing: SmoothingSpec = None,
        fixed_position_mm: Sequence[float] | None = None,
        tool_timeout_s: float = 0.5,
        capacity: int = DEFAULT_CAPACITY,
        reconnect_interval_s: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(capacity=capacity, clock=clock)
        self.url = url
        self.fixed_position_mm = (
            None if fixed_position_mm is None else np.asarray(fixed_position_mm, dtype=np.float64)
        )
        self.tool_timeout_s = float(tool_timeout_s)
        self._smoothing = smoothing
        make_smoother(smoothing)  # validate now, not in the reader thread
        self._smoothers: dict[int, Callable[[np.ndarray, float], np.ndarray]] = {}
        self._decoder = Decoder()
        self._states: dict[int, _ToolState] = {}
        self._announced: tuple[int, ...] = ()
        self._state_lock = threading.Lock()
        self._last_t_us: int | None = None
        self._wraps = 0
        self.last_device_error: DeviceError | None = None
        self.device_info = {"protocol": "diy", "protocol_version": PROTOCOL_VERSION, "url": url}
        self._link = SerialLink(
            url,
            baudrate,
            parser_factory=self._fresh_decoder,
            on_messages=self._handle,
            on_status=self._link_status,
            on_connect=self._request_identity,
            reconnect_interval_s=reconnect_interval_s,
        )

    # --- Tracker API -----------------------------------------------------
    def start(self) -> None:
        """Open the port in the reader thread and start decoding."""
        self._link.start()

    def stop(self) -> None:
        """Stop reading and close the port; the last samples stay readable."""
        self._link.stop()

    def tools(self) -> list[ToolDescription]:
        """Announced tools (IDENTITY), else the tools seen so far."""
        with self._state_lock:
            ids = self._announced or tuple(sorted(self._states))
            return [self._states[i].description for i in ids if i in self._states]

    @property
    def decoder_stats(self) -> DecoderStats:
        """Frames kept and dropped since the tracker was made."""
        return self._decoder.stats

    @property
    def link(self) -> SerialLink:
        """The serial link (latency, bytes read, connections)."""
        return self._link

    def latency_ms(self) -> float | None:
        """Median latency from bytes read to sample available, ms."""
        return self._link.latency_ms()

    def ingest(self, data: bytes, t_s: float | None = None) -> None:
        """Decode ``data`` and publish samples as if it had been read at ``t_s`` (sans-IO)."""
        frames = self._decoder.feed(data)
        if frames:
            self._handle(frames, self.clock() if t_s is None else t_s)

    # --- internals -------------------------------------------------------
    def _fresh_decoder(self) -> Decoder:
        self._decoder.reset()
        self._last_t_us = None
        return self._decoder

    def _request_identity(self, link: SerialLink) -> None:
        link.write(encode(RequestIdentity()))

    def _link_status(self, status: str, message: str) -> None:
        if status == "disconnected":
            self._set_status(TrackerStatus.DISCONNECTED, message)
            self._freeze(message)
        elif status in ("connecting", "connected"):
            if self.status is not TrackerStatus.DISCONNECTED:
                self._set_status(TrackerStatus.CONNECTING, message)
        elif status == "stopped":
            self._set_status(TrackerStatus.STOPPED, message)
        elif status == "error":
            self._set_status(TrackerStatus.ERROR, message)

    def _state(self, tool_id: int) -> _ToolState:
        state = self._states.get(tool_id)
        if state is None:
            name, kind = DEFAULT_TOOLS.get(tool_id, (f"tool{tool_id}", "pointer"))
            state = _ToolState(ToolDescription(name, kind, handle=str(tool_id)))
            self._states[tool_id] = state
        return state

    def _device_time_s(self, t_us: int) -> float:
        last = self._last_t_us
        if last is not None and t_us < last and last - t_us > _U32 // 2:
            self._wraps += 1
        self._last_t_us = t_us
        return (self._wraps * _U32 + t_us) * 1e-6

    def _identity(self, identity: Identity) -> None:
        for info in identity.tools:
            state = self._state(info.tool_id)
            state.description = ToolDescription(
                info.name, info.kind, str(info.tool_id), info.orientation_only
            )
        self._announced = tuple(info.tool_id for info in identity.tools)
        self.device_info.update(
            name=identity.name,
            firmware=identity.firmware,
            tools=[{"id": i.tool_id, "name": i.name, "kind": i.kind} for i in identity.tools],
        )

    def _smooth(self, tool_id: int, pose: np.ndarray, t_s: float) -> np.ndarray:
        if self._smoothing is None:
            return pose
        smoother = self._smoothers.get(tool_id)
        if smoother is None:
            smoother = self._smoothers[tool_id] = make_smoother(self._smoothing)
        return smoother(pose, t_s)

    def _handle(self, frames: list[Frame], t_s: float) -> None:
        """Apply decoded frames read at host time ``t_s``; push one sample if a tool changed."""
        updated = False
        with self._state_lock:
            for frame in frames:
                msg = frame.message
                if isinstance(msg, Identity):
                    self._identity(msg)
                    continue
                if isinstance(msg, DeviceError):
                    self.last_device_error = msg
                    self._status_message = f"device error {msg.code}: {msg.text}"
                    continue
                if isinstance(msg, Heartbeat | RequestIdentity):
                    continue
                state = self._state(frame.tool_id)
                # t_s, device_t_s and the rate follow the pose (the depth or
                # buttons of a tool that sends no pose)
                counts = isinstance(msg, Pose | Orientation) or (
                    isinstance(msg, Depth | Buttons) and state.pose2tracker is None
                )
                if isinstance(msg, Pose):
                    pose = pose_from(msg.position_mm, msg.quat_wxyz)
                    state.pose2tracker = self._smooth(frame.tool_id, pose, t_s)
                    state.quality = float(msg.quality)
                elif isinstance(msg, Orientation):
                    if not state.description.orientation_only:
                        d = state.description
                        state.description = ToolDescription(d.name, d.kind, d.handle, True)
                    pose = np.eye(4)
                    pose[:3, :3] = quat_to_matrix(msg.quat_wxyz)
                    if self.fixed_position_mm is not None:
                        pose[:3, 3] = self.fixed_position_mm
                    state.pose2tracker = self._smooth(frame.tool_id, pose, t_s)
                    state.quality = msg.quality
                elif isinstance(msg, Depth):
                    state.depth_mm = float(msg.depth_mm)
                elif isinstance(msg, Buttons):
                    state.buttons = msg.names
                device_t_s = self._device_time_s(frame.t_us)
                state.visible = True
                if counts:
                    state.t_s, state.device_t_s = t_s, device_t_s
                    self._note_update(state.description.name, t_s)
                updated = True
            if not updated:
                if self.status is not TrackerStatus.TRACKING and frames:
                    self._set_status(TrackerStatus.TRACKING, f"{self.url}: receiving")
                return
            tools = {}
            missing = []
            for state in self._states.values():
                if t_s - state.t_s <= self.tool_timeout_s:
                    tools[state.description.name] = state.sample()
                else:  # announced or seen before, silent now
                    missing.append(state.description.name)
        self._push(TrackerSample(t_s, tools, tuple(missing)))
        if self.status is not TrackerStatus.TRACKING:
            self._set_status(TrackerStatus.TRACKING, f"{self.url}: receiving")
