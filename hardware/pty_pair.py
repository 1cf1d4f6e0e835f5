"""A raw pseudo-terminal pair behind a stable path: the emulators' serial cable.

An emulator holds the master side; a tracker opens the path, a symlink to the
slave device, as it would open ``/dev/ttyUSB0``. Re-plugging makes a new pair
behind the same path, so the tracker reconnects to the URL it was given.
"""

from __future__ import annotations

import contextlib
import os
import tty
from pathlib import Path


def open_pty_at(link: Path) -> tuple[int, int]:
    """Open a raw pty pair and point ``link`` at its slave device.

    The link is replaced atomically, so a tracker polling the path never sees
    it missing while the pair is renewed.

    Parameters
    ----------
    link : Path
        Where the symlink goes (its folder must exist).

    Returns
    -------
    (master_fd, slave_fd) : tuple of int
    """
    master, slave = os.openpty()
    tty.setraw(slave)  # no echo, no line editing: a byte pipe
    tmp = link.with_name(link.name + ".tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    os.symlink(os.ttyname(slave), tmp)
    os.replace(tmp, link)
    return master, slave


def close_fds(*fds: int | None) -> None:
    """Close the given file descriptors, ignoring None and ones already closed."""
    for fd in fds:
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)
