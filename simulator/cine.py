"""Cine memory: the last frames shown, for review after freezing.

A scanner keeps the most recent frames in a ring buffer; when the user
freezes, a cursor steps back and forth through them. The buffer holds any
objects (the application stores :class:`simulator.engine.BModeFrame`), is
bounded in memory by its capacity, and never copies what it holds.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Generic, TypeVar

#: Default number of frames kept (about 4 s at 30 frames per second).
DEFAULT_CAPACITY = 128

T = TypeVar("T")


class CineBuffer(Generic[T]):
    """Bounded ring buffer of frames with a review cursor.

    Index 0 is the oldest frame held, ``len(buffer) - 1`` the newest.
    Appending moves the cursor to the newest frame (live imaging); while
    reviewing, :meth:`step` and :meth:`seek` move it and return the frame
    under it.

    Parameters
    ----------
    capacity : int, optional
        Most frames held; appending to a full buffer drops the oldest.

    Raises
    ------
    ValueError
        If ``capacity`` is not a positive integer.

    Examples
    --------
    >>> cine = CineBuffer(capacity=3)
    >>> for f in "abcd":
    ...     cine.append(f)
    >>> list(cine), cine.index, cine.step(-5), cine.index
    (['b', 'c', 'd'], 2, 'b', 0)
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise ValueError(f"cine capacity must be a positive integer, got {capacity!r}")
        self._frames: deque[T] = deque(maxlen=capacity)
        self._index = -1

    # ------------------------------------------------------------ container
    @property
    def capacity(self) -> int:
        """Most frames held."""
        maxlen = self._frames.maxlen
        assert maxlen is not None
        return maxlen

    def __len__(self) -> int:
        return len(self._frames)

    def __iter__(self) -> Iterator[T]:
        return iter(self._frames)

    def __getitem__(self, i: int) -> T:
        """Frame ``i`` (0 = oldest; negative indices count from the newest).

        Raises
        ------
        IndexError
            If ``i`` is outside the frames held.
        """
        n = len(self._frames)
        if not -n <= i < n:
            raise IndexError(f"cine frame {i} out of range: the buffer holds {n} frame(s)")
        return self._frames[i]

    def append(self, frame: T) -> None:
        """Add the newest frame and put the cursor on it.

        Parameters
        ----------
        frame : object
            Any frame object (kept by reference).
        """
        self._frames.append(frame)
        self._index = len(self._frames) - 1

    def clear(self) -> None:
        """Drop every frame (the cursor becomes -1)."""
        self._frames.clear()
        self._index = -1

    @property
    def latest(self) -> T | None:
        """The newest frame, or None when empty."""
        return self._frames[-1] if self._frames else None

    # --------------------------------------------------------------- cursor
    @property
    def index(self) -> int:
        """Position of the review cursor (0 = oldest; -1 when empty)."""
        return self._index

    @property
    def current(self) -> T | None:
        """The frame under the cursor, or None when empty."""
        return self._frames[self._index] if self._frames else None

    def seek(self, i: int) -> T:
        """Put the cursor on frame ``i``, clamped to the frames held.

        Parameters
        ----------
        i : int
            Wanted position (0 = oldest).

        Returns
        -------
        object
            The frame now under the cursor.

        Raises
        ------
        IndexError
            If the buffer is empty.
        """
        if not self._frames:
            raise IndexError("cine buffer is empty: nothing to review")
        self._index = min(max(int(i), 0), len(self._frames) - 1)
        return self._frames[self._index]

    def step(self, n: int = 1) -> T:
        """Move the cursor ``n`` frames (negative: back in time), clamped.

        Returns
        -------
        object
            The frame now under the cursor.

        Raises
        ------
        IndexError
            If the buffer is empty.
        """
        return self.seek(self._index + int(n))
