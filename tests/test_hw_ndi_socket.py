"""NDI emulator over a TCP socket (``socket://127.0.0.1:PORT``) and ``emulate --protocol ndi``."""

from __future__ import annotations

import argparse
import io

import numpy as np
import pytest

from hardware.commands import add_parsers, run_emulate
from hardware.motion import plausible_path
from hardware.ndi_emulator import NdiEmulator
from hardware.ndi_tracker import NdiTracker
from hardware.rotations import matrix_to_quat
from tests.hw_helpers import wait_for


@pytest.mark.parametrize("reply_format", ["tx", "bx"])
def test_tracker_over_a_socket_end_to_end(reply_format: str) -> None:
    emu = NdiEmulator(rate_hz=60.0, transport="socket")
    url = emu.start()
    assert url == f"socket://127.0.0.1:{emu.port}" and emu.port > 0
    tracker = NdiTracker(url, rate_hz=100.0, reply_format=reply_format, reconnect_interval_s=0.1)
    try:
        tracker.start()
        assert wait_for(lambda: tracker.status == "tracking" and len(tracker) >= 20), (
            tracker.status_message
        )
        # COMM to 115200 is acknowledged even though a socket has no baud rate
        assert emu.commands[:3] == ["RESET", "COMM", "INIT"] and emu.baudrate == 115200
        assert tracker.connections == 1 and emu.connections == 1
        samples, _ = tracker.samples_since(0)
        for sample in samples[-10:]:
            truth = plausible_path(sample.tools["probe"].device_t_s)
            for name in ("probe", "needle"):
                pose = sample.tools[name].pose2tracker
                np.testing.assert_allclose(pose[:3, 3], truth[name][:3, 3], atol=0.0051)
                np.testing.assert_allclose(
                    matrix_to_quat(pose), matrix_to_quat(truth[name]), atol=1e-4
                )
        assert tracker.rate_hz() > 30.0
        assert tracker.frames_dropped == 0 and tracker.replies_malformed == 0
        # pulling the (network) cable freezes the pose; plugging back resumes on the same URL
        emu.unplug()
        assert wait_for(lambda: tracker.status == "disconnected")
        assert tracker.latest().stale
        emu.replug()
        assert emu.url == url
        assert wait_for(lambda: tracker.status == "tracking" and not tracker.latest().stale)
        assert tracker.connections == 2
    finally:
        tracker.close()
        emu.stop()


def test_emulate_command_offers_the_socket_for_ndi() -> None:
    parser = argparse.ArgumentParser()
    add_parsers(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        ["emulate", "--protocol", "ndi", "--transport", "socket", "--seconds", "0.2"]
    )
    out = io.StringIO()
    assert run_emulate(args, out=out) == 0
    first, second = out.getvalue().splitlines()[:2]
    assert first.startswith("connect to: socket://127.0.0.1:")
    assert second.strip() == f"python main.py tracker --protocol ndi --url {first[12:]}"
    args = parser.parse_args(
        ["emulate", "--protocol", "ndi", "--passive", "needle", "--seconds", "0.1"]
    )
    out = io.StringIO()
    assert run_emulate(args, out=out) == 0
    assert "passive tool needle: add --rom needle=FILE" in out.getvalue()


def test_emulate_command_refuses_options_a_protocol_lacks(capsys) -> None:
    args = argparse.Namespace(protocol="diy", rate=50.0, seconds=0.1, transport=None)
    args.passive = ["needle"]
    assert run_emulate(args) == 2
    assert "--passive: the 'diy' emulator has no such choice" in capsys.readouterr().err
    with pytest.raises(ValueError, match="transport 'usb'"):
        NdiEmulator(transport="usb")
