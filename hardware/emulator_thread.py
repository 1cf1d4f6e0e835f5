"""What the device emulators share: their worker thread's lifecycle and a local TCP server.

An emulator subclasses :class:`EmulatorThread` and supplies ``url``,
``_open`` (bring the transport up: pty, socket or server), ``_close`` (take
it down and remove what ``_open`` made) and ``_run`` (the loop, which ends
when ``_stop`` is set). ``start``/``stop`` and the context manager are then
the same for every protocol.
"""

from __future__ import annotations

import socket
import threading
from typing import Self

#: How long ``stop`` waits for the worker thread, s.
JOIN_TIMEOUT_S = 2.0


class EmulatorThread:
    """Start, stop and ``with`` for an emulator running one daemon thread."""

    #: What a tracker opens (an attribute or a property of each emulator).
    url: str

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _open(self) -> None:  # pragma: no cover
        raise NotImplementedError

    def _close(self) -> None:  # pragma: no cover
        raise NotImplementedError

    def _run(self) -> None:  # pragma: no cover
        raise NotImplementedError

    def start(self) -> str:
        """Bring the transport up and start the worker; returns the URL to connect to.

        Starting a running emulator only returns its URL.
        """
        if self._thread is not None:
            return self.url
        self._open()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=type(self).__name__, daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        """Stop the worker and take the transport down. Idempotent."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(JOIN_TIMEOUT_S)
            self._thread = None
        self._close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def listen_local(port: int = 0) -> socket.socket:
    """A TCP server on 127.0.0.1:``port`` (0: any free port) for one client at a time."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen(1)
    return server
