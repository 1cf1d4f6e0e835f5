"""NDI Aurora/Polaris over the combined serial API, as a :class:`hardware.tracker.Tracker`.

One worker thread owns the port (``serial.serial_for_url``): it runs the handshake (serial
break / RESET, COMM baud change, INIT, VER, port handles: free, initialise, enable, TSTART),
then polls TX (or BX) at ``rate_hz`` and publishes one :class:`TrackerSample` per reply.
Passive Polaris tools get their port handle from ``PHRQ`` and their tool definition
(``roms``: .rom files) from ``PVWR`` before the handles are initialised and enabled.
The protocol is request/reply, so reading and writing stay in that one thread; bytes are
parsed as soon as they arrive (no queue). :meth:`NdiTracker.ingest` is the decoding path
of tracking replies (framer -> TX/BX parser -> sample), used by the thread and usable
without a port. A failed port (unplug) or a silent device makes
the status ``"disconnected"``, freezes the last pose and retries every
``reconnect_interval_s``; an ``ERRORxx`` reply makes it ``"error"`` with the NDI error named.
See ``hardware/NDI.md``.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import serial

from hardware import ndi_protocol as ndi
from hardware.serial_link import close_port
from hardware.tracker import (
    DEFAULT_CAPACITY,
    TOOL_KINDS,
    ToolDescription,
    ToolSample,
    Tracker,
    TrackerSample,
    TrackerStatus,
    quality_from_error_mm,
)

READ_TIMEOUT_S = 0.02

RomEntry = str | os.PathLike[str] | tuple[str, str | os.PathLike[str]]
_ROM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


class NdiErrorReplyError(RuntimeError):
    """The device answered a command with ERRORxx."""

    def __init__(self, command: str, reply: ndi.ErrorReply, message: str | None = None) -> None:
        super().__init__(message or f"{command} failed: {reply}")
        self.command = command
        self.reply = reply


class RomFileError(ValueError):
    """A passive tool's definition (.rom) file that cannot be used; names the file."""


@dataclass(frozen=True)
class PassiveTool:
    """A passive (wireless) Polaris tool: its definition file and optional tool name.

    Attributes
    ----------
    path : Path
        The .rom file.
    name : str or None
        Tool name in samples; None: automatic (see :class:`NdiTracker`).
    srom : bytes
        The file's content, 1..``ndi.MAX_SROM_BYTES`` bytes.
    """

    path: Path
    name: str | None
    srom: bytes


def parse_rom_option(text: str) -> tuple[str | None, str]:
    """Split a ``--rom`` value ``[NAME=]FILE`` into (name or None, file).

    ``NAME=`` is taken as a name only when NAME is a plain identifier (letters, digits,
    ``_``, ``-``) and the whole text is not an existing file.
    """
    name, sep, rest = text.partition("=")
    if sep and rest and _ROM_NAME.fullmatch(name) and not Path(text).exists():
        return name, rest
    return None, text


def load_rom(entry: RomEntry) -> PassiveTool:
    """Read one passive tool's definition file.

    Parameters
    ----------
    entry : str, path or (str, path)
        A .rom file, or (tool name, .rom file).

    Raises
    ------
    RomFileError
        The file is missing, unreadable, empty or larger than ``ndi.MAX_SROM_BYTES``.
    """
    if isinstance(entry, tuple):
        name, file = entry
    else:
        name, file = None, entry
    path = Path(file)
    try:
        srom = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise RomFileError(f"tool definition file {path}: cannot read it ({reason})") from None
    if not srom or len(srom) > ndi.MAX_SROM_BYTES:
        raise RomFileError(
            f"tool definition file {path}: {len(srom)} bytes, expected 1 to "
            f"{ndi.MAX_SROM_BYTES} (an NDI .rom file)"
        )
    return PassiveTool(path, name, srom)


class NoReplyError(TimeoutError):
    """The device did not answer a command in time."""


