"""The DIY serial protocol: CRC, frames, and the tracker against its emulator over pty/socket."""

from __future__ import annotations

import argparse
import io
import json
import time

import numpy as np
import pytest

from hardware.commands import run_emulate, run_tracker
from hardware.diy_emulator import DiyEmulator
from hardware.diy_protocol import (
    MAX_PAYLOAD,
    Buttons,
    Decoder,
    Depth,
    DeviceError,
    Frame,
    Heartbeat,
    Identity,
    Orientation,
    Pose,
    RequestIdentity,
    ToolInfo,
    crc16_ccitt_false,
    encode,
    encode_frame,
)
from hardware.diy_tracker import DiyTracker
from hardware.motion import plausible_path
from hardware.rotations import matrix_to_quat
from hardware.tracker import TrackerStatus
from tests.hw_helpers import stream_memory, wait_for

Q = (0.5, 0.5, -0.5, 0.5)


def assert_poses_match_path(tracker: DiyTracker, n_min: int) -> int:
    """Every buffered pose equals plausible_path(device time) within float32 precision."""
    samples, _ = tracker.samples_since(0)
    checked = 0
    for sample in samples:
        for name, tool in sample.tools.items():
            if tool.pose2tracker is None or tool.stale:
                continue
            expected = plausible_path(tool.device_t_s)[name]
            np.testing.assert_allclose(tool.pose2tracker[:3, 3], expected[:3, 3], atol=1e-4)
            np.testing.assert_allclose(tool.pose2tracker[:3, :3], expected[:3, :3], atol=1e-6)
            checked += 1
    assert checked >= n_min
    return checked


# --- protocol ---------------------------------------------------------------------------
def test_crc_check_value() -> None:
    assert crc16_ccitt_false(b"123456789") == 0x29B1
    assert crc16_ccitt_false(b"") == 0xFFFF


MESSAGES = [
    Pose((1.5, -2.25, 30.0), Q, 0.75),
    Orientation(Q, 0b11_11_10_01),
    Depth(12.5),
    Buttons(0b1011),
    Identity("rig", "1.2.3", (ToolInfo(0, "probe", "probe", True), ToolInfo(1, "needle", "nd"))),
    Heartbeat(3),
    DeviceError(4, "IMU not found"),
    RequestIdentity(),
]


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: type(m).__name__)
def test_every_message_round_trips(message: object) -> None:
    frame = Frame(message, tool_id=7, seq=65535, t_us=0xFFFFFFFF)  # type: ignore[arg-type]
    data = encode_frame(frame)
    decoder = Decoder()
    assert decoder.feed(data[:5]) == []  # split anywhere: the decoder keeps state
    (decoded,) = decoder.feed(data[5:])
    assert decoded == frame
    assert decoder.stats.frames == 1 and decoder.stats.dropped_frames == 0


def test_documented_example_bytes() -> None:
    """The example frame of PROTOCOL.md, byte for byte."""
    data = encode(Depth(25.0), tool_id=1, seq=2, t_us=1000)
    assert data.hex(" ") == "a5 5a 01 03 01 02 00 e8 03 00 00 04 00 00 c8 41 " + data[-2:].hex(" ")
    assert len(data) == 18
    assert Buttons(0b101).names == {"inject", "aspirate"}
    assert Orientation(Q, 0b10_00_00_00).quality == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    "bad",
    [
        Pose((np.nan, 0.0, 0.0), Q),
        Pose((0.0, 0.0, 0.0), (1.1, 0.0, 0.0, 0.0)),
        Pose((0.0, 0.0, 0.0), Q, quality=1.5),
        Orientation((0.0, 0.0, 0.0, 0.0)),
        Orientation((np.inf, 0.0, 0.0, 0.0)),
        Depth(float("nan")),
        Depth(5000.0),
    ],
)
def test_meaningless_content_is_rejected_even_with_a_good_crc(bad: object) -> None:
    decoder = Decoder()
    good = encode(Depth(3.0), seq=9)
    frames = decoder.feed(encode(bad) + good)  # type: ignore[arg-type]
    assert [f.message for f in frames] == [Depth(3.0)]
    assert decoder.stats.rejected == 1


def test_garbage_truncation_and_corruption_are_dropped_and_resynchronised() -> None:
    a, b, c = (encode(Depth(float(i)), seq=i) for i in (1, 2, 3))
    corrupted = bytearray(b)
    corrupted[14] ^= 0x40
    stream = b"\x00\xa5\x5a\xff junk" + a[:9] + bytes(corrupted) + c + a
    decoder = Decoder()
    frames = [f for i in range(0, len(stream), 3) for f in decoder.feed(stream[i : i + 3])]
    assert [f.message for f in frames] == [Depth(3.0), Depth(1.0)]
    assert decoder.stats.crc_errors + decoder.stats.bad_headers >= 2
    assert decoder.stats.bytes_dropped > 0
    assert len(decoder._buf) < 20  # nothing left but at most a partial sync


