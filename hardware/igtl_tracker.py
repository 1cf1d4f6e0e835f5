"""OpenIGTLink input (TRANSFORM messages, e.g. from PLUS Server or 3D Slicer) as a Tracker.

Uses pyigtl's :class:`pyigtl.OpenIGTLinkClient` (its own receive thread, latest message per
device). A worker thread polls it every ``poll_interval_s`` (default 2 ms, so a pose is
available within a few ms of arriving), maps each device name to a tool and publishes a
:class:`TrackerSample`. A device not heard from for more than ``missing_after_s`` is
reported missing (while others still arrive); no message at all for ``disconnect_after_s``
(the server stopped) makes the status ``"disconnected"``, freezes the last poses and starts
a fresh client, which reconnects when the server is back (pyigtl's client does not notice
a closed socket itself).
A TRANSFORM whose metadata says ``...TransformStatus`` other than ``OK`` (PLUS, OpenIGTLink
v3) is reported not visible.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from urllib.parse import urlparse

import numpy as np
import pyigtl

from hardware.tracker import (
    DEFAULT_CAPACITY,
    TOOL_KINDS,
    ToolDescription,
    ToolSample,
    Tracker,
    TrackerSample,
    TrackerStatus,
)

DEFAULT_PORT = 18944
DEFAULT_DEVICES = {"ProbeToTracker": "probe", "NeedleToTracker": "needle"}


def parse_igtl_url(url: str) -> tuple[str, int]:
    """``"igtl://host:port"`` -> (host, port); the port defaults to 18944.

    Raises
    ------
    ValueError
        Not an ``igtl://`` URL (the message shows the expected form).
    """
    parsed = urlparse(url)
    if parsed.scheme != "igtl" or not parsed.hostname:
        raise ValueError(f"OpenIGTLink URL {url!r}: expected igtl://HOST:PORT")
    try:
        port = parsed.port or DEFAULT_PORT
    except ValueError:
        raise ValueError(f"OpenIGTLink URL {url!r}: the port is not a number") from None
    return parsed.hostname, port


class IgtlTracker(Tracker):
    """OpenIGTLink TRANSFORM receiver.

    Parameters
    ----------
    url : str
        ``igtl://host:port``.
    devices : dict of str to str, optional
        OpenIGTLink device name -> tool name (default ``{"ProbeToTracker": "probe",
        "NeedleToTracker": "needle"}``).
    missing_after_s : float
        A device silent for longer is reported missing, s.
    disconnect_after_s : float
        No message from any device for longer means the server is gone, s.
    poll_interval_s : float
        How often the client's latest messages are collected, s.
    capacity : int
        Ring buffer size, samples.
    clock : callable
        Host clock, s.
    """

    def __init__(
        self,
        url: str,
        devices: dict[str, str] | None = None,
        missing_after_s: float = 0.5,
        disconnect_after_s: float = 1.0,
        poll_interval_s: float = 0.002,
        capacity: int = DEFAULT_CAPACITY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(capacity=capacity, clock=clock)
        self.url = url
        self.host, self.port = parse_igtl_url(url)
        self.devices = dict(DEFAULT_DEVICES if devices is None else devices)
        self.missing_after_s = float(missing_after_s)
        self.disconnect_after_s = float(disconnect_after_s)
        self.poll_interval_s = float(poll_interval_s)
        self.connections = 0
        self._client: pyigtl.OpenIGTLinkClient | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last: dict[str, ToolSample] = {}
        self.device_info = {"protocol": "igtl", "url": url}

    def start(self) -> None:
        """Connect (in the background) and start receiving. Idempotent."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._set_status(TrackerStatus.CONNECTING, f"connecting to {self.url}")
        self._thread = threading.Thread(target=self._run, name="IgtlTracker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop receiving and close the connection. Idempotent."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(3.0)
        self._thread = None
        self._stop_client()
        self._set_status(TrackerStatus.STOPPED, "")

    def tools(self) -> list[ToolDescription]:
        """One tool per configured device name."""
        return [
            ToolDescription(name, name if name in TOOL_KINDS else "reference", device)
            for device, name in self.devices.items()
        ]

    # --- worker ----------------------------------------------------------
    def _new_client(self) -> None:
        self._stop_client()
        self._client = pyigtl.OpenIGTLinkClient(host=self.host, port=self.port, start_now=True)

    def _stop_client(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.stop()

    def _run(self) -> None:
        self._new_client()
        last_message_t = self.clock()
        receiving = False
        while not self._stop.wait(self.poll_interval_s):
            client = self._client
            assert client is not None
            now = self.clock()
            fresh = [m for m in client.get_latest_messages() if m.device_name in self.devices]
            for message in fresh:
                self._update(message, now)
            if fresh:
                last_message_t = now
                if not receiving:
                    receiving = True
                    self.connections += 1
                    self._set_status(TrackerStatus.TRACKING, f"{self.url}: receiving")
                self._publish(now)
            elif receiving and now - last_message_t > self.disconnect_after_s:
                receiving = False
                self._freeze("server silent")
                self._set_status(
                    TrackerStatus.DISCONNECTED,
                    f"{self.url}: no message for {self.disconnect_after_s:g} s; reconnecting",
                )
                self._last.clear()
                self._new_client()
            elif (
                not receiving
                and self.status == TrackerStatus.DISCONNECTED
                and now - last_message_t > 5 * self.disconnect_after_s
            ):
                last_message_t = now  # the server may have come back: fresh client
                self._new_client()
            elif (
                receiving
                and now - last_message_t <= self.missing_after_s  # others still talk
                and any(
                    now - s.t_s > self.missing_after_s and s.visible for s in self._last.values()
                )
            ):
                self._publish(now)  # a device just went silent: report it missing

    def _update(self, message: object, now: float) -> None:
        name = self.devices[message.device_name]  # type: ignore[attr-defined]
        matrix = getattr(message, "matrix", None)
        if matrix is None or np.shape(matrix) != (4, 4):
            return
        pose = np.asarray(matrix, dtype=np.float64)
        meta = getattr(message, "metadata", {}) or {}
        status = next((str(v) for k, v in meta.items() if str(k).endswith("TransformStatus")), "OK")
        visible = status.upper() == "OK" and bool(np.all(np.isfinite(pose)))
        self._last[name] = ToolSample(
            name,
            pose if visible else None,
            1.0 if visible else 0.0,
            visible,
            now,
            device_t_s=float(getattr(message, "timestamp", 0.0)),
        )
        if visible:
            self._note_update(name, now)

    def _publish(self, now: float) -> None:
        tools = {}
        missing = []
        for name in self.devices.values():
            sample = self._last.get(name)
            if sample is None or now - sample.t_s > self.missing_after_s or not sample.visible:
                missing.append(name)
                if (
                    sample is not None
                    and sample.visible
                    and now - sample.t_s > self.missing_after_s
                ):
                    self._last[name] = ToolSample(name, None, 0.0, False, sample.t_s)
                continue
            tools[name] = sample
        self._push(TrackerSample(now, tools, tuple(sorted(missing))))
