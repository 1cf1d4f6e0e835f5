"""A DIY rig in software: streams DIY-protocol frames over a pty pair or a TCP socket.

``DiyEmulator(...).start()`` returns the URL a :class:`~hardware.diy_tracker.DiyTracker`
(or ``python main.py tracker``) connects to:

- ``transport="pty"``: a pseudo-terminal pair (``os.openpty``); the URL is a
  symlink in a private temporary folder pointing at the slave device (like
  ``/dev/serial/by-id/...``), so it stays the same across :meth:`unplug` /
  :meth:`replug` even though the kernel hands out a new ``/dev/pts/N``;
- ``transport="socket"``: a TCP server on 127.0.0.1; the URL is
  ``socket://127.0.0.1:PORT`` (pyserial's socket handler).

Every tick (``rate_hz``) it sends the probe and needle poses of
``path(t_s)`` (default :func:`hardware.motion.plausible_path`) with
``t_s = t_us * 1e-6`` exactly, where ``t_us`` is the frame's device
timestamp, so a test can recompute what was sent. It also sends the needle
depth, an ``inject`` button while the needle holds at full depth, a
heartbeat every second and the identity at start, every 2 s, and on request.
``corrupt_fraction`` damages that fraction of frames (a flipped byte, a
truncation, or random garbage before the frame) to exercise resync.
Unwritable bytes (nobody reading) are dropped, as a real device does.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from hardware.diy_protocol import (
    Buttons,
    Decoder,
    Depth,
    Frame,
    Heartbeat,
    Identity,
    Orientation,
    Pose,
    RequestIdentity,
    ToolInfo,
    encode_frame,
)
from hardware.emulator_thread import EmulatorThread, listen_local
from hardware.motion import needle_depth_mm, plausible_path
from hardware.pty_pair import close_fds, open_pty_at
from hardware.rotations import matrix_to_quat

PathFunction = Callable[[float], dict[str, np.ndarray]]
TOOL_IDS = {"probe": 0, "needle": 1}
FIRMWARE = "emulator-1.0.0"


class DiyEmulator(EmulatorThread):
    """Software DIY tracker.

    Parameters
    ----------
    path : callable
        ``path(t_s) -> {"probe": 4x4, "needle": 4x4}`` (mm).
    rate_hz : float
        Ticks per second (each tick: one frame per tool).
    transport : str
        ``"pty"`` or ``"socket"``.
    port : int
        TCP port for ``"socket"`` (0: any free port).
    corrupt_fraction : float
        Fraction of frames damaged on purpose, 0..1.
    orientation_only : bool
        Send the probe as an IMU would: ORIENTATION frames, no position.
    seed : int, optional
        Seed of the corruption's random choices.
    """

    def __init__(
        self,
        path: PathFunction = plausible_path,
        rate_hz: float = 100.0,
        transport: str = "pty",
        port: int = 0,
        corrupt_fraction: float = 0.0,
        orientation_only: bool = False,
        seed: int | None = None,
    ) -> None:
        if transport not in ("pty", "socket"):
            raise ValueError(f"emulator transport {transport!r}: expected 'pty' or 'socket'")
        if not 0 < rate_hz <= 2000:
            raise ValueError(f"emulator rate {rate_hz} Hz: expected 0 < rate <= 2000")
        if not 0 <= corrupt_fraction <= 1:
            raise ValueError(f"corrupt_fraction {corrupt_fraction}: expected 0..1")
        self.path = path
        self.rate_hz = float(rate_hz)
        self.transport = transport
        self.port = int(port)
        self.corrupt_fraction = float(corrupt_fraction)
        self.orientation_only = orientation_only
        self._rng = random.Random(seed)
        super().__init__()  # the worker thread and its stop event
        self._lock = threading.Lock()
        self._plugged = False
        self._seq = 0
        self._buttons = -1
        self._commands = Decoder()
        self.url = ""
        self.frames_sent = 0
        self.frames_corrupted = 0
        self.frames_unwritten = 0
        # pty
        self._dir: Path | None = None
        self._master: int | None = None
        self._slave: int | None = None
        # socket
        self._server: socket.socket | None = None
        self._client: socket.socket | None = None

    # --- lifecycle -------------------------------------------------------
    def _open(self) -> None:
        """Plug in (``start``): a pty behind a fresh folder, or the socket server."""
        if self.transport == "pty":
            self._dir = Path(tempfile.mkdtemp(prefix="diy-emulator-"))
            self.url = str(self._dir / "diy-tracker")
        self._plug()

    def _close(self) -> None:
        """Unplug and remove the pty symlink folder (``stop``)."""
        self.unplug()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    @property
    def plugged(self) -> bool:
        """The emulated cable is in."""
        return self._plugged

    def unplug(self) -> None:
        """Pull the cable: close the pty master / the socket server and client."""
        with self._lock:
            self._plugged = False
            close_fds(self._master, self._slave)
            self._master = self._slave = None
            if self._dir is not None:
                with contextlib.suppress(OSError):
                    (self._dir / "diy-tracker").unlink()
            for sock in (self._client, self._server):
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.close()
            self._client = self._server = None

    def replug(self) -> None:
        """Put the cable back (same URL)."""
        if not self._plugged:
            self._plug()

    # --- transport -------------------------------------------------------
    def _plug(self) -> None:
        with self._lock:
            if self.transport == "pty":
                assert self._dir is not None
                master, slave = open_pty_at(self._dir / "diy-tracker")
                os.set_blocking(master, False)
                self._master, self._slave = master, slave
            else:
                server = listen_local(self.port)
                server.setblocking(False)
                self.port = server.getsockname()[1]
                self.url = f"socket://127.0.0.1:{self.port}"
                self._server = server
            self._plugged = True
            self._buttons = -1

    def _write(self, data: bytes) -> None:
        with self._lock:
            try:
                if self._master is not None:
                    os.write(self._master, data)
                elif self._client is not None:
                    self._client.send(data)
                else:
                    self.frames_unwritten += 1
            except BlockingIOError:
                self.frames_unwritten += 1
            except OSError:
                if self._client is not None:  # the host hung up: wait for the next one
                    with contextlib.suppress(OSError):
                        self._client.close()
                    self._client = None

    def _poll_host(self) -> bytes:
        """Accept a client (socket) and read host commands, without blocking."""
        with self._lock:
            try:
                if self._server is not None and self._client is None:
                    try:
                        client, _ = self._server.accept()
                    except BlockingIOError:
                        return b""
                    client.setblocking(False)
                    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    self._client = client
                    return b"\x00"  # a new host: send the identity
                if self._master is not None:
                    return os.read(self._master, 256)
                if self._client is not None:
                    data = self._client.recv(256)
                    if not data:  # host closed
                        self._client.close()
                        self._client = None
                    return data
            except (BlockingIOError, InterruptedError):
                return b""
            except OSError:
                return b""
        return b""

    # --- frames ----------------------------------------------------------
    def _frame(self, message: object, tool_id: int, t_us: int) -> bytes:
        self._seq = (self._seq + 1) & 0xFFFF
        data = encode_frame(Frame(message, tool_id, self._seq, t_us))  # type: ignore[arg-type]
        self.frames_sent += 1
        if self.corrupt_fraction and self._rng.random() < self.corrupt_fraction:
            self.frames_corrupted += 1
            how = self._rng.randrange(3)
            if how == 0:
                i = self._rng.randrange(2, len(data))
                data = data[:i] + bytes([data[i] ^ self._rng.randrange(1, 256)]) + data[i + 1 :]
            elif how == 1:
                data = data[: self._rng.randrange(1, len(data))]
            else:
                n_garbage = self._rng.randrange(1, 40)
                data = self._rng.randbytes(n_garbage) + data
        return data

    def identity(self) -> Identity:
        """The IDENTITY this emulator announces."""
        return Identity(
            "DIY emulator",
            FIRMWARE,
            (
                ToolInfo(0, "probe", "probe", orientation_only=self.orientation_only),
                ToolInfo(1, "needle", "needle"),
            ),
        )

    def tick_bytes(self, t_us: int) -> bytes:
        """The frames of one tick at device time ``t_us`` (poses, depth, buttons)."""
        t_s = t_us * 1e-6
        poses = self.path(t_s)
        out = []
        for name, pose in poses.items():
            tool_id = TOOL_IDS.get(name, len(TOOL_IDS))
            q = tuple(float(v) for v in matrix_to_quat(pose))
            if name == "probe" and self.orientation_only:
                out.append(self._frame(Orientation(q, 0xFF), tool_id, t_us))
            else:
                position = tuple(float(v) for v in pose[:3, 3])
                out.append(self._frame(Pose(position, q, 1.0), tool_id, t_us))
        if "needle" in poses:
            depth = needle_depth_mm(t_s)
            out.append(self._frame(Depth(depth), 1, t_us))
            mask = 1 if depth >= 34.9 else 0
            if mask != self._buttons:
                self._buttons = mask
                out.append(self._frame(Buttons(mask), 1, t_us))
        return b"".join(out)

    def _run(self) -> None:
        t0 = time.perf_counter()
        k = 0
        next_identity = next_heartbeat = 0.0
        while not self._stop.is_set():
            commands = self._poll_host()
            if commands:
                wants = commands == b"\x00" or any(
                    isinstance(f.message, RequestIdentity) for f in self._commands.feed(commands)
                )
                if wants:
                    next_identity = 0.0
            t_rel = k / self.rate_hz
            t_us = round(t_rel * 1e6) & 0xFFFFFFFF
            if self._plugged:
                data = b""
                if t_rel >= next_identity:
                    data += self._frame(self.identity(), 0xFF, t_us)
                    next_identity = t_rel + 2.0
                if t_rel >= next_heartbeat:
                    data += self._frame(Heartbeat(0), 0xFF, t_us)
                    next_heartbeat = t_rel + 1.0
                self._write(data + self.tick_bytes(t_us))
            k += 1
            delay = t0 + k / self.rate_hz - time.perf_counter()
            if delay > 0:
                self._stop.wait(delay)
            elif delay < -0.5:  # fell far behind (suspended): skip ahead, keep the clock
                k = int((time.perf_counter() - t0) * self.rate_hz)


def scene_path(scene_center_mm: Sequence[float]) -> PathFunction:
    """``plausible_path`` around a given scene centre."""
    return lambda t_s: plausible_path(t_s, scene_center_mm)
