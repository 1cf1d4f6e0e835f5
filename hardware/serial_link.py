"""A serial port read in its own thread, with unplug detection and automatic reconnection.

:class:`SerialLink` opens ``url`` through ``serial.serial_for_url`` (a device
path, ``socket://host:port``, ``loop://``, ...), reads whatever bytes
arrive in a daemon thread, feeds them to a stateful parser
(``parser.feed(bytes) -> list[message]``) and hands each chunk's messages to
``on_messages(messages, t_read_s)``. When the port fails (``SerialException``
or ``OSError``: cable pulled, socket closed, device gone) the link reports
``"disconnected"`` and retries opening every ``reconnect_interval_s`` until
the device is back. Nothing is queued: bytes go straight from ``read()`` to
the parser to the callback, so latency is one parse and memory is bounded by
the parser's buffer.

Statuses passed to ``on_status(status, message)``: ``"connecting"`` (first
open attempts), ``"connected"`` (port open), ``"disconnected"`` (lost, retrying),
``"stopped"``.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

import serial

#: Read timeout, s: how long the reader blocks before checking for stop.
READ_TIMEOUT_S = 0.05


class Parser(Protocol):
    """What a link feeds: stateful, sans-IO."""

    def feed(self, data: bytes) -> list[Any]:
        """Consume bytes; return the complete messages."""
        ...


class SerialLink:
    """Threaded reader of one serial URL.

    Parameters
    ----------
    url : str
        Anything ``serial.serial_for_url`` opens.
    baudrate : int
        Baud rate (ignored by sockets and ptys).
    parser_factory : callable
        Returns a fresh parser; a new one is made on every (re)connection.
    on_messages : callable
        ``on_messages(messages, t_read_s)`` called in the reader thread for
        each chunk that produced messages; ``t_read_s`` is ``time.monotonic()``
        when the chunk was read.
    on_status : callable, optional
        ``on_status(status, message)`` called on every status change.
    on_connect : callable, optional
        ``on_connect(link)`` called in the reader thread just after each
        successful open (e.g. to request the device identity).
    reconnect_interval_s : float
        Delay between open attempts, s.
    """

    def __init__(
        self,
        url: str,
        baudrate: int,
        parser_factory: Callable[[], Parser],
        on_messages: Callable[[list[Any], float], None],
        on_status: Callable[[str, str], None] | None = None,
        on_connect: Callable[[SerialLink], None] | None = None,
        reconnect_interval_s: float = 0.5,
    ) -> None:
        self.url = url
        self.baudrate = int(baudrate)
        self._parser_factory = parser_factory
        self.parser: Parser = parser_factory()
        self._on_messages = on_messages
        self._on_status = on_status
        self._on_connect = on_connect
        self.reconnect_interval_s = float(reconnect_interval_s)
        self._port: serial.SerialBase | None = None
        self._port_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.status = "stopped"
        self.status_message = ""
        self._latencies_s: deque[float] = deque(maxlen=1000)
        self.bytes_read = 0
        self.connections = 0

    # --- lifecycle -------------------------------------------------------
    def start(self) -> None:
        """Start the reader thread (it opens the port). Idempotent."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._set_status("connecting", f"opening {self.url}")
        self._thread = threading.Thread(
            target=self._run, name=f"SerialLink({self.url})", daemon=True
        )
        self._thread.start()

    def stop(self, timeout_s: float = 2.0) -> None:
        """Stop the reader and close the port. Idempotent."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout_s)
        self._thread = None
        self._close_port()
        self._set_status("stopped", "")

    @property
    def running(self) -> bool:
        """The reader thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def write(self, data: bytes) -> bool:
        """Send bytes to the device; False when the port is not open or the write failed."""
        with self._port_lock:
            port = self._port
            if port is None:
                return False
            try:
                port.write(data)
                return True
            except (serial.SerialException, OSError):
                return False

    # --- latency ---------------------------------------------------------
    def latency_ms(self) -> float | None:
        """Median time from bytes read to ``on_messages`` returning, ms (last 1000 chunks)."""
        values = list(self._latencies_s)
        return 1e3 * statistics.median(values) if values else None

    def latencies_ms(self) -> list[float]:
        """The last (up to 1000) chunk latencies, ms."""
        return [1e3 * v for v in list(self._latencies_s)]

    # --- internals -------------------------------------------------------
    def _set_status(self, status: str, message: str) -> None:
        if status == self.status and message == self.status_message:
            return
        self.status, self.status_message = status, message
        if self._on_status is not None:
            self._on_status(status, message)

    def _close_port(self) -> None:
        with self._port_lock:
            port, self._port = self._port, None
        close_port(port)

    def _open(self) -> bool:
        try:
            port = serial.serial_for_url(self.url, baudrate=self.baudrate, timeout=READ_TIMEOUT_S)
        except (serial.SerialException, OSError, ValueError) as exc:
            if self.status != "disconnected":
                self._set_status("connecting", f"cannot open {self.url}: {exc}")
            return False
        try:  # bytes queued while nobody listened are stale poses
            port.reset_input_buffer()
        except (serial.SerialException, OSError):
            pass
        with self._port_lock:
            self._port = port
        self.parser = self._parser_factory()
        self.connections += 1
        self._set_status("connected", f"{self.url} open")
        if self._on_connect is not None:
            self._on_connect(self)
        return True

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._port is None and not self._open():
                self._stop.wait(self.reconnect_interval_s)
                continue
            port = self._port
            try:
                data = port.read(max(1, port.in_waiting)) if port is not None else b""
            except (serial.SerialException, OSError, TypeError, AttributeError) as exc:
                # TypeError/AttributeError: pyserial's socket/posix backends after close()
                if self._stop.is_set():
                    break
                self._close_port()
                self._set_status("disconnected", f"{self.url}: {exc}")
                self._stop.wait(self.reconnect_interval_s)
                continue
            if not data:
                continue
            t_read_s = time.monotonic()
            t0 = time.perf_counter()
            self.bytes_read += len(data)
            messages = self.parser.feed(data)
            if messages:
                try:
                    self._on_messages(messages, t_read_s)
                except Exception as exc:  # a consumer bug must not kill the reader
                    self._set_status("error", f"{self.url}: message handler failed: {exc!r}")
                    continue
                self._latencies_s.append(time.perf_counter() - t0)


def close_port(port: serial.SerialBase | None) -> None:
    """Close a serial port that may already be gone (unplugged): errors are ignored."""
    if port is not None:
        try:
            port.close()
        except (serial.SerialException, OSError):
            pass
