"""The DIY reference firmware, compiled for the host on a mock Arduino core and decoded.

The unmodified ``hardware/firmware/diy_tracker/diy_tracker.ino`` is built with
``g++ -std=c++17 -Wall -Wextra -Werror`` against ``hardware/firmware/host`` (a mock
core, Wire and BNO055 library whose sensor values come from a script), run in simulated
time, and its stdout decoded with the project's DIY decoder: every byte must belong to a
valid frame, and the values must be those scripted and documented in PROTOCOL.md.
"""

from __future__ import annotations

import math
import subprocess
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from hardware.diy_protocol import (
    Buttons,
    Decoder,
    Depth,
    DeviceError,
    Frame,
    Heartbeat,
    Identity,
    Orientation,
    RequestIdentity,
    ToolInfo,
    encode,
)
from hardware.diy_tracker import DiyTracker
from hardware.firmware.host_build import (
    EXIT_MISUSE,
    FirmwareBuildError,
    build_host_firmware,
    find_cxx,
    run_host_firmware,
)
from hardware.pty_pair import close_fds, open_pty_at
from hardware.rotations import quat_to_matrix

REQUEST = encode(RequestIdentity())
REQUEST_HEX = REQUEST.hex(" ")
PERIOD_US = 10_000  # 100 Hz
BOOT_US = 90_000  # the mock BNO055's begin() and mode switches take 90 ms of setup()
AVR_PINS = {"depth": "A0", "inject": 2, "freeze": 3, "aspirate": 4, "adc_max": 1023}
ESP32_PINS = {"depth": 34, "inject": 25, "freeze": 26, "aspirate": 27, "adc_max": 4095}
U32 = 1 << 32


