"""NDI combined API: CRC, TX/BX parsing, and NdiEmulator <-> NdiTracker over a real pty pair."""

from __future__ import annotations

import time

import numpy as np
import pytest

from hardware import ndi_protocol as ndi
from hardware.motion import plausible_path
from hardware.ndi_emulator import NdiEmulator
from hardware.ndi_tracker import NdiTracker
from hardware.rotations import matrix_to_quat
from tests.hw_helpers import wait_for


def test_crc_matches_published_values():
    assert ndi.crc16(b"123456789") == 0xBB3D  # CRC-16/ARC check value
    # documented replies/commands of the NDI API (as checked by ndicapi)
    assert ndi.encode_reply("OKAY") == b"OKAYA896\r"
    assert ndi.encode_reply("RESET") == b"RESETBE6F\r"
    assert ndi.encode_command("INIT") == b"INIT:E3A5\r"
    assert ndi.encode_command("TX", "0001", with_crc=False) == b"TX 0001\r"
    # running CRC over pieces equals the CRC of the whole
    assert ndi.crc16(b"6789", ndi.crc16(b"12345")) == 0xBB3D


def test_parse_command_checks_crc():
    good = ndi.parse_command(ndi.encode_command("PENA", "0AD")[:-1])
    assert good == ndi.ParsedCommand("PENA", "0AD", True)
    assert ndi.parse_command(b"PENA:0AD0000").crc_ok is False
    assert ndi.parse_command(b"tstart ") == ndi.ParsedCommand("TSTART", "", True)


HAND_BUILT_TX = (
    "03"
    "0A+05000-05000+05000+05000+012345-000067+100000+0012300000031000000AB\n"
    "0BMISSING000000110000002A\n"
    "0CDISABLED\n"
    "0001"
)


def test_tx_reply_parse_exact_numbers():
    reply = ndi.parse_tx(HAND_BUILT_TX)
    a, b, c = reply.handles
    assert a.handle == "0A" and a.state == "ok"
    assert a.quaternion == (0.5, -0.5, 0.5, 0.5)
    assert a.translation_mm == (123.45, -0.67, 1000.0)
    assert a.error_rms_mm == 0.0123
    assert (a.port_status, a.frame_number) == (0x31, 0xAB)
    assert b.state == "missing" and b.pose2tracker() is None
    assert (b.port_status, b.frame_number) == (0x11, 0x2A)
    assert c.state == "disabled"
    assert reply.system_status == 1
    pose = a.pose2tracker()
    np.testing.assert_allclose(pose[:3, 3], [123.45, -0.67, 1000.0])
    np.testing.assert_allclose(pose[:3, :3] @ pose[:3, :3].T, np.eye(3), atol=1e-12)
    # round trip through the emulator's formatter gives the same text
    assert ndi.format_tx(reply.handles, 1) == HAND_BUILT_TX


def test_bx_round_trip_and_framing_with_garbage():
    handles = ndi.parse_tx(HAND_BUILT_TX).handles
    body = ndi.format_bx(handles, 7)
    parsed = ndi.parse_bx(body)
    assert parsed.binary and parsed.system_status == 7
    np.testing.assert_allclose(parsed.handles[0].translation_mm, (123.45, -0.67, 1000.0), 1e-6)
    assert [h.state for h in parsed.handles] == ["ok", "missing", "disabled"]
    stream = (
        b"\x00garbage\r"
        + ndi.encode_reply(HAND_BUILT_TX)
        + b"zz"
        + ndi.encode_bx_reply(body)
        + b"OKAY0000\r"  # bad CRC: dropped
        + ndi.encode_reply("ERROR0C")
    )
    framer = ndi.ReplyFramer()
    frames = []
    for i in range(0, len(stream), 5):  # arbitrary chunking
        frames += framer.feed(stream[i : i + 5])
    assert [f.text for f in frames] == [HAND_BUILT_TX, None, "ERROR0C"]
    assert frames[1].binary == body
    err = ndi.parse_error(frames[2].text)
    assert err.code == 0x0C and "current operating mode" in str(err)


def test_tx_parse_rejects_malformed():
    for bad in (HAND_BUILT_TX[:-1], HAND_BUILT_TX + "0", "01", "020A+0500"):
        with pytest.raises(ndi.NdiReplyError):
            ndi.parse_tx(bad)


def test_comm_params():
    assert ndi.comm_params(115200) == "50000"
    assert ndi.baud_from_comm("50000") == 115200
    with pytest.raises(ValueError, match="115200"):
        ndi.comm_params(12345)


