"""NDI passive (wireless) Polaris tools: PHRQ + PVWR of a .rom file, then PINIT/PENA."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import numpy as np
import pytest

from hardware import ndi_protocol as ndi
from hardware.commands import run_tracker
from hardware.motion import plausible_path
from hardware.ndi_emulator import NdiEmulator
from hardware.ndi_tracker import NdiTracker, RomFileError, parse_rom_option
from hardware.rotations import matrix_to_quat
from tests.hw_helpers import wait_for


def _rom(tmp_path: Path, n_bytes: int = 150, name: str = "needle.rom") -> Path:
    """A small stand-in tool definition file: 'NDI' magic then counting bytes."""
    path = tmp_path / name
    path.write_bytes((b"NDI\0" + bytes(i % 256 for i in range(n_bytes)))[:n_bytes])
    return path


def _ready_emulator(**options) -> NdiEmulator:
    emu = NdiEmulator(**options)
    assert emu._answer(ndi.encode_command("INIT")[:-1]) == ndi.encode_reply("OKAY")
    return emu


def _ask(emu: NdiEmulator, name: str, params: str = "") -> str:
    frames = ndi.ReplyFramer().feed(emu._answer(ndi.encode_command(name, params)[:-1]))
    assert len(frames) == 1 and frames[0].text is not None
    return frames[0].text


# --- protocol -------------------------------------------------------------------------
def test_pvwr_params_chunk_a_rom_in_64_byte_hex_pieces() -> None:
    srom = bytes(range(150))
    chunks = ndi.pvwr_params("01", srom)
    assert [address for address, _ in chunks] == [0x0000, 0x0040, 0x0080]
    assert [p[:6] for _, p in chunks] == ["010000", "010040", "010080"]
    assert all(len(p) == 2 + 4 + 128 for _, p in chunks)
    assert chunks[1][1][6:8] == "40"  # byte 64, upper-case hex
    assert chunks[2][1].endswith("00" * (192 - 150))  # last chunk padded with zeros
    parsed = [ndi.parse_pvwr(p) for _, p in chunks]
    assert b"".join(c.data for c in parsed)[:150] == srom
    assert [(c.handle, c.address) for c in parsed] == [("01", 0), ("01", 64), ("01", 128)]
    # the wire form: colon, CRC, CR
    wire = ndi.encode_command("PVWR", chunks[0][1])
    assert wire.startswith(b"PVWR:010000000102") and wire.endswith(b"\r")
    assert wire[-5:-1].decode() == ndi.crc_hex("PVWR:" + chunks[0][1])
    with pytest.raises(ValueError, match="at most 1024"):
        ndi.pvwr_params("01", bytes(1025))
    with pytest.raises(ValueError, match="empty"):
        ndi.pvwr_params("01", b"")
    assert ndi.parse_phrq("0a") == "0A"
    with pytest.raises(ndi.NdiReplyError):
        ndi.parse_phrq("ERROR")


def test_emulator_checks_phrq_and_pvwr() -> None:
    emu = NdiEmulator(passive_tools=["needle"], srom_capacity_bytes=128)
    assert emu.handles == {"0A": "probe"}  # needle is served as a passive tool
    assert _ask(emu, "PHRQ", ndi.PHRQ_WIRELESS) == "ERROR10"  # before INIT
    assert _ask(emu, "INIT") == "OKAY"
    assert _ask(emu, "PHRQ", "*1") == "ERROR07"
    assert _ask(emu, "PHRQ", ndi.PHRQ_WIRELESS) == "01"
    assert _ask(emu, "PINIT", "01") == "ERROR0D"  # no tool definition yet
    chunk = [p for _, p in ndi.pvwr_params("01", bytes(range(128)))]
    assert _ask(emu, "PVWR", chunk[1]) == "ERROR23"  # must start at 0x0000
    assert _ask(emu, "PVWR", "02" + chunk[0][2:]) == "ERROR2B"  # handle not from PHRQ
    assert _ask(emu, "PVWR", chunk[0][:-2]) == "ERROR07"  # short payload
    assert _ask(emu, "PVWR", chunk[0][:-2] + "ZZ") == "ERROR1F"  # not hex
    assert _ask(emu, "PVWR", "010010" + chunk[0][6:]) == "ERROR23"  # not a 64-byte boundary
    assert _ask(emu, "PVWR", chunk[0]) == "OKAY"
    assert _ask(emu, "PVWR", chunk[0][:2] + "0080" + chunk[0][6:]) == "ERROR23"  # skips 0x40
    assert _ask(emu, "PVWR", chunk[1]) == "OKAY"
    assert emu.sroms["01"] == bytes(range(128))
    assert _ask(emu, "PVWR", "010080" + chunk[0][6:]) == "ERROR23"  # beyond 128 bytes
    assert _ask(emu, "PHSR", "02") == ndi.format_phsr([("01", 0x001), ("0A", 0x001)])
    assert _ask(emu, "PINIT", "01") == "OKAY"
    for _ in range(8):
        _ask(emu, "PHRQ", ndi.PHRQ_WIRELESS)
    assert sorted(emu.passive) == [f"{n:02X}" for n in range(1, 10)]
    assert emu.passive["02"] == "passive_02"  # beyond the configured passive tools
    assert _ask(emu, "PHRQ", ndi.PHRQ_WIRELESS) == "ERROR2D"
    assert "no more port handles" in str(ndi.ErrorReply(0x2D))
    assert _ask(emu, "RESET", "0") == "RESET"
    assert emu.passive == {} and emu.sroms == {}  # a reset forgets tool definitions


# --- tracker configuration --------------------------------------------------------------
def test_rom_files_are_read_and_checked_up_front(tmp_path: Path) -> None:
    rom = _rom(tmp_path)
    tracker = NdiTracker("loop://", roms=[rom, ("pointer", str(rom))])
    assert [(t.name, t.path, len(t.srom)) for t in tracker.passive_tools] == [
        (None, rom, 150),
        ("pointer", rom, 150),
    ]
    missing = tmp_path / "nope.rom"
    with pytest.raises(RomFileError, match=f"tool definition file {missing}: cannot read"):
        NdiTracker("loop://", roms=[missing])
    big = _rom(tmp_path, 1100, "big.rom")
    with pytest.raises(RomFileError, match=r"big.rom: 1100 bytes, expected 1 to 1024"):
        NdiTracker("loop://", roms=[big])
    assert parse_rom_option("needle=tools/n.rom") == ("needle", "tools/n.rom")
    assert parse_rom_option("tools/n.rom") == (None, "tools/n.rom")
    odd = tmp_path / "a=b.rom"
    odd.write_bytes(b"NDI")
    assert parse_rom_option(str(odd)) == (None, str(odd))  # an existing file wins


def test_passive_tools_are_named_by_config_file_or_order(tmp_path: Path) -> None:
    rom = _rom(tmp_path)
    tracker = NdiTracker("loop://", tools={"0A": "probe"}, roms=[rom])
    tracker.passive_handles = {"01": tracker.passive_tools[0]}
    tracker.enabled_handles = ["01", "0A"]
    tracker._name_handles()
    assert tracker.handle_names == {"0A": "probe", "01": "needle"}  # the file's stem
    auto = NdiTracker("loop://", roms=[("needle", rom), rom])
    auto.passive_handles = dict(zip(["01", "02"], auto.passive_tools, strict=True))
    auto.enabled_handles = ["01", "02", "0A", "0B"]
    auto._name_handles()
    assert auto.handle_names == {"01": "needle", "02": "probe", "0A": "tool_0A", "0B": "tool_0B"}


# --- end to end through the pty -------------------------------------------------------
def test_passive_tool_end_to_end_through_the_pty(tmp_path: Path) -> None:
    rom = _rom(tmp_path)
    emu = NdiEmulator(passive_tools=["needle"])  # probe wired on 0A, needle passive
    url = emu.start()
    tracker = NdiTracker(url, roms=[("needle", rom)], rate_hz=100.0, reconnect_interval_s=0.1)
    try:
        tracker.start()
        assert wait_for(lambda: tracker.status == "tracking" and len(tracker) >= 10), (
            tracker.status_message
        )
        assert tracker.handle_names == {"01": "needle", "0A": "probe"}
        assert [t.handle for t in tracker.tools()] == ["01", "0A"]
        assert emu.sroms["01"] == rom.read_bytes() + bytes(192 - 150)
        assert emu.port_state == {"0A": "enabled", "01": "enabled"}
        handshake = emu.commands[: emu.commands.index("TSTART")]
        assert handshake.count("PHRQ") == 1 and handshake.count("PVWR") == 3
        assert handshake.index("PVWR") < handshake.index("PINIT")
        sample = tracker.latest()
        assert sample.missing == ()
        truth = plausible_path(sample.tools["needle"].device_t_s)
        for name in ("probe", "needle"):
            pose = sample.tools[name].pose2tracker
            np.testing.assert_allclose(pose[:3, 3], truth[name][:3, 3], atol=0.0051)
            np.testing.assert_allclose(matrix_to_quat(pose), matrix_to_quat(truth[name]), atol=1e-4)
        emu.set_missing("needle")
        assert wait_for(lambda: tracker.latest().missing == ("needle",))
        # a power cycle forgets the definition: the next handshake writes it again
        emu.unplug()
        assert wait_for(lambda: tracker.status == "disconnected")
        emu.replug()
        assert wait_for(lambda: tracker.connections == 2 and tracker.status == "tracking")
        assert emu.sroms["01"][:150] == rom.read_bytes()
    finally:
        tracker.close()
        emu.stop()


def test_pvwr_error_names_the_rom_file(tmp_path: Path) -> None:
    rom = _rom(tmp_path, 200, "too_big_for_this_tool.rom")
    emu = NdiEmulator(passive_tools=["needle"], srom_capacity_bytes=128)
    url = emu.start()
    tracker = NdiTracker(url, roms=[("needle", rom)], reconnect_interval_s=0.1)
    try:
        tracker.start()
        assert wait_for(lambda: tracker.status == "error"), tracker.status_message
        message = tracker.status_message
        assert f"tool definition {rom}: PVWR to handle 01 at address 0x0080 failed" in message
        assert "ERROR23 (command parameter out of range)" in message
        assert tracker.last_error.code == 0x23
        assert "Traceback" not in message and "\n" not in message
    finally:
        tracker.close()
        emu.stop()


def test_tracker_command_takes_rom_options(tmp_path: Path, capsys) -> None:
    rom = _rom(tmp_path)
    with NdiEmulator(passive_tools=["needle"], rate_hz=100.0) as emu:
        out = io.StringIO()
        args = argparse.Namespace(
            url=emu.url, protocol="ndi", baud=None, rom=[f"needle={rom}"], seconds=1.5, json=True
        )
        assert run_tracker(args, out=out) == 0
    last = json.loads(out.getvalue().splitlines()[-1])
    assert last["status"] == "tracking" and set(last["tools"]) == {"probe", "needle"}
    bad = argparse.Namespace(
        url="loop://", protocol="ndi", baud=None, rom=[str(tmp_path / "x.rom")], seconds=0.1
    )
    bad.json = False
    assert run_tracker(bad) == 2
    assert f"error: tool definition file {tmp_path / 'x.rom'}: cannot read" in (
        capsys.readouterr().err
    )
    diy = argparse.Namespace(url="loop://", protocol="diy", baud=None, rom=[str(rom)])
    diy.seconds, diy.json = 0.1, False
    assert run_tracker(diy) == 2
    assert "--rom: protocol 'diy' has no passive tools" in capsys.readouterr().err
