"""An emulated NDI tracker (Aurora/Polaris combined API subset) on a pseudo-terminal.

``NdiEmulator().start()`` returns a path (a symlink to the pty's slave side) that
:class:`hardware.ndi_tracker.NdiTracker` or any NDI host software opens like a serial port.
The emulator answers the commands listed in ``hardware/NDI.md`` with CRCs, honours COMM (on
a pty the baud rate is notional: it is acknowledged and remembered), and replies to TX/BX
with the poses of ``path(t_s)`` (default :func:`hardware.motion.plausible_path`), quantised
exactly as the text format carries them. Test hooks: :meth:`set_missing`,
:meth:`set_error`, :meth:`unplug`, :meth:`replug`.

Frame numbers count device frames at ``frame_rate_hz`` since :meth:`start`; the pose in
frame ``n`` is ``path(n / frame_rate_hz)``, so a client can recompute what was sent.
"""

from __future__ import annotations

import os
import select
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np

from hardware import ndi_protocol as ndi
from hardware.motion import plausible_path
from hardware.pty_pair import close_fds, open_pty_at
from hardware.rotations import matrix_to_quat

DEFAULT_HANDLES = {"0A": "probe", "0B": "needle"}
VERSION_TEXT = "Injection simulator NDI emulator\nCombined API subset (TX/BX 0001)\n"


class NdiEmulator:
    """Emulated NDI device on a pty pair.

    Parameters
    ----------
    path : callable
        ``path(t_s) -> {tool name: tool2tracker (4, 4)}``.
    rate_hz : float
        Device frame rate, Hz (frame numbers advance at this rate).
    handles : dict of str to str, optional
        Port handle -> tool name in ``path``'s output (default ``{"0A": "probe",
        "0B": "needle"}``).
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
        scene_center_mm: tuple[float, float, float] | None = None,
        error_rms_mm: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate_hz <= 0:
            raise ValueError(f"NdiEmulator rate_hz = {rate_hz}: expected a positive rate")
        self.path = (
            path if scene_center_mm is None else partial(path, scene_center_mm=scene_center_mm)
        )
        self.rate_hz = float(rate_hz)
        self.handles = dict(DEFAULT_HANDLES if handles is None else handles)
        self.error_rms_mm = float(error_rms_mm)
        self.clock = clock
        self.baudrate = ndi.DEFAULT_BAUD
        self.commands: list[str] = []  # names received, newest last (bounded)
        self._lock = threading.Lock()
        self._missing: set[str] = set()
        self._errors: dict[str, int] = {}
        self._master: int | None = None
        self._slave: int | None = None
        self._dir: Path | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._t0 = 0.0
        self._reset_state()

    # --- public ----------------------------------------------------------
    @property
    def url(self) -> str:
        """What a client opens (valid after :meth:`start`)."""
        if self._dir is None:
            raise RuntimeError("NdiEmulator: call start() first")
        return str(self._dir / "ndi")

    def start(self) -> str:
        """Create the pty, start answering, return the URL to open."""
        if self._thread is not None:
            return self.url
        self._dir = Path(tempfile.mkdtemp(prefix="ndi-emulator-"))
        self._open_pty()
        self._t0 = self.clock()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="NdiEmulator", daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        """Stop answering and remove the pty. Idempotent."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)
            self._thread = None
        self._close_pty()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def unplug(self) -> None:
        """Pull the cable: the pty disappears, the client's reads fail."""
        self._close_pty()

    def replug(self) -> None:
        """Plug back in: a fresh pty behind the same URL, device state as after power-up."""
        with self._lock:
            self._reset_state()
        self._open_pty()

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
        # handle -> "occupied" | "initialized" | "enabled"
        self.port_state = {h: "occupied" for h in self.handles}

    def _handle_of(self, tool: str) -> str:
        if tool.upper() in self.handles:
            return tool.upper()
        for handle, name in self.handles.items():
            if name == tool:
                return handle
        raise KeyError(f"NdiEmulator: no tool or handle {tool!r} (have {self.handles})")

    # --- pty -------------------------------------------------------------
    def _open_pty(self) -> None:
        assert self._dir is not None
        master, slave = open_pty_at(self._dir / "ndi")
        with self._lock:
            self._master, self._slave = master, slave

    def _close_pty(self) -> None:
        with self._lock:
            fds = (self._master, self._slave)
            self._master = self._slave = None
        close_fds(*fds)

    def _run(self) -> None:
        buf = bytearray()
        while not self._stop.is_set():
            master = self._master
            if master is None:
                buf.clear()
                self._stop.wait(0.02)
                continue
            try:
                ready, _, _ = select.select([master], [], [], 0.05)
                if not ready:
                    continue
                data = os.read(master, 4096)
            except (OSError, ValueError):
                self._stop.wait(0.02)
                continue
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
                if reply and self._master == master:
                    try:
                        os.write(master, reply)
                    except OSError:
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
        self.baudrate = baud  # notional on a pty
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
            (h, {"occupied": 0x001, "initialized": 0x011, "enabled": 0x031}.get(s, 0x001))
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
        order = ["occupied", "initialized", "enabled"]
        if order.index(self.port_state[handle]) < order.index(needs):
            return "ERROR0E" if needs == "initialized" else "ERROR0C"
        self.port_state[handle] = becomes
        return "OKAY"

    def _cmd_phf(self, params: str) -> str:
        return self._port_command(params, "occupied", "occupied")

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
        for handle in sorted(self.handles):
            if self.port_state[handle] != "enabled":
                out.append(ndi.HandleTransform(handle, "disabled"))
                continue
            pose = poses.get(self.handles[handle])
            if handle in self._missing or pose is None:
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
