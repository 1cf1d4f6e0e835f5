"""An emulated OpenIGTLink tracker server (like PLUS Server) sending TRANSFORM messages.

``IgtlEmulator().start()`` opens a :class:`pyigtl.OpenIGTLinkServer` on a free local port
and returns ``"igtl://127.0.0.1:PORT"``; while a client is connected it sends, at
``rate_hz``, one TransformMessage per tool with the pose of ``path(t_s)`` (default
:func:`hardware.motion.plausible_path`) and the message timestamp set to that ``t_s``
(seconds since start), so a client can recompute what was sent. :meth:`set_missing` stops
sending one device (or, with ``report=True``, keeps sending it with the OpenIGTLink v3
metadata ``TransformStatus = INVALID``, as PLUS does for a tool out of view);
:meth:`pause` keeps the connection open but sends nothing (a PLUS server whose tools are
all out of view); :meth:`unplug` stops the server, :meth:`replug` restarts it on the same
port.
"""

from __future__ import annotations

import signal
import socket
import threading
import time
from collections.abc import Callable
from functools import partial

import numpy as np
import pyigtl

from hardware.emulator_thread import EmulatorThread
from hardware.motion import plausible_path

DEFAULT_DEVICES = {"probe": "ProbeToTracker", "needle": "NeedleToTracker"}


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class IgtlEmulator(EmulatorThread):
    """OpenIGTLink TRANSFORM server.

    Parameters
    ----------
    path : callable
        ``path(t_s) -> {tool name: tool2tracker (4, 4)}``.
    rate_hz : float
        Messages per second per device.
    devices : dict of str to str, optional
        Tool name -> device name (default probe -> ProbeToTracker, needle -> NeedleToTracker).
    port : int, optional
        TCP port (default: a free one).
    scene_center_mm : sequence of 3 float, optional
        Passed to ``path`` when given.
    clock : callable
        Time source, s.
    """

    def __init__(
        self,
        path: Callable[..., dict[str, np.ndarray]] = plausible_path,
        rate_hz: float = 60.0,
        devices: dict[str, str] | None = None,
        port: int | None = None,
        scene_center_mm: tuple[float, float, float] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate_hz <= 0:
            raise ValueError(f"IgtlEmulator rate_hz = {rate_hz}: expected a positive rate")
        self.path = (
            path if scene_center_mm is None else partial(path, scene_center_mm=scene_center_mm)
        )
        self.rate_hz = float(rate_hz)
        self.devices = dict(DEFAULT_DEVICES if devices is None else devices)
        self.port = port
        self.clock = clock
        self.sent = 0
        self._missing: set[str] = set()
        self._reported: set[str] = set()
        self._paused = False
        self._server: pyigtl.OpenIGTLinkServer | None = None
        super().__init__()  # the worker thread and its stop event
        self._lock = threading.Lock()
        self._t0 = 0.0
        self._saved_handlers: dict[int, object] = {}

    @property
    def url(self) -> str:
        """``igtl://127.0.0.1:PORT`` (valid after :meth:`start`)."""
        return f"igtl://127.0.0.1:{self.port}"

    def _open(self) -> None:
        """Start the server on its port (a free one by default) and the clock (``start``)."""
        if self.port is None:
            self.port = free_port()
        self._open_server()
        self._t0 = self.clock()

    def _close(self) -> None:
        """Close the server (``stop``)."""
        self._close_server()

    def unplug(self) -> None:
        """Stop the server (clients see the connection drop)."""
        self._close_server()

    def replug(self) -> None:
        """Start the server again on the same port."""
        self._open_server()

    def set_missing(self, tool: str, missing: bool = True, report: bool = False) -> None:
        """Stop (or resume) sending ``tool``'s device.

        Parameters
        ----------
        tool : str
            Tool name (a key of ``devices``).
        missing : bool
            True: out of view; False: back in view.
        report : bool
            Keep sending the device, with ``TransformStatus = INVALID`` metadata
            (header version 2), instead of falling silent.
        """
        with self._lock:
            self._missing.discard(tool)
            self._reported.discard(tool)
            if missing:
                (self._reported if report else self._missing).add(tool)

    def pause(self) -> None:
        """Keep the connection open but send nothing (every tool out of view)."""
        self._paused = True

    def resume(self) -> None:
        """Send again after :meth:`pause`."""
        self._paused = False

    # --- internals -------------------------------------------------------
    def _open_server(self) -> None:
        main = threading.current_thread() is threading.main_thread()
        if main:  # pyigtl installs SIGINT/SIGTERM handlers; put ours back afterwards
            self._saved_handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        server = pyigtl.OpenIGTLinkServer(port=self.port, local_server=True, start_now=True)
        if main:
            for sig, handler in self._saved_handlers.items():
                signal.signal(sig, handler)  # type: ignore[arg-type]
        with self._lock:
            self._server = server

    def _close_server(self) -> None:
        with self._lock:
            server, self._server = self._server, None
        if server is not None:
            server.stop()

    def _run(self) -> None:
        period = 1.0 / self.rate_hz
        next_t = self.clock()
        while not self._stop.is_set():
            with self._lock:
                server = self._server
                missing = set(self._missing)
                reported = set(self._reported)
            if server is not None and server.is_connected() and not self._paused:
                t_s = self.clock() - self._t0
                poses = self.path(t_s)
                for tool, device in self.devices.items():
                    if tool in missing or tool not in poses:
                        continue
                    message = pyigtl.TransformMessage(
                        poses[tool], timestamp=t_s, device_name=device
                    )
                    if tool in reported:
                        message.header_version = 2
                        message.metadata = {"TransformStatus": "INVALID"}
                    server.send_message(message, wait=False)
                    self.sent += 1
            next_t += period
            delay = next_t - self.clock()
            if delay > 0:
                self._stop.wait(delay)
            else:
                next_t = self.clock()