@pytest.fixture(scope="module")
def firmware(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The host programs of the sketch: AVR-like board and ESP32 (both compiled here)."""
    if find_cxx() is None:
        pytest.fail(
            "g++ not found: these tests compile the DIY firmware on the host. Install it "
            "(sudo apt-get install g++) or run scripts/test, whose bootstrap installs it as root."
        )
    out = tmp_path_factory.mktemp("firmware")
    return {"avr": build_host_firmware(out), "esp32": build_host_firmware(out, esp32=True)}


def run(firmware: dict[str, Path], script: str, duration_ms: int, board: str = "avr", **kw):
    """Run the sketch; return (frames, decoder, raw bytes) after checking every byte is valid."""
    raw, _ = run_host_firmware(firmware[board], script, duration_ms, **kw)
    decoder = Decoder()
    frames = decoder.feed(raw)
    stats = decoder.stats
    assert (stats.bytes_dropped, stats.crc_errors, stats.bad_headers, stats.rejected) == (
        0,
        0,
        0,
        0,
    ), stats
    assert sum(14 + len(encode_payload_of(f)) for f in frames) == len(raw)
    return frames, decoder, raw


def encode_payload_of(frame: Frame) -> bytes:
    return encode(frame.message)[12:-2]


def of(frames: list[Frame], kind: type) -> list[Frame]:
    return [f for f in frames if isinstance(f.message, kind)]


def unwrap_us(frames: list[Frame]) -> list[int]:
    """Device timestamps made monotonic across the u32 wrap."""
    out, wraps, last = [], 0, None
    for f in frames:
        if last is not None and f.t_us < last and last - f.t_us > U32 // 2:
            wraps += 1
        last = f.t_us
        out.append(wraps * U32 + f.t_us)
    return out


EXPECTED_IDENTITY = Identity(
    "DIY rig BNO055",
    "1.0.0",
    (ToolInfo(0, "probe", "probe", True), ToolInfo(1, "needle", "needle", False)),
)


# --- build ----------------------------------------------------------------------------
def test_sketch_compiles_without_warnings_for_avr_and_esp32(firmware: dict[str, Path]) -> None:
    # the fixture compiled both with -Wall -Wextra -Werror; both run and answer
    for board in ("avr", "esp32"):
        assert firmware[board].is_file()
        frames, _, _ = run(firmware, "", 200, board=board)
        assert isinstance(frames[0].message, Identity)


# --- the stream -----------------------------------------------------------------------
def test_stream_is_valid_periodic_and_sequenced(firmware: dict[str, Path]) -> None:
    frames, decoder, raw = run(firmware, "0 analog A0 300\n", 11_000)
    assert decoder.stats.frames == len(frames) > 2000
    # sequence +1 per frame, one counter for the device
    seqs = [f.seq for f in frames]
    assert seqs == [i & 0xFFFF for i in range(len(frames))]
    # ORIENTATION (tool 0) and DEPTH (tool 1) every 10 ms, from the first tick after setup
    for kind, tool in ((Orientation, 0), (Depth, 1)):
        got = of(frames, kind)
        assert {f.tool_id for f in got} == {tool}
        t = np.array([f.t_us for f in got])
        assert t[0] == BOOT_US
        assert set(np.diff(t).tolist()) == {PERIOD_US}
        assert len(got) == (11_000_000 - BOOT_US) // PERIOD_US
    # HEARTBEAT every second exactly (status 0: all well), device-wide
    beats = of(frames, Heartbeat)
    assert [f.t_us for f in beats] == [BOOT_US + k * 1_000_000 for k in range(11)]
    assert {(f.tool_id, f.message.status) for f in beats} == {(0xFF, 0)}
    # IDENTITY first, then every 5 s
    assert frames[0].message == EXPECTED_IDENTITY and frames[0].tool_id == 0xFF
    assert [f.t_us for f in of(frames, Identity)] == [
        BOOT_US,
        BOOT_US + 5_000_000,
        BOOT_US + 10_000_000,
    ]
    assert not of(frames, DeviceError)
    # 100 Hz of ORIENTATION (31 B) + DEPTH (18 B) fits 115200 baud with room to spare
    assert len(raw) / 11.0 < 0.5 * 115200 / 10


def test_identity_is_as_documented(firmware: dict[str, Path]) -> None:
    frames, _, _ = run(firmware, "", 200)
    (ident,) = of(frames, Identity)
    assert ident.message == EXPECTED_IDENTITY
    # PROTOCOL.md: name <= 40 bytes, IDENTITY payload within 3..128 bytes
    assert len(encode_payload_of(ident)) <= 128
    assert ident.message.tools[0].orientation_only  # an IMU probe: orientation only


# --- values ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("quat", "calib", "byte"),
    [
        ((0.5, 0.5, 0.5, 0.5), (3, 2, 1, 0), 0b11_10_01_00),
        ((math.cos(math.radians(15)), 0.0, 0.0, math.sin(math.radians(15))), (3, 3, 3, 3), 0xFF),
        ((0.0, 1.0, 0.0, 0.0), (1, 3, 3, 0), 0b01_11_11_00),
    ],
)
def test_orientation_is_the_imu_quaternion(
    firmware: dict[str, Path], quat: tuple, calib: tuple, byte: int
) -> None:
    script = f"0 quat {' '.join(map(str, quat))}\n0 calib {' '.join(map(str, calib))}\n"
    frames, _, _ = run(firmware, script, 300)
    got = of(frames, Orientation)
    assert len(got) == 21
    for f in got:
        # the BNO055 gives 14-bit fixed point: within 2^-14 of the scripted value
        np.testing.assert_allclose(f.message.quat_wxyz, quat, atol=1.0 / 16384)
        assert f.message.calibration == byte
        assert f.message.quality == pytest.approx(calib[0] / 3)
        np.testing.assert_allclose(
            quat_to_matrix(f.message.quat_wxyz), quat_to_matrix(quat), atol=3e-4
        )


def test_thirty_degrees_about_z_turns_the_probe_x_axis(firmware: dict[str, Path]) -> None:
    half = math.radians(15)
    frames, _, _ = run(firmware, f"0 quat {math.cos(half)} 0 0 {math.sin(half)}\n", 200)
    r = quat_to_matrix(of(frames, Orientation)[-1].message.quat_wxyz)
    c, s = math.cos(math.radians(30)), math.sin(math.radians(30))
    np.testing.assert_allclose(r @ [1.0, 0.0, 0.0], [c, s, 0.0], atol=2e-4)


@pytest.mark.parametrize("board", ["avr", "esp32"])
@pytest.mark.parametrize("fraction", [0.0, 0.25, 0.5, 1.0])
def test_depth_is_the_slide_travel_from_the_adc(
    firmware: dict[str, Path], board: str, fraction: float
) -> None:
    pins = AVR_PINS if board == "avr" else ESP32_PINS
    adc = round(fraction * pins["adc_max"])
    frames, _, _ = run(firmware, f"0 analog {pins['depth']} {adc}\n", 200, board=board)
    depths = np.array([f.message.depth_mm for f in of(frames, Depth)])
    # WIRING.md: DEPTH_ADC_AT_0 = 0, DEPTH_ADC_AT_FULL = ADC max, 100 mm of travel
    assert len(depths) == 11
    np.testing.assert_allclose(depths, 100.0 * adc / pins["adc_max"], atol=1e-4)
    assert {f.tool_id for f in of(frames, Depth)} == {1}


def test_depth_follows_the_slider(firmware: dict[str, Path]) -> None:
    script = "0 analog A0 0\n500 analog A0 1023\n1000 analog A0 256\n"
    frames, _, _ = run(firmware, script, 1500)
    by_t = {f.t_us: f.message.depth_mm for f in of(frames, Depth)}
    assert by_t[490_000] == 0.0
    assert by_t[500_000] == pytest.approx(100.0)
    assert by_t[1_000_000] == pytest.approx(100.0 * 256 / 1023, abs=1e-4)


# --- buttons --------------------------------------------------------------------------
@pytest.mark.parametrize("board", ["avr", "esp32"])
def test_buttons_pressed_and_released(firmware: dict[str, Path], board: str) -> None:
    p = AVR_PINS if board == "avr" else ESP32_PINS
    script = (
        f"1000 digital {p['inject']} 0\n"  # press inject (to GND)
        f"1500 digital {p['aspirate']} 0\n"
        f"1700 digital {p['inject']} 1\n"
        f"1700 digital {p['aspirate']} 1\n"
        f"2000 digital {p['freeze']} 0\n"
    )
    frames, _, _ = run(firmware, script, 2050, board=board)
    got = [(f.t_us, f.message.mask) for f in of(frames, Buttons)]
    changes = [(t, m) for i, (t, m) in enumerate(got) if i == 0 or m != got[i - 1][1]]
    # debounced: a state counts on its second reading, 10 ms later
    assert changes == [
        (BOOT_US + PERIOD_US, 0),
        (1_010_000, 1),
        (1_510_000, 5),
        (1_710_000, 0),
        (2_010_000, 2),
    ]
    assert {f.tool_id for f in of(frames, Buttons)} == {1}
    mask5 = next(f for f in of(frames, Buttons) if f.message.mask == 5)
    assert mask5.message.names == {"inject", "aspirate"}
    # re-sent with every heartbeat, so a host that missed a change catches up within 1 s
    beat_times = {f.t_us for f in of(frames, Heartbeat)}
    assert beat_times - {BOOT_US} <= {t for t, _ in got}


def test_a_bouncing_button_gives_one_press(firmware: dict[str, Path]) -> None:
    # contact bounce sampled at the 10 ms ticks: down, up, down, then held
    script = "1000 digital 2 0\n1010 digital 2 1\n1020 digital 2 0\n1300 digital 2 1\n"
    frames, _, _ = run(firmware, script, 1080)
    masks = [f.message.mask for f in of(frames, Buttons) if f.t_us >= 1_000_000]
    assert masks == [1]


def test_buttons_held_before_the_host_connects_are_reported(firmware: dict[str, Path]) -> None:
    # inject held from power-up; the host connects at 2 s and sends REQUEST_IDENTITY
    script = f"0 digital 2 0\n0 host off\n2000 host on\n2000 rx {REQUEST_HEX}\n"
    frames, _, _ = run(firmware, script, 2030)
    assert frames[0].t_us == 2_000_000
    held = [f for f in of(frames, Buttons) if f.message.mask == 1]
    assert held and held[0].t_us == 2_000_000


# --- host commands --------------------------------------------------------------------
def test_request_identity_is_answered_at_the_next_tick(firmware: dict[str, Path]) -> None:
    bad_crc = bytearray(REQUEST)
    bad_crc[-1] ^= 0xFF
    truncated = REQUEST[:5]
    script = (
        f"1000 rx {bytes(bad_crc).hex(' ')}\n"  # damaged: ignored
        f"2000 rx 00 a5 a5 {truncated.hex(' ')} {REQUEST_HEX}\n"  # junk, a cut request, a request
        f"3000 rx {REQUEST_HEX} {REQUEST_HEX}\n"  # two at once: one answer is enough
    )
    frames, _, _ = run(firmware, script, 3500)
    times = [f.t_us for f in of(frames, Identity)]
    assert times == [BOOT_US, 2_000_000, 3_000_000]
    assert all(f.message == EXPECTED_IDENTITY for f in of(frames, Identity))


def test_request_identity_after_36_minutes_and_the_micros_wrap(firmware: dict[str, Path]) -> None:
    # micros() passes 2^31 us at 35.8 min and wraps at 71.6 min: requests and ticks go on
    script = (
        "0 host off\n"
        f"2400000 host on\n2400500 rx {REQUEST_HEX}\n2401000 host off\n"
        f"4294900 host on\n4295000 rx {REQUEST_HEX}\n"
    )
    frames, _, _ = run(firmware, script, 4_296_200)
    ident = unwrap_us(frames)
    ident_t = [t for t, f in zip(ident, frames, strict=True) if isinstance(f.message, Identity)]
    assert 2_400_500_000 in ident_t  # answered in the tick of the request
    assert 4_295_000_000 in ident_t  # past the wrap (4_294_967_296 us)
    # after the wrap, 100 Hz, exactly, in the unwrapped device clock
    late = [
        t
        for t, f in zip(ident, frames, strict=True)
        if isinstance(f.message, Depth) and t > 4_294_000_000
    ]
    assert late[0] < U32 < late[-1]
    assert set(np.diff(late).tolist()) == {PERIOD_US}
    beats = [
        t
        for t, f in zip(ident, frames, strict=True)
        if isinstance(f.message, Heartbeat) and t > U32
    ]
    assert beats == [4_295_000_000 + BOOT_US, 4_296_000_000 + BOOT_US]  # still on the 1 s grid


def test_commands_on_stdin_are_read(firmware: dict[str, Path]) -> None:
    """With --realtime, a request written to stdin later is answered at once."""
    proc = subprocess.Popen(
        [str(firmware["avr"]), "--realtime", "--duration-ms", "2500", "--strict"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        time.sleep(0.7)
        assert proc.stdin is not None
        proc.stdin.write(REQUEST)
        proc.stdin.flush()
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    frames = Decoder().feed(out)
    times = [f.t_us for f in of(frames, Identity)]
    # boot identity, then the answer (the next periodic one is due only at 5 s)
    assert len(times) == 2 and times[0] < 300_000 < times[1] < 2_500_000


# --- faults ---------------------------------------------------------------------------
def test_no_quaternion_before_the_imu_fusion_starts(firmware: dict[str, Path]) -> None:
    # the BNO055 reads all zeros for a moment after power-up: nothing the host must reject
    frames, decoder, _ = run(firmware, "0 quat 0 0 0 0\n300 quat 1 0 0 0\n", 500)
    assert decoder.stats.rejected == 0
    got = of(frames, Orientation)
    assert got[0].t_us == 300_000 and len(got) == 20
    assert len(of(frames, Depth)) == 41  # the needle is not held back


def test_missing_imu_is_reported_and_the_needle_still_streams(firmware: dict[str, Path]) -> None:
    frames, _, _ = run(firmware, "0 imu absent\n0 analog A0 1023\n", 3000)
    assert not of(frames, Orientation)
    boot_us = frames[0].t_us  # begin() waited 1 s for the chip
    beats = of(frames, Heartbeat)
    assert [f.message.status for f in beats] == [1, 1]
    errors = of(frames, DeviceError)
    assert [(f.t_us, f.message.code, f.message.text) for f in errors] == [
        (b.t_us, 1, "BNO055 not found on I2C 0x28") for b in beats
    ]
    depth = of(frames, Depth)
    assert len(depth) == (3_000_000 - boot_us) // PERIOD_US
    assert {f.message.depth_mm for f in depth} == {100.0}


def test_ticks_missed_during_a_stall_are_skipped_not_burst(firmware: dict[str, Path]) -> None:
    frames, _, _ = run(firmware, "1000 stall 100\n", 1500)
    t = np.array([f.t_us for f in of(frames, Depth)])
    gaps = np.diff(t)
    assert gaps.min() == PERIOD_US  # never two ticks closer than the period
    assert sorted(set(gaps.tolist())) == [PERIOD_US, 110_000]


# --- end to end -----------------------------------------------------------------------
def test_host_tracker_reads_the_firmware(firmware: dict[str, Path]) -> None:
    half = math.radians(20)
    script = f"0 quat {math.cos(half)} {math.sin(half)} 0 0\n0 analog A0 767\n400 digital 2 0\n"
    _, _, raw = run(firmware, script, 600)
    tracker = DiyTracker("loop://", fixed_position_mm=(1.0, 2.0, 3.0))
    for i in range(0, len(raw), 64):
        tracker.ingest(raw[i : i + 64], t_s=i / len(raw) * 0.6)
    sample = tracker.latest()
    assert sample is not None and not sample.missing
    probe, needle = sample.tools["probe"], sample.tools["needle"]
    assert probe.orientation_only and probe.quality == pytest.approx(1.0)
    np.testing.assert_allclose(probe.pose2tracker[:3, 3], [1.0, 2.0, 3.0])
    c, s = math.cos(2 * half), math.sin(2 * half)
    np.testing.assert_allclose(probe.pose2tracker[:3, :3] @ [0, 1, 0], [0, c, s], atol=2e-4)
    assert needle.depth_mm == pytest.approx(100.0 * 767 / 1023, abs=1e-4)
    assert needle.buttons == {"inject"}
    assert tracker.device_info["firmware"] == "1.0.0"
    assert [t.name for t in tracker.tools()] == ["probe", "needle"]


def test_diy_tracker_over_a_pty_drives_the_firmware(
    firmware: dict[str, Path], tmp_path: Path
) -> None:
    """The real driver on a pseudo-terminal, the firmware running in real time."""
    link = tmp_path / "diy-fw"
    master, slave = open_pty_at(link)
    script = tmp_path / "rig.script"
    script.write_text("0 analog A0 1023\n0 digital 3 0\n")
    proc = subprocess.Popen(
        [str(firmware["avr"]), "--script", str(script), "--realtime", "--duration-ms", "5000"],
        stdin=master,
        stdout=master,
        stderr=subprocess.PIPE,
    )
    tracker = DiyTracker(str(link))
    try:
        tracker.start()
        deadline = time.monotonic() + 4.0
        sample = None
        while time.monotonic() < deadline:
            sample = tracker.latest()
            if sample and "firmware" in tracker.device_info and "needle" in sample.tools:
                if sample.tools["needle"].buttons:
                    break
            time.sleep(0.02)
    finally:
        tracker.stop()
        proc.kill()
        proc.wait(timeout=10)
        close_fds(master, slave)
    assert sample is not None, "no sample from the firmware within 4 s"
    assert tracker.device_info["name"] == "DIY rig BNO055"
    assert sample.tools["needle"].depth_mm == pytest.approx(100.0)
    assert sample.tools["needle"].buttons == {"freeze"}
    assert sample.tools["probe"].orientation_only
    stats = tracker.decoder_stats
    assert (stats.crc_errors, stats.bad_headers, stats.rejected) == (0, 0, 0)


# --- the mock core itself -------------------------------------------------------------
def test_a_bad_script_is_a_clear_error(firmware: dict[str, Path]) -> None:
    with pytest.raises(FirmwareBuildError, match=r"script:2: analog: argument 2 is 'lots'"):
        run_host_firmware(firmware["avr"], "0 quat 1 0 0 0\n10 analog A0 lots\n", 100)
    with pytest.raises(FirmwareBuildError, match="unknown event 'button'"):
        run_host_firmware(firmware["avr"], "0 button 2\n", 100)


def test_the_mock_core_catches_a_sketch_misusing_pins(tmp_path: Path) -> None:
    sketch = tmp_path / "bad" / "bad.ino"
    sketch.parent.mkdir()
    sketch.write_text(
        "void setup() { Serial.begin(115200); }\n"
        "void loop() { uint8_t b = digitalRead(7); Serial.write(&b, 1); }\n"
    )
    exe = build_host_firmware(tmp_path, sketch=sketch)
    with pytest.raises(FirmwareBuildError, match="pin was never set with pinMode") as info:
        run_host_firmware(exe, "", 10)
    assert f"exit {EXIT_MISUSE}" in str(info.value)
    assert Counter(run_host_firmware(exe, "", 10, strict=False)[0]) == {0: 10}
