"""OpenIGTLink: IgtlEmulator (pyigtl server) <-> IgtlTracker over a local socket, and sans-IO."""

from __future__ import annotations

import socket
import threading
import time

import numpy as np
import pyigtl
import pytest

from hardware.igtl_emulator import IgtlEmulator, free_port
from hardware.igtl_tracker import (
    IgtlProtocolError,
    IgtlStreamDecoder,
    IgtlTracker,
    parse_igtl_url,
)
from hardware.motion import plausible_path
from tests.hw_helpers import stream_memory, wait_for


def _transform(device: str, t_s: float, status: str | None = None) -> pyigtl.TransformMessage:
    pose = np.eye(4)
    pose[:3, 3] = (t_s, 2.0 * t_s, -t_s)
    message = pyigtl.TransformMessage(pose, timestamp=t_s, device_name=device)
    if status is not None:
        message.header_version = 2
        message.metadata = {"TransformStatus": status}
    return message


def test_parse_url():
    assert parse_igtl_url("igtl://127.0.0.1:18945") == ("127.0.0.1", 18945)
    assert parse_igtl_url("igtl://localhost") == ("localhost", 18944)
    with pytest.raises(ValueError, match="igtl://HOST:PORT"):
        parse_igtl_url("socket://localhost:1")
    with pytest.raises(ValueError, match="reconnect_interval_s = 0"):
        IgtlTracker("igtl://localhost", reconnect_interval_s=0)


# --- decoder (sans-IO) ------------------------------------------------------------------
def test_decoder_any_split_skips_other_types_and_drops_bad_crc():
    image = pyigtl.ImageMessage(np.zeros((1, 40, 50), np.uint8), device_name="Video").pack()
    stream = b"".join(
        [
            _transform("ProbeToTracker", 1.0).pack(),
            image,
            _transform("NeedleToTracker", 2.0, status="INVALID").pack(),
        ]
    )
    for step in (1, 7, 58, 59, 1000):
        decoder = IgtlStreamDecoder()
        messages = []
        for k in range(0, len(stream), step):
            messages += decoder.feed(stream[k : k + step])
        assert [m.device_name for m in messages] == ["ProbeToTracker", "NeedleToTracker"]
        assert messages[1].metadata == {"TransformStatus": "INVALID"}
        np.testing.assert_allclose(messages[0].matrix[:3, 3], [1.0, 2.0, -1.0])
        assert decoder.stats.skipped == 1 and decoder.stats.messages == 2
        assert len(decoder._buf) == 0 and decoder._skip_bytes == 0

    corrupted = bytearray(_transform("ProbeToTracker", 1.0).pack())
    corrupted[-1] ^= 0x40
    decoder = IgtlStreamDecoder()
    assert (
        decoder.feed(bytes(corrupted) + _transform("ProbeToTracker", 3.0).pack())[0].timestamp == 3
    )
    assert decoder.stats.crc_errors == 1

    with pytest.raises(IgtlProtocolError, match="header version 18516: expected 1 or 2"):
        IgtlStreamDecoder().feed(b"HTTP/1.1 200 OK\r\n" + b"x" * 60)


def test_ingest_messages_reports_device_status_and_timeouts_not_guesses():
    tracker = IgtlTracker("igtl://127.0.0.1:1", missing_after_s=0.5)
    assert tracker.ingest_messages([_transform("ProbeToTracker", 0.0)], t_s=10.0)
    sample = tracker.latest()
    assert set(sample.tools) == {"probe"} and sample.missing == ("needle",)
    np.testing.assert_allclose(sample.tools["probe"].pose2tracker, np.eye(4))
    assert tracker.status == "tracking"

    assert not tracker.ingest_messages([_transform("OtherTool", 0.0)], t_s=10.1)
    tracker.ingest_messages(
        [_transform("ProbeToTracker", 0.2), _transform("NeedleToTracker", 0.2, "INVALID")],
        t_s=10.2,
    )
    sample = tracker.latest()
    assert sample.missing == ("needle",)  # the device says not visible
    assert not sample.tools["needle"].visible and sample.tools["needle"].pose2tracker is None

    assert not tracker.check_missing(10.69)  # probe heard 0.49 s ago: nothing new
    assert tracker.check_missing(10.71)
    assert tracker.latest().missing == ("needle", "probe") and tracker.latest().tools == {}
    assert not tracker.check_missing(11.0)  # published once, not every tick
    assert tracker.status == "tracking" and "no pose" in tracker.status_message