def test_an_oversized_length_is_garbage() -> None:
    header = bytes.fromhex("a55a0105000100000000") + bytes([MAX_PAYLOAD + 1])
    decoder = Decoder()
    frames = decoder.feed(header + encode(Heartbeat()))
    assert [f.message for f in frames] == [Heartbeat()]
    assert decoder.stats.bad_headers == 1


# --- end to end -------------------------------------------------------------------------
@pytest.mark.parametrize("transport", ["pty", "socket"])
def test_emulator_to_tracker_end_to_end(transport: str) -> None:
    with DiyEmulator(rate_hz=100, transport=transport) as emulator:
        tracker = DiyTracker(emulator.url)
        with tracker:
            assert wait_for(lambda: tracker.status == "tracking")
            assert wait_for(lambda: len(tracker.tools()) == 2)
            time.sleep(1.2)
            rate = tracker.rate_hz()
            latency = tracker.latency_ms()
            sample = tracker.latest()
    assert 80.0 <= rate <= 120.0, rate
    assert latency is not None and latency < 5.0, latency
    assert tracker.device_info["name"] == "DIY emulator"
    assert {t.name: t.kind for t in tracker.tools()} == {"probe": "probe", "needle": "needle"}
    assert sample is not None and set(sample.tools) == {"probe", "needle"}
    assert sample.missing == ()
    assert sample.tools["needle"].depth_mm is not None
    assert_poses_match_path(tracker, n_min=100)
    assert tracker.decoder_stats.dropped_frames == 0


def test_latency_bytes_to_sample_under_5_ms() -> None:
    with DiyEmulator(rate_hz=200) as emulator, DiyTracker(emulator.url) as tracker:
        assert wait_for(lambda: len(tracker.link.latencies_ms()) >= 200)
        latencies = tracker.link.latencies_ms()
    median = float(np.median(latencies))
    print(f"latency bytes->sample: median {median:.3f} ms, p95 {np.percentile(latencies, 95):.3f}")
    assert median < 5.0


@pytest.mark.parametrize("transport", ["pty", "socket"])
def test_unplug_freezes_the_pose_and_replug_resumes(transport: str) -> None:
    with DiyEmulator(rate_hz=100, transport=transport) as emulator:
        tracker = DiyTracker(emulator.url, reconnect_interval_s=0.1)
        with tracker:
            assert wait_for(lambda: tracker.status == "tracking")
            time.sleep(0.3)
            emulator.unplug()
            assert wait_for(lambda: tracker.status == "disconnected")
            frozen = tracker.latest()
            assert frozen is not None and frozen.stale
            before = frozen.tools["probe"]
            time.sleep(0.4)  # nothing moves while unplugged, nothing crashes
            still = tracker.latest()
            assert still is frozen and tracker.status == TrackerStatus.DISCONNECTED
            assert tracker.link.running
            emulator.replug()
            assert wait_for(lambda: tracker.status == "tracking")
            assert wait_for(lambda: not tracker.latest().stale)
            after = tracker.latest().tools["probe"]
            assert after.device_t_s != before.device_t_s
            assert tracker.link.connections >= 2
    assert_poses_match_path(tracker, n_min=20)


def test_garbage_injection_counts_drops_and_gives_no_false_pose() -> None:
    with DiyEmulator(rate_hz=200, corrupt_fraction=0.2, seed=3) as emulator:
        tracker = DiyTracker(emulator.url, capacity=4096)
        with tracker:
            assert wait_for(lambda: tracker.decoder_stats.frames > 400)
    stats = tracker.decoder_stats
    assert stats.dropped_frames > 20 and stats.bytes_dropped > 0
    assert_poses_match_path(tracker, n_min=200)


def test_orientation_only_probe_uses_the_fixed_landmark() -> None:
    landmark = (10.0, -5.0, 2.0)
    with DiyEmulator(rate_hz=100, orientation_only=True) as emulator:
        tracker = DiyTracker(emulator.url, fixed_position_mm=landmark)
        with tracker:
            assert wait_for(lambda: tracker.latest() is not None and len(tracker.tools()) == 2)
            time.sleep(0.2)
            probe = tracker.latest().tools["probe"]
    assert probe.orientation_only
    assert tracker.tools()[0].orientation_only
    np.testing.assert_allclose(probe.pose2tracker[:3, 3], landmark)
    expected = plausible_path(probe.device_t_s)["probe"]
    np.testing.assert_allclose(probe.pose2tracker[:3, :3], expected[:3, :3], atol=1e-6)


def test_a_silent_tool_is_reported_missing_not_guessed() -> None:
    tracker = DiyTracker("loop://", tool_timeout_s=0.5)
    ident = Identity("rig", "1", (ToolInfo(0, "probe", "probe"), ToolInfo(1, "needle", "needle")))
    tracker.ingest(encode(ident), t_s=0.0)
    tracker.ingest(encode(Pose((0.0, 0.0, 0.0), Q), tool_id=0), t_s=1.0)
    sample = tracker.latest()
    assert set(sample.tools) == {"probe"} and sample.missing == ("needle",)
    tracker.ingest(encode(Pose((1.0, 0.0, 0.0), Q), tool_id=1), t_s=1.2)
    tracker.ingest(encode(Pose((2.0, 0.0, 0.0), Q), tool_id=1), t_s=2.0)
    sample = tracker.latest()
    assert set(sample.tools) == {"needle"} and sample.missing == ("probe",)


