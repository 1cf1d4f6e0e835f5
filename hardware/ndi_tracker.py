"""NDI Aurora/Polaris over the combined serial API, as a :class:`hardware.tracker.Tracker`.

One worker thread owns the port (``serial.serial_for_url``): it runs the handshake (serial
break / RESET, COMM baud change, INIT, VER, port handles: free, initialise, enable, TSTART),
then polls TX (or BX) at ``rate_hz`` and publishes one :class:`TrackerSample` per reply.
The protocol is request/reply, so reading and writing stay in that one thread; bytes are
parsed as soon as they arrive (no queue). A failed port (unplug) or a silent device makes
the status ``"disconnected"``, freezes the last pose and retries every
``reconnect_interval_s``; an ``ERRORxx`` reply makes it ``"error"`` with the NDI error named.
See ``hardware/NDI.md``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import serial

from hardware import ndi_protocol as ndi
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


class NdiErrorReplyError(RuntimeError):
    """The device answered a command with ERRORxx."""

    def __init__(self, command: str, reply: ndi.ErrorReply) -> None:
        super().__init__(f"{command} failed: {reply}")
        self.command = command
        self.reply = reply


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
        enabled handles in order become ``"probe"``, ``"needle"``, then ``"tool_XX"``.
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
        self._auto_names = tools is None
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
        self._framer = ndi.ReplyFramer()
        self._port: serial.SerialBase | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.device_info = {"protocol": "ndi", "url": url}

    # --- Tracker ---------------------------------------------------------
    def start(self) -> None:
        """Open the port and start tracking in the background. Idempotent."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._set_status(TrackerStatus.CONNECTING, f"opening {self.url}")
        self._thread = threading.Thread(
            target=self._run, name=f"NdiTracker({self.url})", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop tracking (TSTOP when possible) and close the port. Idempotent."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(3.0)
        self._thread = None
        self._close_port()
        self._set_status(TrackerStatus.STOPPED, "")

    def tools(self) -> list[ToolDescription]:
        """The tools mapped to port handles (configured, or discovered when auto-naming)."""
        return [
            ToolDescription(name, name if name in TOOL_KINDS else "reference", handle)
            for handle, name in sorted(self.handle_names.items())
        ]

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
        if port is not None:
            try:
                port.close()
            except (serial.SerialException, OSError):
                pass

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

    def _setup_ports(self) -> None:
        for handle in self._phsr(ndi.PHSR_TO_FREE):
            self._okay("PHF", handle)
        for _ in range(3):  # initialising can reveal more handles (Aurora splitters)
            pending = self._phsr(ndi.PHSR_NOT_INITIALIZED)
            if not pending:
                break
            for handle in pending:
                self._okay("PINIT", handle)
        for handle in self._phsr(ndi.PHSR_NOT_ENABLED):
            self._okay("PENA", handle + "D")
        self.enabled_handles = self._phsr(ndi.PHSR_ENABLED)
        if self._auto_names:
            names = ["probe", "needle"]
            self.handle_names = {
                h: names[i] if i < len(names) else f"tool_{h}"
                for i, h in enumerate(self.enabled_handles)
            }
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
                self.last_error = exc.reply
                self._set_status(TrackerStatus.ERROR, f"{self.url}: {exc}")
                self._stop.wait(period)
                continue
            try:
                reply = (
                    ndi.parse_bx(frame.binary)
                    if frame.binary is not None
                    else ndi.parse_tx(frame.text or "")
                )
            except ndi.NdiReplyError:
                continue  # a CRC-valid but malformed reply: drop it
            self._publish(reply, t_read)
            if self.status != TrackerStatus.TRACKING:
                self._set_status(TrackerStatus.TRACKING, f"{self.url}: tracking")
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