# --- over a real socket -----------------------------------------------------------------
def test_end_to_end_poses_missing_device_and_status():
    emu = IgtlEmulator(rate_hz=100.0)
    url = emu.start()
    tracker = IgtlTracker(url, missing_after_s=0.5)
    try:
        tracker.start()
        assert wait_for(lambda: tracker.status == "tracking"), tracker.status_message
        assert wait_for(lambda: len(tracker) > 30)
        sample = tracker.latest()
        assert sample.missing == ()
        for name in ("probe", "needle"):
            tool = sample.tools[name]
            truth = plausible_path(tool.device_t_s)[name]
            np.testing.assert_allclose(tool.pose2tracker, truth, atol=1e-4)  # float32 on the wire
        assert tracker.rate_hz() > 50.0
        assert [t.name for t in tracker.tools()] == ["probe", "needle"]

        emu.set_missing("needle")
        t_missing = time.monotonic()
        assert wait_for(lambda: tracker.latest().missing == ("needle",))
        assert time.monotonic() - t_missing >= 0.45  # not before the 0.5 s timeout
        assert "needle" not in tracker.latest().tools and tracker.latest().tools["probe"].visible
        emu.set_missing("needle", report=True)  # PLUS v3: sent, with TransformStatus INVALID
        assert wait_for(lambda: "needle" in tracker.latest().tools)
        assert tracker.latest().missing == ("needle",)
        assert not tracker.latest().tools["needle"].visible
        emu.set_missing("needle", False)
        assert wait_for(lambda: tracker.latest().missing == ())
        assert tracker.connections == 1 and tracker.decoder_stats.crc_errors == 0
    finally:
        tracker.close()
        emu.stop()


def test_silent_server_is_connected_stopped_server_is_disconnected_restart_resumes():
    emu = IgtlEmulator(rate_hz=100.0)
    url = emu.start()
    tracker = IgtlTracker(url, missing_after_s=0.3, reconnect_interval_s=0.2)
    try:
        tracker.start()
        assert wait_for(lambda: tracker.latest() is not None and tracker.latest().missing == ())

        # (a) connected, nothing sent: tools missing after their timeout, link still up
        emu.pause()
        t_pause = time.monotonic()
        assert wait_for(lambda: tracker.latest().missing == ("needle", "probe"))
        assert time.monotonic() - t_pause >= 0.25
        time.sleep(1.5)  # far longer than any timeout: silence is not a disconnection
        assert tracker.status == "tracking", tracker.status_message
        assert tracker.latest().tools == {} and tracker.connections == 1
        emu.resume()
        assert wait_for(lambda: tracker.latest().missing == ())
        assert tracker.connections == 1

        # (b) server stopped: disconnected within a bounded time, pose frozen
        before = tracker.latest()
        emu.unplug()
        t_unplug = time.monotonic()
        assert wait_for(lambda: tracker.status == "disconnected", timeout_s=2.0)
        assert time.monotonic() - t_unplug < 0.5
        frozen = tracker.latest()
        assert frozen.stale and set(frozen.tools) == {"probe", "needle"}
        assert frozen.tools["probe"].t_s >= before.tools["probe"].t_s
        time.sleep(0.5)  # refused reconnection attempts keep the frozen pose
        assert tracker.latest() is frozen and tracker.status == "disconnected"

        # (c) restarted on the same port: samples resume
        emu.replug()
        t_replug = time.monotonic()
        assert wait_for(lambda: not tracker.latest().stale and tracker.latest().missing == ())
        assert time.monotonic() - t_replug < 1.5
        assert tracker.status == "tracking" and tracker.connections == 2
    finally:
        tracker.close()
        emu.stop()