def test_ten_minutes_at_250_hz_leaves_memory_flat() -> None:
    """150 000 ticks (450 000 frames: 2 poses and a depth per tick) as fast as possible.

    The bytes are fed in reads of 4 ticks (16 ms, a USB-serial adapter's latency
    timer), each read becoming one tracker sample. Over the whole stream the
    number of allocated blocks must stay flat after a 1-minute warm-up (cheap to
    watch); tracemalloc, which slows allocation about sixfold, watches the last
    minute: after two buffer-capacities of reads (every retained object is then
    a traced one) the traced memory must grow by less than 1 MB.
    """
    rate_hz, minutes, ticks_per_read = 250, 10, 4
    tracker = DiyTracker("loop://", capacity=1024)
    emulator = DiyEmulator(rate_hz=rate_hz)  # used only to encode ticks, never started
    one_second = [emulator.tick_bytes(round(k * 1e6 / rate_hz)) for k in range(rate_hz)]
    reads = [
        b"".join(one_second[k : k + ticks_per_read]) for k in range(0, rate_hz, ticks_per_read)
    ]
    n_reads = rate_hz * 60 * minutes // ticks_per_read

    def feed(start: int, stop: int) -> None:
        for i in range(start, stop):
            tracker.ingest(reads[i % len(reads)], t_s=i * ticks_per_read / rate_hz)

    memory = stream_memory(feed, n_reads, minutes, settle_reads=2 * tracker.capacity)
    print(memory.summary("DIY: 10 min at 250 Hz"))
    assert abs(memory.blocks_growth) < 5000
    assert tracker.decoder_stats.frames >= 3 * rate_hz * 60 * minutes * 0.99
    assert tracker.decoder_stats.dropped_frames == 0
    assert len(tracker) == tracker.capacity == 1024
    assert len(tracker._decoder._buf) < 1000
    _, seq = tracker.samples_since(0)
    assert seq == n_reads
    assert memory.traced_growth_bytes < 1_000_000


# --- command line -----------------------------------------------------------------------
def test_tracker_command_prints_samples_and_rate() -> None:
    with DiyEmulator(rate_hz=100) as emulator:
        out = io.StringIO()
        args = argparse.Namespace(
            url=emulator.url, protocol="diy", baud=None, seconds=1.3, json=True
        )
        assert run_tracker(args, out=out) == 0
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    last = records[-1]
    assert last["status"] == "tracking"
    assert 70 <= last["rate_hz"] <= 130
    assert set(last["tools"]) == {"probe", "needle"}
    assert len(last["tools"]["probe"]["position_mm"]) == 3


def test_tracker_command_text_output_and_user_errors(capsys: pytest.CaptureFixture) -> None:
    with DiyEmulator(rate_hz=100) as emulator:
        out = io.StringIO()
        args = argparse.Namespace(url=emulator.url, protocol="diy", baud=None, seconds=0.8, json=0)
        assert run_tracker(args, out=out) == 0
    text = out.getvalue()
    assert "status: tracking" in text and "probe: pos" in text and " Hz" in text
    bad = argparse.Namespace(url="loop://", protocol="nope", baud=None, seconds=0.1, json=False)
    assert run_tracker(bad) == 2
    assert "tracker protocol 'nope'" in capsys.readouterr().err


def test_emulate_command_prints_the_url_and_the_tracker_command() -> None:
    out = io.StringIO()
    args = argparse.Namespace(protocol="diy", rate=50.0, seconds=0.2, transport="socket")
    assert run_emulate(args, out=out) == 0
    first, second = out.getvalue().splitlines()[:2]
    assert first.startswith("connect to: socket://127.0.0.1:")
    assert second.strip() == f"python main.py tracker --protocol diy --url {first[12:]}"


def test_quaternion_of_the_path_is_unit_and_consistent() -> None:
    pose = plausible_path(3.3)["probe"]
    q = matrix_to_quat(pose)
    assert abs(np.linalg.norm(q) - 1) < 1e-12


def test_add_parsers_defines_tracker_and_emulate() -> None:
    from hardware.commands import add_parsers

    parser = argparse.ArgumentParser()
    add_parsers(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["tracker", "--url", "socket://h:1", "--protocol", "ndi", "--json"])
    assert (args.command, args.url, args.protocol, args.json, args.seconds) == (
        "tracker",
        "socket://h:1",
        "ndi",
        True,
        None,
    )
    args = parser.parse_args(["emulate", "--rate", "250"])
    assert (args.protocol, args.rate, args.transport) == ("diy", 250.0, None)