@pytest.fixture
def rig():
    emu = NdiEmulator(rate_hz=60.0)
    url = emu.start()
    tracker = NdiTracker(
        url, tools={"0A": "probe", "0B": "needle"}, rate_hz=100.0, reconnect_interval_s=0.1
    )
    yield emu, tracker
    tracker.close()
    emu.stop()


def _check_poses_match_path(sample):
    truth = plausible_path(sample.tools["probe"].device_t_s)
    for name in ("probe", "needle"):
        tool = sample.tools[name]
        assert tool.visible and tool.pose2tracker is not None
        np.testing.assert_allclose(tool.pose2tracker[:3, 3], truth[name][:3, 3], atol=0.0051)
        q_got, q_true = matrix_to_quat(tool.pose2tracker), matrix_to_quat(truth[name])
        np.testing.assert_allclose(q_got, q_true, atol=1e-4)
        assert tool.error_mm == pytest.approx(0.05)


@pytest.mark.parametrize("reply_format", ["tx", "bx"])
def test_end_to_end_handshake_samples_missing_error(rig, reply_format):
    emu, tracker = rig
    tracker.reply_format = reply_format
    tracker.start()
    assert wait_for(lambda: tracker.status == "tracking"), tracker.status_message
    # handshake: RESET, COMM to 115200 (acknowledged on the pty), INIT, ports, TSTART
    assert emu.commands[:3] == ["RESET", "COMM", "INIT"]
    assert emu.baudrate == 115200
    assert all(s == "enabled" for s in emu.port_state.values())
    assert [t.name for t in tracker.tools()] == ["probe", "needle"]
    assert wait_for(lambda: len(tracker) >= 20)
    samples, _ = tracker.samples_since(0)
    for sample in samples[-10:]:
        _check_poses_match_path(sample)
    assert tracker.rate_hz() > 30.0

    emu.set_missing("needle")
    assert wait_for(lambda: tracker.latest().missing == ("needle",))
    needle = tracker.latest().tools["needle"]
    assert needle.visible is False and needle.pose2tracker is None
    assert tracker.latest().tools["probe"].visible
    emu.set_missing("needle", False)
    assert wait_for(lambda: tracker.latest().missing == ())

    emu.set_error(0x12, "TX" if reply_format == "tx" else "BX")
    assert wait_for(lambda: tracker.status == "error")
    assert "ERROR12" in tracker.status_message and "unable to start tracking" in (
        tracker.status_message
    )
    assert tracker.last_error.code == 0x12
    emu.set_error(None, "TX" if reply_format == "tx" else "BX")
    assert wait_for(lambda: tracker.status == "tracking")


def test_unplug_freezes_then_replug_resumes(rig):
    emu, tracker = rig
    tracker.start()
    assert wait_for(lambda: tracker.status == "tracking" and len(tracker) > 5)
    emu.unplug()
    assert wait_for(lambda: tracker.status == "disconnected")
    last = tracker.latest()
    assert last.stale and last.tools["probe"].pose2tracker is not None  # frozen, not lost
    time.sleep(0.3)
    assert tracker.status == "disconnected" and tracker.latest() is last
    emu.replug()
    assert wait_for(lambda: tracker.status == "tracking")
    assert wait_for(lambda: not tracker.latest().stale)
    assert tracker.connections == 2
    _check_poses_match_path(tracker.latest())


def test_handshake_error_is_reported_with_its_code():
    emu = NdiEmulator()
    url = emu.start()
    emu.set_error(0x15, "INIT")
    tracker = NdiTracker(url, reconnect_interval_s=0.1)
    try:
        tracker.start()
        assert wait_for(lambda: tracker.status == "error")
        assert "INIT failed: ERROR15 (unable to initialize the system)" in tracker.status_message
        emu.set_error(None, "INIT")
        assert wait_for(lambda: tracker.status == "tracking")
        # auto-naming: enabled handles in order
        assert tracker.handle_names == {"0A": "probe", "0B": "needle"}
    finally:
        tracker.close()
        emu.stop()


def test_emulator_answers_errors_for_bad_commands():
    emu = NdiEmulator()
    assert emu._answer(b"BOGUS ") == ndi.encode_reply("ERROR01")
    assert emu._answer(b"INIT:0000") == ndi.encode_reply("ERROR04")
    assert emu._answer(b"TX 0001") == ndi.encode_reply("ERROR0C")  # not tracking
    assert emu._answer(ndi.encode_command("RESET", "0")[:-1]) == b"RESETBE6F\r"
