"""OpenIGTLink: IgtlEmulator (pyigtl server) <-> IgtlTracker over a local socket."""

from __future__ import annotations

import time

import numpy as np
import pytest

from hardware.igtl_emulator import IgtlEmulator
from hardware.igtl_tracker import IgtlTracker, parse_igtl_url
from hardware.motion import plausible_path


def _wait(predicate, timeout_s=5.0):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def test_parse_url():
    assert parse_igtl_url("igtl://127.0.0.1:18945") == ("127.0.0.1", 18945)
    assert parse_igtl_url("igtl://localhost") == ("localhost", 18944)
    with pytest.raises(ValueError, match="igtl://HOST:PORT"):
        parse_igtl_url("socket://localhost:1")


def test_end_to_end_poses_missing_and_server_stop():
    emu = IgtlEmulator(rate_hz=100.0)
    url = emu.start()
    tracker = IgtlTracker(url, missing_after_s=0.5, disconnect_after_s=0.6)
    try:
        tracker.start()
        assert _wait(lambda: tracker.status == "tracking"), tracker.status_message
        assert _wait(lambda: len(tracker) > 30)
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
        assert _wait(lambda: tracker.latest().missing == ("needle",))
        assert time.monotonic() - t_missing >= 0.45  # not before the 0.5 s timeout
        assert "needle" not in tracker.latest().tools and tracker.latest().tools["probe"].visible
        emu.set_missing("needle", False)
        assert _wait(lambda: tracker.latest().missing == ())

        emu.unplug()
        assert _wait(lambda: tracker.status == "disconnected")
        assert tracker.latest().stale
        emu.replug()
        assert _wait(lambda: tracker.status == "tracking", timeout_s=10.0)
        assert _wait(lambda: not tracker.latest().stale)
    finally:
        tracker.close()
        emu.stop()
