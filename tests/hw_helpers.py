"""Helpers of the hardware tests: waiting on a thread, and the flat-memory stream check."""

from __future__ import annotations

import gc
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass


def wait_for(predicate: Callable[[], bool], timeout_s: float = 5.0) -> bool:
    """Poll ``predicate`` every 10 ms until it holds or ``timeout_s`` passed; its last value."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


@dataclass(frozen=True)
class StreamMemory:
    """What a long stream did to memory.

    Attributes
    ----------
    blocks_growth : int
        Allocated blocks after the stream minus after the warm-up minute.
    traced_growth_bytes : int
        tracemalloc growth over the last minute, after ``settle_reads`` reads.
    elapsed_s : float
        Wall time of the whole stream, s.
    traced_reads : int
        Reads over which the traced growth was measured.
    """

    blocks_growth: int
    traced_growth_bytes: int
    elapsed_s: float
    traced_reads: int

    def summary(self, what: str) -> str:
        """One line for the test's output."""
        return (
            f"{what} in {self.elapsed_s:.1f} s; blocks {self.blocks_growth:+d}; traced growth "
            f"over the last {self.traced_reads} reads {self.traced_growth_bytes / 1e3:.1f} kB"
        )


def stream_memory(
    feed: Callable[[int, int], None], n_reads: int, minutes: int, settle_reads: int
) -> StreamMemory:
    """Feed a stream of ``n_reads`` reads and watch memory.

    The number of allocated blocks is compared after a 1-minute warm-up (buffers at
    capacity) and at the end (cheap to watch); tracemalloc, which slows allocation
    about sixfold, watches the last minute after ``settle_reads`` reads (e.g. two
    buffer capacities, after which every retained object is a traced one).

    Parameters
    ----------
    feed : callable ``(start, stop) -> None``
        Feeds reads ``start`` to ``stop - 1`` to the tracker.
    n_reads : int
        Reads in the whole stream.
    minutes : int
        Its duration, min (one minute is ``n_reads // minutes`` reads).
    settle_reads : int
        Reads of the last minute fed before tracemalloc's baseline.
    """
    t0 = time.perf_counter()
    one_minute = n_reads // minutes
    feed(0, one_minute)  # warm-up: buffers fill to capacity
    gc.collect()
    blocks_before = sys.getallocatedblocks()
    feed(one_minute, n_reads - one_minute)
    gc.collect()
    blocks_growth = sys.getallocatedblocks() - blocks_before
    tracemalloc.start()
    try:
        feed(n_reads - one_minute, n_reads - one_minute + settle_reads)
        base, _ = tracemalloc.get_traced_memory()
        feed(n_reads - one_minute + settle_reads, n_reads)
        now, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return StreamMemory(
        blocks_growth, now - base, time.perf_counter() - t0, one_minute - settle_reads
    )
