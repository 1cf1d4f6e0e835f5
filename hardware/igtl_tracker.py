"""OpenIGTLink input (TRANSFORM messages, e.g. from PLUS Server or 3D Slicer) as a Tracker.

The messages are decoded by pyigtl (:class:`pyigtl.MessageBase` and its message classes);
the TCP connection is this module's own, because pyigtl 0.3.4's
:class:`pyigtl.OpenIGTLinkClient` cannot tell silence from a lost server: its
``is_connected()`` stays True after the server closes the socket (``recv`` returning
``b""`` is treated as "no message"), its thread then spins at 100 % CPU on the dead socket
and never reconnects, and it connects with a 10 ms timeout retried every 10 ms.

Here a worker thread connects (``connect_timeout_s``), reads the socket and feeds every
read to :meth:`IgtlTracker.ingest` (bytes -> :class:`IgtlStreamDecoder` -> pyigtl
messages -> :meth:`IgtlTracker.ingest_messages` -> one :class:`TrackerSample` per read):

- **connected but silent** (a PLUS server whose tools are out of view sends nothing): the
  status stays ``"tracking"`` (the link is up) and each tool is listed in
  ``TrackerSample.missing`` once it has been silent for ``missing_after_s`` (never guessed);
- a TRANSFORM whose metadata says ``...TransformStatus`` other than ``OK`` (PLUS,
  OpenIGTLink v3) is reported not visible (``visible=False``, listed in ``missing``);
- **connection down** (server closed the socket, reset, refused, or a dead peer found by
  TCP keep-alive): status ``"disconnected"``, the last poses are pushed again frozen
  (``stale=True``), and a new connection is tried every ``reconnect_interval_s`` (one
  connection attempt each time, so a stopped server is not flooded); samples resume when
  the server is back.
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlparse

import numpy as np
import pyigtl
from pyigtl.messages import CRC64

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
HEADER_SIZE = pyigtl.MessageBase.IGTL_HEADER_SIZE  # 58 bytes
#: Largest body of a wanted message type accepted, bytes (a TRANSFORM body is 48 bytes
#: plus the v3 extended header and metadata).
MAX_BODY_BYTES = 1 << 16
#: How long one socket read waits before the worker checks timeouts and the stop flag, s.
READ_TICK_S = 0.02
_CRC = struct.Struct(">Q")


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


class IgtlProtocolError(ValueError):
    """The byte stream is not OpenIGTLink (bad header version or impossible body size)."""


@dataclass
class IgtlStreamStats:
    """Counters of an :class:`IgtlStreamDecoder`.

    Attributes
    ----------
    messages : int
        Messages of a wanted type decoded.
    skipped : int
        Messages of other types (IMAGE, STATUS, TDATA...) skipped unread.
    crc_errors : int
        Wanted messages dropped because the body CRC-64 did not match.
    malformed : int
        Wanted messages dropped because pyigtl could not unpack the body.
    """

    messages: int = 0
    skipped: int = 0
    crc_errors: int = 0
    malformed: int = 0


class IgtlStreamDecoder:
    """Split an OpenIGTLink byte stream into pyigtl messages (sans-IO).

    Messages of types not in ``types`` are skipped without being buffered (an IMAGE
    stream does not grow memory). The buffer never holds more than one header plus one
    wanted body (at most :data:`MAX_BODY_BYTES`).

    Parameters
    ----------
    types : iterable of str
        Message types to decode (default ``("TRANSFORM",)``).
    check_crc : bool
        Drop a wanted message whose CRC-64 does not match its body.
    """

    def __init__(self, types: Iterable[str] = ("TRANSFORM",), check_crc: bool = True) -> None:
        self.types = frozenset(types)
        self.check_crc = bool(check_crc)
        self.stats = IgtlStreamStats()
        self._buf = bytearray()
        self._skip_bytes = 0

    def reset(self) -> None:
        """Forget any partial message (after a reconnection)."""
        self._buf.clear()
        self._skip_bytes = 0

    def feed(self, data: bytes) -> list[pyigtl.MessageBase]:
        """Decode the complete messages ``data`` finishes, in stream order.

        Raises
        ------
        IgtlProtocolError
            A header that is not OpenIGTLink (the stream cannot be resynchronised: TCP
            does not lose bytes, so this is another protocol on the port).
        """
        view = memoryview(data)
        if self._skip_bytes:
            n = min(self._skip_bytes, len(view))
            self._skip_bytes -= n
            view = view[n:]
        buf = self._buf
        buf += view
        messages: list[pyigtl.MessageBase] = []
        start = 0
        while len(buf) - start >= HEADER_SIZE:
            header = bytes(buf[start : start + HEADER_SIZE])
            fields = self._parse_header(header)
            body_size = int(fields["body_size"])
            if fields["message_type"] not in self.types:
                self.stats.skipped += 1
                available = len(buf) - start - HEADER_SIZE
                if available < body_size:  # skip the rest as it arrives, unbuffered
                    self._skip_bytes = body_size - available
                    start = len(buf)
                    break
                start += HEADER_SIZE + body_size
                continue
            if body_size > MAX_BODY_BYTES:
                raise IgtlProtocolError(
                    f"OpenIGTLink {fields['message_type']} message of {body_size} bytes: "
                    f"expected at most {MAX_BODY_BYTES}"
                )
            end = start + HEADER_SIZE + body_size
            if len(buf) < end:
                break
            body = bytes(buf[start + HEADER_SIZE : end])
            start = end
            message = self._unpack(header, fields, body)
            if message is not None:
                messages.append(message)
        del buf[:start]
        return messages

    @staticmethod
    def _parse_header(header: bytes) -> dict:
        try:
            fields = pyigtl.MessageBase.parse_header(header)
        except (struct.error, UnicodeDecodeError) as exc:
            raise IgtlProtocolError(f"not an OpenIGTLink header ({exc})") from None
        if fields["header_version"] not in (1, 2):
            raise IgtlProtocolError(
                f"OpenIGTLink header version {fields['header_version']}: expected 1 or 2"
            )
        return fields

    def _unpack(self, header: bytes, fields: dict, body: bytes) -> pyigtl.MessageBase | None:
        if self.check_crc and _CRC.unpack_from(header, HEADER_SIZE - 8)[0] != CRC64(body):
            self.stats.crc_errors += 1
            return None
        message = pyigtl.MessageBase.create_message(fields["message_type"])
        try:
            message.unpack(fields, body)
        except (struct.error, ValueError, IndexError, UnicodeDecodeError):
            self.stats.malformed += 1
            return None
        self.stats.messages += 1
        return message


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
    reconnect_interval_s : float
        Delay between connection attempts while the server is down, s.
    connect_timeout_s : float
        Timeout of one connection attempt, s.
    keepalive_s : float
        TCP keep-alive idle time, s: a peer that vanished without closing (cable
        pulled) is declared disconnected about ``keepalive_s + 3`` s into a silence
        (Linux; elsewhere the system default applies).
    check_crc : bool
        Drop messages whose CRC-64 does not match.
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
        reconnect_interval_s: float = 0.5,
        connect_timeout_s: float = 2.0,
        keepalive_s: float = 2.0,
        check_crc: bool = True,
        capacity: int = DEFAULT_CAPACITY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(capacity=capacity, clock=clock)
        for name, value in (
            ("missing_after_s", missing_after_s),
            ("reconnect_interval_s", reconnect_interval_s),
            ("connect_timeout_s", connect_timeout_s),
            ("keepalive_s", keepalive_s),
        ):
            if not value > 0:
                raise ValueError(f"IgtlTracker {name} = {value}: expected a positive time in s")
        self.url = url
        self.host, self.port = parse_igtl_url(url)
        self.devices = dict(DEFAULT_DEVICES if devices is None else devices)
        self.missing_after_s = float(missing_after_s)
        self.reconnect_interval_s = float(reconnect_interval_s)
        self.connect_timeout_s = float(connect_timeout_s)
        self.keepalive_s = float(keepalive_s)
        self.connections = 0
        self._decoder = IgtlStreamDecoder(check_crc=check_crc)
        self._last: dict[str, ToolSample] = {}
        self._connected_t: float | None = None
        self._published_missing: tuple[str, ...] | None = None
        self._receiving = False
        self.device_info = {"protocol": "igtl", "url": url}

    # --- Tracker interface -------------------------------------------------
    def start(self) -> None:
        """Connect (in the background) and start receiving. Idempotent."""
        self._start_worker(self._run, "IgtlTracker", f"connecting to {self.url}")

    def stop(self) -> None:
        """Stop receiving and close the connection. Idempotent."""
        self._stop_worker(self.connect_timeout_s + 1.0)
        self._set_status(TrackerStatus.STOPPED, "")

    def tools(self) -> list[ToolDescription]:
        """One tool per configured device name."""
        return [
            ToolDescription(name, name if name in TOOL_KINDS else "reference", device)
            for device, name in self.devices.items()
        ]

    @property
    def decoder_stats(self) -> IgtlStreamStats:
        """Counters of the stream decoder (messages, skipped, CRC errors, malformed)."""
        return self._decoder.stats

    # --- sans-IO path (used by the receiving thread) -----------------------
    def ingest(self, data: bytes, t_s: float | None = None) -> int:
        """Decode bytes read from the socket at host time ``t_s`` and publish a sample.

        Parameters
        ----------
        data : bytes
            Raw OpenIGTLink stream, any split.
        t_s : float, optional
            Host time of the read, s (default: the clock now).

        Returns
        -------
        int
            Messages decoded.

        Raises
        ------
        IgtlProtocolError
            The stream is not OpenIGTLink.
        """
        messages = self._decoder.feed(data)
        if messages:
            self.ingest_messages(messages, t_s)
        return len(messages)

    def ingest_messages(
        self, messages: Iterable[pyigtl.MessageBase], t_s: float | None = None
    ) -> bool:
        """Apply pyigtl messages received at host time ``t_s``; publish one sample.

        Messages of other devices or types are ignored.

        Parameters
        ----------
        messages : iterable of pyigtl.MessageBase
            Typically :class:`pyigtl.TransformMessage`.
        t_s : float, optional
            Host time of the read, s (default: the clock now).

        Returns
        -------
        bool
            True when a configured device was updated (a sample was published).
        """
        now = self.clock() if t_s is None else float(t_s)
        updated = False
        for message in messages:
            name = self.devices.get(getattr(message, "device_name", None))  # type: ignore[arg-type]
            if name is not None and self._update(name, message, now):
                updated = True
        if updated:
            if not self._receiving:
                self._receiving = True
                self._set_status(TrackerStatus.TRACKING, f"{self.url}: receiving")
            self._publish(now)
        return updated

    def check_missing(self, t_s: float | None = None) -> bool:
        """Publish a sample when a tool crossed its ``missing_after_s`` silence.

        Also publishes an all-missing sample once when nothing arrived for
        ``missing_after_s`` after the connection opened (tools out of view from the start).

        Returns
        -------
        bool
            True when a sample was published.
        """
        now = self.clock() if t_s is None else float(t_s)
        if self._published_missing is None:
            start = self._connected_t
            if start is None or now - start <= self.missing_after_s:
                return False
        elif self._missing_names(now) == self._published_missing:
            return False
        self._publish(now)
        if len(self._published_missing or ()) == len(self.devices):
            self._receiving = False
            self._set_status(
                TrackerStatus.TRACKING,
                f"{self.url}: connected; no pose for {self.missing_after_s:g} s "
                "(tools out of view?)",
            )
        return True

    # --- internals ---------------------------------------------------------
    def _update(self, name: str, message: pyigtl.MessageBase, now: float) -> bool:
        matrix = getattr(message, "matrix", None)
        if matrix is None or np.shape(matrix) != (4, 4):
            return False
        pose = np.array(matrix, dtype=np.float64)  # a copy: the sample owns its pose
        meta = getattr(message, "metadata", None) or {}
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
        return True

    def _missing_names(self, now: float) -> tuple[str, ...]:
        missing = []
        for name in self.devices.values():
            sample = self._last.get(name)
            if sample is None or not sample.visible or now - sample.t_s > self.missing_after_s:
                missing.append(name)
        return tuple(sorted(missing))

    def _publish(self, now: float) -> None:
        tools = {}
        for name in self.devices.values():
            sample = self._last.get(name)
            if sample is not None and now - sample.t_s <= self.missing_after_s:
                tools[name] = sample  # visible, or reported not visible by the device
        missing = self._missing_names(now)
        self._published_missing = missing
        self._push(TrackerSample(now, tools, missing))

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                sock = socket.create_connection(
                    (self.host, self.port), timeout=self.connect_timeout_s
                )
            except OSError as exc:
                if self._stop.is_set():
                    break
                self._lost(f"{self.url}: cannot connect ({_reason(exc)})")
                self._stop.wait(self.reconnect_interval_s)
                continue
            with sock:
                self._configure(sock)
                self._connected(self.clock())
                status, reason = self._receive(sock)
            if self._stop.is_set():
                break
            self._lost(reason, status)
            self._stop.wait(self.reconnect_interval_s)

    def _configure(self, sock: socket.socket) -> None:
        sock.settimeout(min(READ_TICK_S, self.missing_after_s / 4))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        for option, value in (
            ("TCP_KEEPIDLE", max(1, round(self.keepalive_s))),
            ("TCP_KEEPINTVL", 1),
            ("TCP_KEEPCNT", 3),
        ):
            if hasattr(socket, option):
                sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), value)

    def _connected(self, now: float) -> None:
        self.connections += 1
        self._decoder.reset()
        self._last.clear()
        self._receiving = False
        self._connected_t = now
        self._published_missing = None
        self._set_status(
            TrackerStatus.TRACKING, f"{self.url}: connected, waiting for TRANSFORM messages"
        )

    def _receive(self, sock: socket.socket) -> tuple[TrackerStatus, str]:
        """Read until the connection ends; returns the status and reason to show."""
        while not self._stop.is_set():
            try:
                data = sock.recv(65536)
            except TimeoutError:
                data = None
            except OSError as exc:
                return TrackerStatus.DISCONNECTED, f"{self.url}: connection lost ({_reason(exc)})"
            now = self.clock()
            if data == b"":
                return TrackerStatus.DISCONNECTED, f"{self.url}: the server closed the connection"
            if data:
                try:
                    self.ingest(data, now)
                except IgtlProtocolError as exc:
                    return TrackerStatus.ERROR, f"{self.url}: {exc}"
            self.check_missing(now)
        return TrackerStatus.STOPPED, ""

    def _lost(self, reason: str, status: TrackerStatus = TrackerStatus.DISCONNECTED) -> None:
        if self.status is not TrackerStatus.DISCONNECTED:
            self._freeze(reason)  # once per outage, not once per failed attempt
        self._last.clear()
        self._connected_t = None
        self._published_missing = None
        self._receiving = False
        retry = f"; retrying every {self.reconnect_interval_s:g} s"
        self._set_status(status, reason + retry)


def _reason(exc: OSError) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    return exc.strerror or type(exc).__name__
