"""NDI tracker: long streams through the decoding path stay flat in memory."""

from __future__ import annotations

import pytest

from hardware import ndi_protocol as ndi
from hardware.ndi_emulator import NdiEmulator
from hardware.ndi_tracker import NdiTracker
from tests.hw_helpers import stream_memory


def _one_second_of_replies(rate_hz: int, reply_format: str) -> list[bytes]:
    """What the emulator answers to ``rate_hz`` polls (TX or BX) spread over one second."""
    t = [0.0]
    emulator = NdiEmulator(rate_hz=rate_hz, clock=lambda: t[0])  # never started
    emulator.initialized = emulator.tracking = True
    emulator.port_state = {h: "enabled" for h in emulator.handles}
    command = ndi.encode_command("TX" if reply_format == "tx" else "BX", "0001")[:-1]
    replies = []
    for k in range(rate_hz):
        t[0] = k / rate_hz
        replies.append(emulator._answer(command))
    return replies


def test_ten_minutes_at_250_hz_leaves_memory_flat() -> None:
    """150 000 TX replies (2 tools each) fed straight into ``NdiTracker.ingest``.

    TX is what the tracker polls by default. NDI is request/reply: every poll reads one
    reply, which becomes one sample (the worker thread hands each reply to the same
    ``_ingest_frame`` that ``ingest`` uses). The number of allocated blocks must stay
    flat after a 1-minute warm-up; tracemalloc watches the last minute after two
    buffer-capacities of replies (every retained object is then a traced one): growth
    < 1 MB. Every reply is counted, none dropped.
    """
    rate_hz, minutes, reply_format = 250, 10, "tx"
    tracker = NdiTracker(
        "loop://",
        tools={"0A": "probe", "0B": "needle"},
        reply_format=reply_format,
        frame_rate_hz=rate_hz,
    )
    replies = _one_second_of_replies(rate_hz, reply_format)
    assert all(r.endswith(b"\r") for r in replies) and b"ERROR" not in b"".join(replies)
    n_reads = rate_hz * 60 * minutes

    def feed(start: int, stop: int) -> None:
        for i in range(start, stop):
            tracker.ingest(replies[i % rate_hz], t_s=i / rate_hz)

    memory = stream_memory(feed, n_reads, minutes, settle_reads=2 * tracker.capacity)
    print(memory.summary(f"NDI {reply_format.upper()}: 10 min at 250 Hz"))
    assert abs(memory.blocks_growth) < 5000
    assert tracker.replies_tracked == n_reads
    assert tracker.replies_malformed == 0 and tracker.frames_dropped == 0
    _, seq = tracker.samples_since(0)
    assert seq == n_reads
    assert len(tracker) == tracker.capacity
    assert len(tracker._framer._buf) == 0
    assert max(len(times) for times in tracker._updates.values()) <= 4096
    last = tracker.latest()
    assert set(last.tools) == {"probe", "needle"} and last.missing == ()
    assert last.tools["probe"].device_t_s == pytest.approx((rate_hz - 1) / rate_hz)
    assert memory.traced_growth_bytes < 1_000_000


def test_ingest_splits_errors_garbage_and_binary_replies() -> None:
    """The sans-IO path: partial reads, ERRORxx, garbage and BX, counted separately."""
    tracker = NdiTracker("loop://", tools={"0A": "probe", "0B": "needle"}, frame_rate_hz=250)
    tx = _one_second_of_replies(250, "tx")[10]
    assert tracker.ingest(tx[:7], t_s=1.0) == 0 and tracker.ingest(tx[7:50], t_s=1.0) == 0
    assert tracker.ingest(tx[50:], t_s=1.0) == 1
    assert tracker.latest().t_s == 1.0 and tracker.status == "tracking"
    assert tracker.latest().tools["needle"].device_t_s == pytest.approx(10 / 250)
    assert tracker.ingest(ndi.encode_reply("ERROR12"), t_s=1.1) == 0
    assert tracker.status == "error" and tracker.last_error.code == 0x12
    assert "TX 0001 failed: ERROR12 (unable to start tracking)" in tracker.status_message
    assert tracker.ingest(b"garbage\r" + tx[:-2] + b"00\r", t_s=1.2) == 0
    assert tracker.frames_dropped == 2 and tracker.replies_malformed == 0
    assert tracker.ingest(ndi.encode_reply("OKAY"), t_s=1.3) == 0
    assert tracker.replies_malformed == 1  # CRC fine, not a TX reply
    bx = _one_second_of_replies(250, "bx")[20]
    assert tracker.ingest(bx + tx, t_s=1.4) == 2 and tracker.status == "tracking"
    assert tracker.replies_tracked == 3 and len(tracker) == 3