def test_server_down_at_start_then_up_and_no_connection_flood():
    """A server that accepts then closes at once is retried every reconnect_interval_s."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    accepted = []

    def accept_and_close() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted.append(time.monotonic())
            conn.close()

    thread = threading.Thread(target=accept_and_close, daemon=True)
    thread.start()
    tracker = IgtlTracker(f"igtl://127.0.0.1:{port}", reconnect_interval_s=0.2)
    try:
        tracker.start()
        time.sleep(1.0)
        assert tracker.status == "disconnected"
        assert "closed the connection" in tracker.status_message
        assert 3 <= len(accepted) <= 7  # ~5 in 1 s, not a busy loop
        assert tracker.latest() is None  # nothing guessed
    finally:
        tracker.close()
        listener.close()

    port = free_port()
    tracker = IgtlTracker(f"igtl://127.0.0.1:{port}", reconnect_interval_s=0.1)
    emu = IgtlEmulator(rate_hz=100.0, port=port)
    try:
        tracker.start()
        assert wait_for(lambda: tracker.status == "disconnected", timeout_s=2.0)
        assert "cannot connect" in tracker.status_message
        emu.start()
        assert wait_for(lambda: tracker.latest() is not None and tracker.latest().missing == ())
        assert tracker.status == "tracking"
    finally:
        tracker.close()
        emu.stop()


def test_non_igtl_server_is_an_error_with_the_reason():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]

    def talk_http() -> None:
        conn, _ = listener.accept()
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\n" * 4)
        time.sleep(1.0)
        conn.close()

    threading.Thread(target=talk_http, daemon=True).start()
    tracker = IgtlTracker(f"igtl://127.0.0.1:{port}", reconnect_interval_s=5.0)
    try:
        tracker.start()
        assert wait_for(lambda: tracker.status == "error", timeout_s=2.0)
        assert "header version" in tracker.status_message
    finally:
        tracker.close()
        listener.close()


# --- memory -----------------------------------------------------------------------------
def test_ten_minutes_at_250_hz_leaves_memory_flat() -> None:
    """150 000 ticks (300 000 TRANSFORM messages: probe and needle) as fast as possible.

    Each tick's two messages are fed as one socket read through :meth:`IgtlTracker.ingest`,
    the receiving thread's path (bytes -> decoder -> pyigtl TransformMessage objects ->
    :meth:`IgtlTracker.ingest_messages` -> one sample). Allocated blocks must stay flat
    after a 1-minute warm-up; tracemalloc watches the last minute (after two buffer
    capacities, when every retained object is a traced one): growth < 1 MB.
    """
    rate_hz, minutes = 250, 10
    tracker = IgtlTracker("igtl://127.0.0.1:1", capacity=1024)
    one_second = [
        _transform("ProbeToTracker", k / rate_hz).pack()
        + _transform("NeedleToTracker", k / rate_hz).pack()
        for k in range(rate_hz)
    ]
    n_ticks = rate_hz * 60 * minutes

    def feed(start: int, stop: int) -> None:
        for i in range(start, stop):
            tracker.ingest(one_second[i % rate_hz], t_s=i / rate_hz)

    memory = stream_memory(feed, n_ticks, minutes, settle_reads=2 * tracker.capacity)
    print(memory.summary("OpenIGTLink: 10 min at 250 Hz"))
    assert abs(memory.blocks_growth) < 5000
    assert tracker.decoder_stats.messages == 2 * n_ticks
    assert tracker.decoder_stats.crc_errors == tracker.decoder_stats.malformed == 0
    assert len(tracker) == tracker.capacity == 1024
    assert len(tracker._decoder._buf) == 0
    _, seq = tracker.samples_since(0)
    assert seq == n_ticks
    last = tracker.latest()
    assert last.missing == () and last.tools["needle"].device_t_s == pytest.approx(249 / 250)
    assert memory.traced_growth_bytes < 1_000_000
