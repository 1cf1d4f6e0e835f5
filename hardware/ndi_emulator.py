"""An emulated NDI tracker (Aurora/Polaris combined API subset) on a pty or a TCP socket.

``NdiEmulator().start()`` returns the URL that :class:`hardware.ndi_tracker.NdiTracker` or
any NDI host software opens like a serial port:

- ``transport="pty"``: a symlink to a pseudo-terminal's slave side, stable across
  :meth:`~NdiEmulator.unplug` / :meth:`~NdiEmulator.replug`;
- ``transport="socket"``: ``socket://127.0.0.1:PORT`` (pyserial's socket handler), one
  client at a time, as a serial-to-ethernet adapter would serve it.

The emulator answers the commands listed in ``hardware/NDI.md`` with CRCs. COMM is
acknowledged and remembered but the baud rate is notional (a pty has no line speed, a
socket none at all). Passive Polaris tools: ``PHRQ`` allocates a port handle (``01``,
``02``...) for the next name in ``passive_tools``, ``PVWR`` writes its tool definition in
64-byte chunks (addresses checked: 0x0000 first, then each 0x40 after the previous; hex
payload checked), then ``PINIT``/``PENA`` as for wired tools and TX/BX report the handle
like the others. TX/BX carry the poses of ``path(t_s)`` (default
:func:`hardware.motion.plausible_path`), quantised exactly as the text format carries them.
Test hooks: :meth:`set_missing`, :meth:`set_error`, :meth:`unplug`, :meth:`replug`.

Frame numbers count device frames at ``frame_rate_hz`` since :meth:`start`; the pose in
frame ``n`` is ``path(n / frame_rate_hz)``, so a client can recompute what was sent.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import numpy as np

from hardware import ndi_protocol as ndi
from hardware.emulator_thread import EmulatorThread, listen_local
from hardware.motion import plausible_path
from hardware.pty_pair import close_fds, open_pty_at
from hardware.rotations import matrix_to_quat

DEFAULT_HANDLES = {"0A": "probe", "0B": "needle"}
VERSION_TEXT = "Injection simulator NDI emulator\nCombined API subset (TX/BX 0001)\n"
#: Port handles PHRQ hands out to passive tools, in order (wired handles are skipped).
PASSIVE_HANDLES = tuple(f"{n:02X}" for n in range(1, 10))
_PHSR_STATUS = {"allocated": 0x000, "occupied": 0x001, "initialized": 0x011, "enabled": 0x031}


class NdiEmulator(EmulatorThread):
    """Emulated NDI device on a pty pair or a TCP socket.

    Parameters
    ----------
    path : callable
        ``path(t_s) -> {tool name: tool2tracker (4, 4)}``.
    rate_hz : float
        Device frame rate, Hz (frame numbers advance at this rate).
    handles : dict of str to str, optional
        Wired tools: port handle -> tool name in ``path``'s output (default ``{"0A":
        "probe", "0B": "needle"}`` less the names in ``passive_tools``).
    passive_tools : sequence of str
        Passive tools (names in ``path``'s output) served, in order, to the handles PHRQ
        allocates; a PHRQ beyond them gets a handle whose tool is never seen (MISSING).
    srom_capacity_bytes : int
        Largest tool definition PVWR may write, bytes (a chunk beyond it: ``ERROR23``).
    transport : str
        ``"pty"`` or ``"socket"``.
    port : int
        TCP port for ``"socket"`` (0: any free port; kept across :meth:`replug`).
    scene_center_mm : sequence of 3 float, optional
        Passed to ``path`` as ``scene_center_mm`` when given.
    error_rms_mm : float
        RMS error reported for visible tools, mm.
    clock : callable
        Time source, s.
    """

    def __init__(
        self,
        path: Callable[..., dict[str, np.ndarray]] = plausible_path,
        rate_hz: float = 60.0,
        handles: dict[str, str] | None = None,
        passive_tools: Sequence[str] = (),
        srom_capacity_bytes: int = ndi.MAX_SROM_BYTES,
        transport: str = "pty",
        port: int = 0,
        scene_center_mm: tuple[float, float, float] | None = None,
        error_rms_mm: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate_hz <= 0:
            raise ValueError(f"NdiEmulator rate_hz = {rate_hz}: expected a positive rate")
        if transport not in ("pty", "socket"):
            raise ValueError(f"NdiEmulator transport {transport!r}: expected 'pty' or 'socket'")
        if isinstance(passive_tools, str):
            passive_tools = [passive_tools]
        self.path = (
            path if scene_center_mm is None else partial(path, scene_center_mm=scene_center_mm)
        )
        self.rate_hz = float(rate_hz)
        if handles is None:  # the defaults, less the tools served as passive ones
            handles = {h: n for h, n in DEFAULT_HANDLES.items() if n not in passive_tools}
        self.handles = {k.upper(): v for k, v in handles.items()}
        self.passive_tools = list(passive_tools)
        self.srom_capacity_bytes = int(srom_capacity_bytes)
        self.transport = transport
        self.port = int(port)
        self.error_rms_mm = float(error_rms_mm)
        self.clock = clock
        self.baudrate = ndi.DEFAULT_BAUD
        self.commands: list[str] = []  # names received, newest last (bounded)
        self.connections = 0  # socket clients accepted
        super().__init__()  # the worker thread and its stop event
        self._lock = threading.Lock()
        self._missing: set[str] = set()
        self._errors: dict[str, int] = {}
        self._master: int | None = None
        self._slave: int | None = None
        self._server: socket.socket | None = None
        self._client: socket.socket | None = None
        self._dir: Path | None = None
        self._t0 = 0.0
        self._reset_state()

    # --- public ----------------------------------------------------------
    @property
    def url(self) -> str:
        """What a client opens (valid after :meth:`start`)."""
        if self.transport == "socket":
            if self._thread is None:
                raise RuntimeError("NdiEmulator: call start() first")
            return f"socket://127.0.0.1:{self.port}"
        if self._dir is None:
            raise RuntimeError("NdiEmulator: call start() first")
        return str(self._dir / "ndi")

    def _open(self) -> None:
        """Open the pty (or listen on the socket) and power up the clock (``start``)."""
        if self.transport == "pty":
            self._dir = Path(tempfile.mkdtemp(prefix="ndi-emulator-"))
        self._plug()
        self._t0 = self.clock()

    def _close(self) -> None:
        """Remove the pty / close the socket (``stop``)."""
        self._unplug()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def unplug(self) -> None:
        """Pull the cable: the pty (or the socket) goes away, the client's reads fail."""
        self._unplug()

    def replug(self) -> None:
        """Plug back in: same URL, device state as after power-up."""
        with self._lock:
            self._reset_state()
        self._plug()

    def set_missing(self, tool: str, missing: bool = True) -> None:
        """Report ``tool`` (a name or a handle) MISSING in TX/BX replies (or visible again)."""
        handle = self._handle_of(tool)
        with self._lock:
            (self._missing.add if missing else self._missing.discard)(handle)

    def set_error(self, code: int | None, command: str = "TX") -> None:
        """Answer ``command`` with ``ERRORxx`` (code) from now on; None to stop."""
        with self._lock:
            if code is None:
                self._errors.pop(command.upper(), None)
            else:
                self._errors[command.upper()] = int(code)

    def frame_number(self) -> int:
        """The current device frame number."""
        return int((self.clock() - self._t0) * self.rate_hz)

    # --- state -----------------------------------------------------------
    def _reset_state(self) -> None:
        self.baudrate = ndi.DEFAULT_BAUD
        self.initialized = False
        self.tracking = False
        # handle -> "allocated" (PHRQ, no definition yet) | "occupied" | "initialized" |
        # "enabled"
        self.port_state = {h: "occupied" for h in self.handles}
        self.passive: dict[str, str] = {}  # PHRQ handle -> tool name
        self.sroms: dict[str, bytes] = {}  # PHRQ handle -> tool definition written so far

    def _all_handles(self) -> dict[str, str]:
        return {**self.handles, **self.passive}

    def _handle_of(self, tool: str) -> str:
        handles = self._all_handles()
        if tool.upper() in handles:
            return tool.upper()
        for handle, name in handles.items():
            if name == tool:
                return handle
        for name in self.passive_tools:  # a passive tool before its PHRQ
            if name == tool:
                return name
        raise KeyError(f"NdiEmulator: no tool or handle {tool!r} (have {handles})")

    # --- transport -------------------------------------------------------
    def _plug(self) -> None:
        if self._master is not None or self._server is not None:
            return  # plugged in already
        if self.transport == "pty":
            assert self._dir is not None
            master, slave = open_pty_at(self._dir / "ndi")
            with self._lock:
                self._master, self._slave = master, slave
            return
        server = listen_local(self.port)
        self.port = server.getsockname()[1]
        with self._lock:
            self._server = server

    def _unplug(self) -> None:
        with self._lock:
            fds = (self._master, self._slave)
            self._master = self._slave = None
            socks = (self._client, self._server)
            self._client = self._server = None
        close_fds(*fds)
        for sock in socks:
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.close()

    def _receive(self) -> tuple[object, bytes] | None:
        """Wait up to 50 ms for host bytes: (connection they came from, bytes) or None."""
        master, server, client = self._master, self._server, self._client
        if master is not None:
            conn: object = master
        elif client is not None:
            conn = client
        elif server is not None:
            conn = server
        else:
            self._stop.wait(0.02)
            return None
        try:
            ready, _, _ = select.select([conn], [], [], 0.05)
            if not ready:
                return None
            if conn is server:
                accepted, _ = server.accept()  # type: ignore[union-attr]
                accepted.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                with self._lock:
                    if self._server is server:
                        self._client = accepted
                        self.connections += 1
                    else:
                        accepted.close()
                return None
            if isinstance(conn, socket.socket):
                data = conn.recv(4096)
                if not data:  # the host hung up: wait for the next one
                    self._drop_client(conn)
                return conn, data
            return conn, os.read(conn, 4096)  # type: ignore[arg-type]
        except (OSError, ValueError):
            if isinstance(conn, socket.socket) and conn is client:
                self._drop_client(conn)
            self._stop.wait(0.02)
            return None

    def _drop_client(self, client: socket.socket) -> None:
        with self._lock:
            if self._client is client:
                self._client = None
        with contextlib.suppress(OSError):
            client.close()

    def _send(self, conn: object, data: bytes) -> bool:
        """Write a reply on ``conn`` if it is still the live connection; False on failure."""
        try:
            if isinstance(conn, socket.socket):
                if self._client is not conn:
                    return False
                conn.sendall(data)
            else:
                if self._master != conn:
                    return False
                os.write(conn, data)  # type: ignore[arg-type]
        except OSError:
            return False
        return True

    def _run(self) -> None:
        buf = bytearray()
        source: object = None
        while not self._stop.is_set():
            received = self._receive()
            if received is None:
                continue
            conn, data = received
            if conn is not source:  # a new pty or client: forget a partial command
                buf.clear()
                source = conn
            buf += data
            if len(buf) > 4096:
                del buf[:-256]
            while True:
                end = buf.find(b"\r")
                if end < 0:
                    break
                line = bytes(buf[:end])
                del buf[: end + 1]
                reply = self._answer(line)
                if reply and not self._send(conn, reply):
                    break

    # --- commands --------------------------------------------------------
    def _answer(self, line: bytes) -> bytes:
        cmd = ndi.parse_command(line.strip(b"\n"))
        if cmd is None or not cmd.name:
            return ndi.encode_reply("ERROR01")
        self.commands.append(cmd.name)
        del self.commands[:-100]
        if not cmd.crc_ok:
            return ndi.encode_reply("ERROR04")
        with self._lock:
            forced = self._errors.get(cmd.name)
            if forced is not None:
                return ndi.encode_reply(f"ERROR{forced:02X}")
            handler = getattr(self, f"_cmd_{cmd.name.lower()}", None)
            if handler is None:
                return ndi.encode_reply("ERROR01")
            out = handler(cmd.params.strip())
        if isinstance(out, bytes):
            return out
        return ndi.encode_reply(out)

    def _cmd_reset(self, params: str) -> str:
        self._reset_state()
        return "RESET"

    def _cmd_comm(self, params: str) -> str:
        baud = ndi.baud_from_comm(params)
        if baud is None:
            return "ERROR06"
        self.baudrate = baud  # notional on a pty, meaningless on a socket
        return "OKAY"

    def _cmd_init(self, params: str) -> str:
        self.initialized = True
        return "OKAY"

    def _cmd_ver(self, params: str) -> str:
        return VERSION_TEXT

    def _cmd_beep(self, params: str) -> str:
        return "1"

    def _cmd_phsr(self, params: str) -> str:
        if not self.initialized:
            return "ERROR10"
        kind = params[:2] or "00"
        wanted = {"00": None, "01": "to_free", "02": "occupied", "03": "initialized"}
        if kind == "04":
            states = {"enabled"}
        elif kind in wanted:
            states = None if wanted[kind] is None else {wanted[kind]}
        else:
            return "ERROR07"
        entries = [
            (h, _PHSR_STATUS.get(s, 0x001))
            for h, s in sorted(self.port_state.items())
            if states is None or s in states
        ]
        return ndi.format_phsr(entries)

    def _port_command(self, params: str, needs: str, becomes: str) -> str:
        if not self.initialized:
            return "ERROR10"
        handle = params[:2].upper()
        if handle not in self.port_state:
            return "ERROR08"
        if self.port_state[handle] == "allocated":
            return "ERROR0D"  # a PHRQ handle without its tool definition
        order = ["occupied", "initialized", "enabled"]
        if order.index(self.port_state[handle]) < order.index(needs):
            return "ERROR0E" if needs == "initialized" else "ERROR0C"
        self.port_state[handle] = becomes
        return "OKAY"

    def _cmd_phf(self, params: str) -> str:
        handle = params[:2].upper()
        if self.initialized and handle in self.passive:  # a freed PHRQ handle is gone
            del self.passive[handle], self.port_state[handle]
            self.sroms.pop(handle, None)
            return "OKAY"
        return self._port_command(params, "occupied", "occupied")

    def _cmd_phrq(self, params: str) -> str:
        """Port handle request: the next free handle, for the next passive tool."""
        if not self.initialized:
            return "ERROR10"
        if len(params) != ndi.PHRQ_PARAM_CHARS:
            return "ERROR07"
        free = [h for h in PASSIVE_HANDLES if h not in self.port_state]
        if not free:
            return "ERROR2D"
        handle = free[0]
        n = len(self.passive)
        self.passive[handle] = (
            self.passive_tools[n] if n < len(self.passive_tools) else f"passive_{handle}"
        )
        self.port_state[handle] = "allocated"
        self.sroms[handle] = b""
        return handle

    def _cmd_pvwr(self, params: str) -> str:
        """Write 64 bytes of a tool definition: addresses 0x0000, 0x0040, ... in order."""
        if not self.initialized:
            return "ERROR10"
        if len(params) != 6 + 2 * ndi.SROM_CHUNK_BYTES:
            return "ERROR07"
        try:
            chunk = ndi.parse_pvwr(params)
        except ndi.NdiReplyError:
            return "ERROR1F"  # handle, address or payload not hexadecimal
        if chunk.handle not in self.passive:
            return "ERROR2B"  # not a handle PHRQ allocated
        written = self.sroms[chunk.handle]
        expected = 0 if chunk.address == 0 else len(written)
        if (
            chunk.address != expected
            or chunk.address + ndi.SROM_CHUNK_BYTES > self.srom_capacity_bytes
        ):
            return "ERROR23"  # out of sequence or beyond the definition's capacity
        self.sroms[chunk.handle] = (written if chunk.address else b"") + chunk.data
        if self.port_state[chunk.handle] == "allocated":
            self.port_state[chunk.handle] = "occupied"
        return "OKAY"

    def _cmd_pinit(self, params: str) -> str:
        return self._port_command(params, "occupied", "initialized")

    def _cmd_pena(self, params: str) -> str:
        if len(params) < 3 or params[2].upper() not in "SDB":
            return "ERROR09"
        return self._port_command(params, "initialized", "enabled")

    def _cmd_pdis(self, params: str) -> str:
        return self._port_command(params, "initialized", "initialized")

    def _cmd_tstart(self, params: str) -> str:
        if not self.initialized:
            return "ERROR10"
        self.tracking = True
        return "OKAY"

    def _cmd_tstop(self, params: str) -> str:
        self.tracking = False
        return "OKAY"

    def _handles_now(self) -> list[ndi.HandleTransform]:
        frame = self.frame_number()
        poses = self.path(frame / self.rate_hz)
        out = []
        for handle, name in sorted(self._all_handles().items()):
            if self.port_state[handle] != "enabled":
                out.append(ndi.HandleTransform(handle, "disabled"))
                continue
            pose = poses.get(name)
            if handle in self._missing or name in self._missing or pose is None:
                out.append(
                    ndi.HandleTransform(handle, "missing", port_status=0x11, frame_number=frame)
                )
                continue
            q = tuple(float(v) for v in matrix_to_quat(pose))
            t = tuple(float(v) for v in pose[:3, 3])
            out.append(
                ndi.HandleTransform(handle, "ok", q, t, self.error_rms_mm, 0x31, frame)  # type: ignore[arg-type]
            )
        return out

    def _cmd_tx(self, params: str) -> str:
        if not self.tracking:
            return "ERROR0C"
        return ndi.format_tx(self._handles_now(), 0)

    def _cmd_bx(self, params: str) -> bytes | str:
        if not self.tracking:
            return "ERROR0C"
        return ndi.encode_bx_reply(ndi.format_bx(self._handles_now(), 0))