class NdiTracker(Tracker):
    """NDI combined-API tracker.

    Parameters
    ----------
    url : str
        Serial port or anything ``serial.serial_for_url`` opens.
    tools : dict of str to str, optional
        Port handle -> tool name, e.g. ``{"0A": "probe", "0B": "needle"}``. Default: the
        enabled handles in order become ``"probe"``, ``"needle"`` (unless a named passive
        tool took that name), then ``"tool_XX"``.
    roms : sequence of path or (str, path)
        Passive Polaris tools: their tool definition (.rom) files, each optionally with a
        tool name. Each gets a port handle (``PHRQ``) and its file written with ``PVWR`` in
        every handshake. An unnamed one is named automatically when ``tools`` is None,
        else after its file (``needle.rom`` -> ``"needle"``). Read (and checked) here.
    baudrate_target : int
        Baud rate to switch to with COMM after the reset (9600 keeps the default).
    rate_hz : float
        TX polling rate, Hz.
    reply_format : str
        ``"tx"`` (text) or ``"bx"`` (binary).
    frame_rate_hz : float
        The device's frame rate, Hz, to turn frame numbers into ``device_t_s``.
    reconnect_interval_s : float
        Delay between reconnection attempts, s.
    reply_timeout_s : float
        How long to wait for a reply, s.
    reset_timeout_s : float
        How long to wait for ``RESET`` after the serial break / RESET command, s.
    capacity : int
        Ring buffer size, samples.
    clock : callable
        Host clock, s.
    """

    def __init__(
        self,
        url: str,
        tools: dict[str, str] | None = None,
        roms: Sequence[RomEntry] = (),
        baudrate_target: int = 115200,
        rate_hz: float = 60.0,
        reply_format: str = "tx",
        frame_rate_hz: float = 60.0,
        reconnect_interval_s: float = 0.5,
        reply_timeout_s: float = 0.5,
        reset_timeout_s: float = 2.0,
        capacity: int = DEFAULT_CAPACITY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(capacity=capacity, clock=clock)
        if reply_format not in ("tx", "bx"):
            raise ValueError(f"NdiTracker reply_format = {reply_format!r}: expected 'tx' or 'bx'")
        if rate_hz <= 0:
            raise ValueError(f"NdiTracker rate_hz = {rate_hz}: expected a positive rate")
        ndi.comm_params(int(baudrate_target))  # validate now: clear error, not in the thread
        self.url = url
        self.handle_names = {k.upper(): v for k, v in (tools or {}).items()}
        self._configured_names = dict(self.handle_names)
        self._auto_names = tools is None
        if isinstance(roms, (str, os.PathLike)):
            roms = [roms]
        self.passive_tools = [load_rom(entry) for entry in roms]
        self.passive_handles: dict[str, PassiveTool] = {}  # from PHRQ, this connection
        self.baudrate_target = int(baudrate_target)
        self.poll_rate_hz = float(rate_hz)
        self.reply_format = reply_format
        self.frame_rate_hz = float(frame_rate_hz)
        self.reconnect_interval_s = float(reconnect_interval_s)
        self.reply_timeout_s = float(reply_timeout_s)
        self.reset_timeout_s = float(reset_timeout_s)
        self.last_error: ndi.ErrorReply | None = None
        self.enabled_handles: list[str] = []
        self.connections = 0
        self.replies_tracked = 0  # TX/BX replies published as samples
        self.replies_malformed = 0  # CRC-valid replies that did not parse
        self._framer = ndi.ReplyFramer()
        self._port: serial.SerialBase | None = None
        self.device_info = {"protocol": "ndi", "url": url}

    # --- Tracker ---------------------------------------------------------
    def start(self) -> None:
        """Open the port and start tracking in the background. Idempotent."""
        self._start_worker(self._run, f"NdiTracker({self.url})", f"opening {self.url}")

    def stop(self) -> None:
        """Stop tracking (TSTOP when possible) and close the port. Idempotent."""
        self._stop_worker(3.0)
        self._close_port()
        self._set_status(TrackerStatus.STOPPED, "")

    def tools(self) -> list[ToolDescription]:
        """The tools mapped to port handles (configured, or discovered when auto-naming)."""
        return [
            ToolDescription(name, name if name in TOOL_KINDS else "reference", handle)
            for handle, name in sorted(self.handle_names.items())
        ]

    @property
    def frames_dropped(self) -> int:
        """Replies (or garbage chunks) the framer rejected: bad CRC, bad header, overflow."""
        return self._framer.dropped

    # --- decoding (sans-IO) ----------------------------------------------
    def ingest(self, data: bytes, t_s: float | None = None) -> int:
        """Decode tracking replies in ``data``; publish one sample per TX/BX reply.

        The worker thread feeds every tracking reply through the same path
        (:meth:`_ingest_frame`); this entry point needs no port or handshake.

        Parameters
        ----------
        data : bytes
            Bytes as read from the device (any split; partial replies are kept, bounded).
        t_s : float, optional
            Host time the bytes were read, s (default ``clock()``).

        Returns
        -------
        int
            Number of samples published.
        """
        t = self.clock() if t_s is None else t_s
        return sum(self._ingest_frame(frame, t) for frame in self._framer.feed(data))

    def _ingest_frame(self, frame: ndi.Frame, t_s: float) -> bool:
        """Parse one CRC-checked tracking reply and publish it; True if published."""
        if frame.text is not None:
            err = ndi.parse_error(frame.text)
            if err is not None:
                if not err.warning:
                    command = "TX 0001" if self.reply_format == "tx" else "BX 0001"
                    self._tracking_error(NdiErrorReplyError(command, err))
                return False
        try:
            reply = (
                ndi.parse_bx(frame.binary)
                if frame.binary is not None
                else ndi.parse_tx(frame.text or "")
            )
        except ndi.NdiReplyError:
            self.replies_malformed += 1
            return False  # a CRC-valid but malformed reply: drop it
        self.replies_tracked += 1
        self._publish(reply, t_s)
        if self.status != TrackerStatus.TRACKING:
            self._set_status(TrackerStatus.TRACKING, f"{self.url}: tracking")
        return True

    def _tracking_error(self, exc: NdiErrorReplyError) -> None:
        self.last_error = exc.reply
        self._set_status(TrackerStatus.ERROR, f"{self.url}: {exc}")

    # --- worker ----------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._open()
                self._handshake()
                self.connections += 1
                self._set_status(TrackerStatus.TRACKING, f"{self.url}: tracking")
                self._poll()
            except NdiErrorReplyError as exc:
                self.last_error = exc.reply
                self._set_status(TrackerStatus.ERROR, f"{self.url}: {exc}")
                self._freeze(str(exc))
            except (serial.SerialException, OSError, NoReplyError, ValueError) as exc:
                if self._stop.is_set():
                    break
                self._freeze(str(exc))
                was = self.connections > 0 or self.status == TrackerStatus.DISCONNECTED
                status = TrackerStatus.DISCONNECTED if was else TrackerStatus.CONNECTING
                self._set_status(status, f"{self.url}: {exc}; retrying")
            self._close_port()
            self._stop.wait(self.reconnect_interval_s)
        if self._port is not None:
            try:
                self._command("TSTOP", timeout_s=0.2)
            except (serial.SerialException, OSError, NoReplyError, NdiErrorReplyError, ValueError):
                pass
        self._close_port()

    def _open(self) -> None:
        self._close_port()
        self._port = serial.serial_for_url(
            self.url, baudrate=ndi.DEFAULT_BAUD, timeout=READ_TIMEOUT_S
        )
        self._framer.reset()

    def _close_port(self) -> None:
        port, self._port = self._port, None
        close_port(port)

    def _read_frame(self, deadline: float) -> tuple[ndi.Frame, float]:
        port = self._port
        if port is None:
            raise serial.SerialException("port closed")
        while True:
            data = port.read(max(1, port.in_waiting))
            if data:
                t_read = self.clock()
                frames = self._framer.feed(data)
                if frames:
                    return frames[0], t_read
            if time.monotonic() > deadline or self._stop.is_set():
                raise NoReplyError("no reply")

    def _command(
        self,
        name: str,
        params: str = "",
        timeout_s: float | None = None,
        expect_reset: bool = False,
    ) -> tuple[ndi.Frame, float]:
        """Send a command, return its (CRC-checked) reply and the host time it was read.

        Raises
        ------
        NdiErrorReplyError
            ERRORxx reply.
        NoReplyError
            No valid reply in time.
        """
        port = self._port
        if port is None:
            raise serial.SerialException("port closed")
        port.reset_input_buffer()
        self._framer.reset()
        port.write(ndi.encode_command(name, params))
        deadline = time.monotonic() + (self.reply_timeout_s if timeout_s is None else timeout_s)
        while True:
            try:
                frame, t_read = self._read_frame(deadline)
            except NoReplyError:
                raise NoReplyError(f"no reply to {name} from the tracker") from None
            if frame.text is not None:
                if frame.text == "RESET" and not expect_reset:
                    continue  # a late reply to the serial break
                err = ndi.parse_error(frame.text)
                if err is not None and not err.warning:
                    raise NdiErrorReplyError(f"{name} {params}".strip(), err)
            return frame, t_read

    def _okay(self, name: str, params: str = "") -> None:
        frame, _ = self._command(name, params)
        if frame.text is None or not (frame.text == "OKAY" or frame.text.startswith("WARNING")):
            raise NoReplyError(f"{name}: expected OKAY, got {frame.text!r}")

    def _reset(self) -> None:
        port = self._port
        assert port is not None
        try:
            port.send_break(0.25)
        except (serial.SerialException, OSError, AttributeError, NotImplementedError):
            pass
        deadline = time.monotonic() + 0.2
        try:
            frame, _ = self._read_frame(deadline)
            if frame.text == "RESET":
                return
        except NoReplyError:
            pass
        frame, _ = self._command("RESET", "0", timeout_s=self.reset_timeout_s, expect_reset=True)
        if frame.text != "RESET":
            raise NoReplyError(f"expected RESET after the serial break, got {frame.text!r}")

    def _handshake(self) -> None:
        self._set_status(
            self.status if self.connections else TrackerStatus.CONNECTING, f"{self.url}: reset"
        )
        self._reset()
        if self.baudrate_target != ndi.DEFAULT_BAUD:
            self._okay("COMM", ndi.comm_params(self.baudrate_target))
            time.sleep(0.05)  # the device switches after its OKAY
            assert self._port is not None
            self._port.baudrate = self.baudrate_target
        self._okay("INIT")
        try:
            frame, _ = self._command("VER", "4")
            if frame.text:
                self.device_info["version"] = frame.text.strip().splitlines()[0]
        except (NdiErrorReplyError, NoReplyError):
            pass
        self._setup_ports()
        self._okay("TSTART")

    def _phsr(self, kind: str) -> list[str]:
        frame, _ = self._command("PHSR", kind)
        if frame.text is None:
            raise NoReplyError("PHSR: expected a text reply")
        return [h for h, _status in ndi.parse_phsr(frame.text)]

    def _load_passive_tools(self) -> None:
        """PHRQ a port handle for each passive tool and write its .rom file with PVWR."""
        self.passive_handles = {}
        for tool in self.passive_tools:
            try:
                frame, _ = self._command("PHRQ", ndi.PHRQ_WIRELESS)
            except NdiErrorReplyError as exc:
                message = f"tool definition {tool.path}: PHRQ failed: {exc.reply}"
                raise NdiErrorReplyError("PHRQ", exc.reply, message) from None
            try:
                handle = ndi.parse_phrq(frame.text or "")
            except ndi.NdiReplyError:
                raise NoReplyError(
                    f"tool definition {tool.path}: PHRQ: expected a port handle, got {frame.text!r}"
                ) from None
            for address, params in ndi.pvwr_params(handle, tool.srom):
                try:
                    self._okay("PVWR", params)
                except NdiErrorReplyError as exc:
                    message = (
                        f"tool definition {tool.path}: PVWR to handle {handle} at address "
                        f"0x{address:04X} failed: {exc.reply}"
                    )
                    raise NdiErrorReplyError("PVWR", exc.reply, message) from None
            self.passive_handles[handle] = tool

    def _name_handles(self) -> None:
        names = dict(self._configured_names)
        for handle, tool in self.passive_handles.items():
            name = tool.name or (None if self._auto_names else tool.path.stem)
            if name is not None:
                names[handle] = name
        if self._auto_names:
            defaults = [n for n in ("probe", "needle") if n not in names.values()]
            for handle in self.enabled_handles:
                if handle not in names:
                    names[handle] = defaults.pop(0) if defaults else f"tool_{handle}"
        self.handle_names = names

    def _setup_ports(self) -> None:
        for handle in self._phsr(ndi.PHSR_TO_FREE):
            self._okay("PHF", handle)
        self._load_passive_tools()
        for _ in range(3):  # initialising can reveal more handles (Aurora splitters)
            pending = self._phsr(ndi.PHSR_NOT_INITIALIZED)
            if not pending:
                break
            for handle in pending:
                self._okay("PINIT", handle)
        for handle in self._phsr(ndi.PHSR_NOT_ENABLED):
            self._okay("PENA", handle + "D")
        self.enabled_handles = self._phsr(ndi.PHSR_ENABLED)
        self._name_handles()
        self.device_info["handles"] = dict(self.handle_names)

    def _poll(self) -> None:
        period = 1.0 / self.poll_rate_hz
        command = "TX" if self.reply_format == "tx" else "BX"
        next_t = time.monotonic()
        misses = 0
        while not self._stop.is_set():
            try:
                frame, t_read = self._command(command, "0001")
                misses = 0
            except NoReplyError:
                misses += 1
                if misses >= 2:
                    raise
                continue
            except NdiErrorReplyError as exc:
                self._tracking_error(exc)
                self._stop.wait(period)
                continue
            self._ingest_frame(frame, t_read)
            next_t += period
            delay = next_t - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)
            else:
                next_t = time.monotonic()

    def _publish(self, reply: ndi.TrackingReply, t_read: float) -> None:
        tools: dict[str, ToolSample] = {}
        missing: list[str] = []
        for handle, name in self.handle_names.items():
            data = reply.by_handle.get(handle)
            if data is None or data.state == "disabled":
                missing.append(name)
                continue
            device_t_s = data.frame_number / self.frame_rate_hz if self.frame_rate_hz else None
            if data.state == "missing":
                missing.append(name)
                tools[name] = ToolSample(name, None, 0.0, False, t_read, device_t_s=device_t_s)
                continue
            error = float(data.error_rms_mm or 0.0)
            tools[name] = ToolSample(
                name,
                data.pose2tracker(),
                quality_from_error_mm(error),
                True,
                t_read,
                error_mm=error,
                device_t_s=device_t_s,
            )
            self._note_update(name, t_read)
        self._push(TrackerSample(t_read, tools, tuple(sorted(missing))))
