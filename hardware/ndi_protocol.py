"""NDI combined serial API (Aurora, Polaris): CRC, command encoding, reply framing and parsing.

Pure functions and a byte-stream framer; no I/O. See ``hardware/NDI.md`` for the subset
of the API covered and how it maps onto tracker samples.

Wire format (as used by NDI's combined API and by ndicapi):

- commands are ASCII ending in CR. The colon form ``"TX:0001" + CRC16 + "\\r"`` carries a CRC
  over everything before it (``"INIT:"`` -> ``"INIT:E3A5\\r"``); the space form
  ``"TX 0001\\r"`` carries none.
- text replies are ``body + CRC16 (4 upper-case hex) + "\\r"``, the CRC over the body
  (``"OKAYA896\\r"``, ``"RESETBE6F\\r"``, ``"ERROR01..."``).
- binary replies (BX) start with 0xA5C4 (little endian), a 2-byte body length, a 2-byte CRC of
  those 4 header bytes, the body and a 2-byte CRC of the body.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field

import numpy as np

from hardware.rotations import pose_from

CR = b"\r"
LF = "\n"
BX_SYNC = b"\xc4\xa5"  # 0xA5C4, little endian
_HEX_BYTES = frozenset(b"0123456789ABCDEFabcdef")
MAX_TEXT_REPLY_BYTES = 4096
MAX_BX_BODY_BYTES = 4096

ERROR_NAMES: dict[int, str] = {
    0x01: "invalid command",
    0x02: "command too long",
    0x03: "command too short",
    0x04: "invalid CRC calculated for command",
    0x05: "time-out on command execution",
    0x06: "unable to set up new communication parameters",
    0x07: "incorrect number of parameters",
    0x08: "invalid port handle selected",
    0x09: "invalid mode selected",
    0x0A: "invalid LED selected",
    0x0B: "invalid LED state selected",
    0x0C: "command is invalid while in the current operating mode",
    0x0D: "no tool is assigned to the selected port handle",
    0x0E: "selected port handle not initialized",
    0x0F: "selected port handle not enabled",
    0x10: "system not initialized",
    0x11: "unable to stop tracking",
    0x12: "unable to start tracking",
    0x13: "unable to initialize the tool",
    0x14: "invalid position sensor characterization parameters",
    0x15: "unable to initialize the system",
    0x16: "unable to start diagnostic mode",
    0x17: "unable to stop diagnostic mode",
    0x19: "unable to read the firmware version",
    0x1A: "internal system error",
    0x1D: "unable to search for SROM IDs",
    0x1E: "unable to read SROM data",
    0x1F: "unable to write SROM data",
    0x20: "unable to select SROM",
    0x23: "command parameter out of range",
    0x28: "too many tools are enabled",
    0x2A: "no memory available for dynamic allocation",
    0x2B: "the requested port handle has not been allocated",
    0x2C: "the requested port handle is unoccupied",
    0x2D: "no more port handles available",
}

#: COMM baud-rate digit -> bits per second.
BAUD_CODES: dict[str, int] = {
    "0": 9600,
    "1": 14400,
    "2": 19200,
    "3": 38400,
    "4": 57600,
    "5": 115200,
    "6": 921600,
    "7": 1228739,
    "A": 230400,
}
DEFAULT_BAUD = 9600

# Port handle status search (PHSR) reply types.
PHSR_ALL = "00"
PHSR_TO_FREE = "01"
PHSR_NOT_INITIALIZED = "02"
PHSR_NOT_ENABLED = "03"
PHSR_ENABLED = "04"


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC_TABLE = _crc_table()


def crc16(data: bytes | str, crc: int = 0) -> int:
    """CRC-16 as the NDI combined API computes it.

    Polynomial 0x8005 reflected (0xA001), initial value 0, no final XOR: CRC-16/ARC
    (table-driven, one lookup per byte). Check values: ``crc16(b"123456789") == 0xBB3D``
    and the documented replies ``"OKAYA896"``, ``"RESETBE6F"`` and command ``"INIT:E3A5"``.

    Parameters
    ----------
    data : bytes or str
        Bytes covered (str is encoded as latin-1).
    crc : int
        Running value, to continue a CRC over several pieces.

    Returns
    -------
    int
        CRC in [0, 0xFFFF].
    """
    if isinstance(data, str):
        data = data.encode("latin-1")
    table = _CRC_TABLE
    for byte in data:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc


def crc_hex(data: bytes | str) -> str:
    """The CRC of ``data`` as 4 upper-case hex digits, as appended on the wire."""
    return f"{crc16(data):04X}"


def encode_command(name: str, params: str = "", with_crc: bool = True) -> bytes:
    """Encode one command.

    Parameters
    ----------
    name : str
        Command name, e.g. ``"TX"``.
    params : str
        Parameter text, e.g. ``"0001"`` (may be empty).
    with_crc : bool
        True: colon form with CRC (``"TX:0001XXXX\\r"``); False: space form (``"TX 0001\\r"``).

    Returns
    -------
    bytes
        The bytes to write.
    """
    if with_crc:
        text = f"{name}:{params}"
        return (text + crc_hex(text) + "\r").encode("ascii")
    return f"{name} {params}\r".encode("ascii")


def encode_reply(body: str) -> bytes:
    """A text reply as the device sends it: body + CRC + CR."""
    return (body + crc_hex(body) + "\r").encode("latin-1")


def encode_bx_reply(body: bytes) -> bytes:
    """A binary reply as the device sends it: header (sync, length, CRC), body, body CRC."""
    header = BX_SYNC + struct.pack("<H", len(body))
    return header + struct.pack("<H", crc16(header)) + body + struct.pack("<H", crc16(body))


@dataclass(frozen=True)
class ParsedCommand:
    """A command as the device received it."""

    name: str
    params: str
    crc_ok: bool  # True for the space form (no CRC) and for a matching CRC


def parse_command(line: bytes) -> ParsedCommand | None:
    """Parse one command line (without its CR); None if it is not text at all."""
    try:
        text = line.decode("ascii")
    except UnicodeDecodeError:
        return None
    text = text.strip("\n")
    if ":" in text:
        name, _, rest = text.partition(":")
        if len(rest) < 4:
            return ParsedCommand(name.upper(), rest, False)
        params, sent = rest[:-4], rest[-4:]
        return ParsedCommand(name.upper(), params, sent.upper() == crc_hex(f"{name}:{params}"))
    name, _, params = text.partition(" ")
    return ParsedCommand(name.upper(), params, True)


# --------------------------------------------------------------------------- framing


@dataclass(frozen=True)
class Frame:
    """One reply whose CRC checked.

    ``text`` is the body of a text reply (CRC and CR removed), or None for a binary reply,
    whose body is in ``binary``.
    """

    text: str | None = None
    binary: bytes | None = None


class ReplyFramer:
    """Split a byte stream into CRC-checked replies; garbage is dropped, bounded buffer.

    Text replies end at CR; a reply whose CRC does not check is dropped and the stream
    resynchronises at the next CR. Binary replies are recognised by their sync word and
    header CRC; a bad header drops one byte and rescans.
    """

    def __init__(self, max_buffer_bytes: int = 4 * MAX_TEXT_REPLY_BYTES) -> None:
        self._buf = bytearray()
        self._max = max_buffer_bytes
        self.dropped = 0  # number of rejected frames / garbage chunks

    def reset(self) -> None:
        """Forget any partial reply."""
        self._buf.clear()

    def feed(self, data: bytes) -> list[Frame]:
        """Add bytes; return the complete replies they finish, oldest first. Never raises."""
        self._buf += data
        frames: list[Frame] = []
        while self._buf:
            frame, consumed = self._next()
            if consumed == 0:
                break
            del self._buf[:consumed]
            if frame is not None:
                frames.append(frame)
        if len(self._buf) > self._max:  # a reply that never ends: drop it
            self._buf.clear()
            self.dropped += 1
        return frames

    def _next(self) -> tuple[Frame | None, int]:
        buf = self._buf
        if buf[:2] == BX_SYNC:
            if len(buf) < 6:
                return None, 0
            (length,) = struct.unpack_from("<H", buf, 2)
            (hcrc,) = struct.unpack_from("<H", buf, 4)
            if hcrc != crc16(bytes(buf[:4])) or length > MAX_BX_BODY_BYTES:
                self.dropped += 1
                return None, 1
            total = 6 + length + 2
            if len(buf) < total:
                return None, 0
            body = bytes(buf[6 : 6 + length])
            (bcrc,) = struct.unpack_from("<H", buf, 6 + length)
            if bcrc != crc16(body):
                self.dropped += 1
                return None, 1  # rescan: a truncated reply may hide good ones behind it
            return Frame(binary=body), total
        if len(buf) == 1 and buf[0] == BX_SYNC[0]:
            return None, 0  # maybe the start of a binary reply
        end = buf.find(CR)
        sync = buf.find(BX_SYNC)
        if sync > 0 and (end < 0 or sync < end):
            self.dropped += 1  # text garbage before a binary reply
            return None, sync
        if end < 0:
            return None, 0
        line = bytes(buf[:end])
        return self._text_frame(line), end + 1

    def _text_frame(self, line: bytes) -> Frame | None:
        if len(line) < 4:
            self.dropped += 1
            return None
        body, sent = line[:-4], line[-4:]
        if not _HEX_BYTES.issuperset(sent) or not body.isascii():
            self.dropped += 1
            return None
        if int(sent.decode("ascii"), 16) != crc16(body):
            self.dropped += 1
            return None
        return Frame(text=body.decode("ascii"))


# --------------------------------------------------------------------------- replies


class NdiReplyError(ValueError):
    """A reply whose CRC checked but whose content is not what the command returns."""


@dataclass(frozen=True)
class ErrorReply:
    """``ERRORxx`` (or ``WARNINGxx``) reply."""

    code: int
    warning: bool = False

    @property
    def name(self) -> str:
        """Human-readable name of the code."""
        return ERROR_NAMES.get(self.code, f"NDI error code 0x{self.code:02X}")

    def __str__(self) -> str:
        kind = "WARNING" if self.warning else "ERROR"
        return f"{kind}{self.code:02X} ({self.name})"


def parse_error(text: str) -> ErrorReply | None:
    """An ``ErrorReply`` if ``text`` (a CRC-checked reply body) is ERRORxx/WARNINGxx, else None."""
    for prefix, warning in (("ERROR", False), ("WARNING", True)):
        if text.startswith(prefix) and len(text) >= len(prefix) + 2:
            try:
                return ErrorReply(int(text[len(prefix) : len(prefix) + 2], 16), warning)
            except ValueError:
                return None
    return None


@dataclass(frozen=True)
class HandleTransform:
    """One port handle in a TX/BX reply.

    Attributes
    ----------
    handle : str
        Two upper-case hex digits, e.g. ``"0A"``.
    state : str
        ``"ok"``, ``"missing"`` or ``"disabled"``.
    quaternion : tuple of 4 float or None
        (q0, qx, qy, qz), rotation tool -> tracker; None unless ok.
    translation_mm : tuple of 3 float or None
        Tool origin in the tracker frame, mm; None unless ok.
    error_rms_mm : float or None
        Fit RMS error reported by the device, mm.
    port_status : int
        Port status bits (0 if not reported).
    frame_number : int
        Device frame counter (0 if not reported).
    """

    handle: str
    state: str
    quaternion: tuple[float, float, float, float] | None = None
    translation_mm: tuple[float, float, float] | None = None
    error_rms_mm: float | None = None
    port_status: int = 0
    frame_number: int = 0

    def pose2tracker(self) -> np.ndarray | None:
        """The 4x4 float64 tool->tracker transform, or None if the tool is not seen."""
        if self.state != "ok" or self.quaternion is None or self.translation_mm is None:
            return None
        return pose_from(self.translation_mm, self.quaternion)


@dataclass(frozen=True)
class TrackingReply:
    """A parsed TX or BX reply: per-handle transforms and the system status word."""

    handles: tuple[HandleTransform, ...]
    system_status: int
    binary: bool = False
    by_handle: dict[str, HandleTransform] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        self.by_handle.update({h.handle: h for h in self.handles})


def _signed(text: str, width: int, scale: float) -> float:
    """Parse a sign + digits field of exactly ``width`` chars, divided by ``scale``."""
    if len(text) != width or text[0] not in "+-" or not text[1:].isdigit():
        raise NdiReplyError(f"expected a signed {width}-character number, got {text!r}")
    return int(text) / scale


_HEX_CHARS = frozenset("0123456789ABCDEFabcdef")


def _hex(text: str, width: int) -> int:
    if len(text) != width or not _HEX_CHARS.issuperset(text):
        raise NdiReplyError(f"expected {width} hex digits, got {text!r}")
    return int(text, 16)


TX_TRANSFORM_CHARS = 4 * 6 + 3 * 7 + 6  # q0 qx qy qz, x y z, error


def parse_tx(text: str) -> TrackingReply:
    """Parse the body of a ``TX 0001`` reply (transformations and status).

    Layout: 2 hex handle count; per handle: 2 hex handle id, then either ``MISSING``,
    ``DISABLED``, ``UNOCCUPIED`` or 51 characters (q0 qx qy qz as sign+5 digits /10000,
    x y z as sign+6 digits /100 mm, error RMS as sign+5 digits /10000 mm), then 8 hex port
    status and 8 hex frame number (absent after DISABLED/UNOCCUPIED), then LF; finally 4 hex
    system status.

    Raises
    ------
    NdiReplyError
        If the text does not follow that layout (the caller drops the reply).
    """
    pos = 0

    def take(n: int) -> str:
        nonlocal pos
        if pos + n > len(text):
            raise NdiReplyError("TX reply truncated")
        piece = text[pos : pos + n]
        pos += n
        return piece

    count = _hex(take(2), 2)
    if text[pos : pos + 1] == LF:
        pos += 1
    handles: list[HandleTransform] = []
    for _ in range(count):
        handle = take(2).upper()
        _hex(handle, 2)
        rest = text[pos:]
        if rest.startswith("UNOCCUPIED"):
            pos += 10
            if text[pos : pos + 1] == LF:
                pos += 1
            continue
        if rest.startswith("DISABLED"):
            pos += 8
            port_status = frame = 0
            if text[pos : pos + 1] != LF and len(text) - pos > 4:
                port_status, frame = _hex(take(8), 8), _hex(take(8), 8)
            handles.append(
                HandleTransform(handle, "disabled", port_status=port_status, frame_number=frame)
            )
        elif rest.startswith("MISSING"):
            pos += 7
            port_status, frame = _hex(take(8), 8), _hex(take(8), 8)
            handles.append(
                HandleTransform(handle, "missing", port_status=port_status, frame_number=frame)
            )
        else:
            q = tuple(_signed(take(6), 6, 10000.0) for _ in range(4))
            t = tuple(_signed(take(7), 7, 100.0) for _ in range(3))
            err = _signed(take(6), 6, 10000.0)
            port_status, frame = _hex(take(8), 8), _hex(take(8), 8)
            if sum(v * v for v in q) < 0.25:  # |q| should be 1 within the format's rounding
                raise NdiReplyError(f"handle {handle}: quaternion {q} is not unit length")
            handles.append(HandleTransform(handle, "ok", q, t, err, port_status, frame))  # type: ignore[arg-type]
        if take(1) != LF:
            raise NdiReplyError(f"handle {handle}: expected a line feed after its data")
    status = _hex(take(4), 4)
    if pos != len(text):
        raise NdiReplyError(f"{len(text) - pos} unexpected characters after the system status")
    return TrackingReply(tuple(handles), status, binary=False)


def format_tx(
    handles: list[HandleTransform] | tuple[HandleTransform, ...], system_status: int = 0
) -> str:
    """The body of a TX 0001 reply for these handles (the emulator's side of ``parse_tx``)."""
    parts = [f"{len(handles):02X}"]
    for h in handles:
        parts.append(h.handle)
        if h.state == "disabled":
            parts.append("DISABLED" + LF)
            continue
        if h.state == "missing":
            parts.append(f"MISSING{h.port_status:08X}{h.frame_number:08X}" + LF)
            continue
        assert h.quaternion is not None and h.translation_mm is not None
        q = "".join(_fmt_signed(v, 5, 10000.0) for v in h.quaternion)
        t = "".join(_fmt_signed(v, 6, 100.0) for v in h.translation_mm)
        e = _fmt_signed(h.error_rms_mm or 0.0, 5, 10000.0)
        parts.append(f"{q}{t}{e}{h.port_status:08X}{h.frame_number:08X}" + LF)
    parts.append(f"{system_status:04X}")
    return "".join(parts)


def _fmt_signed(value: float, digits: int, scale: float) -> str:
    n = round(value * scale)
    limit = 10**digits - 1
    n = max(-limit, min(limit, n))
    return f"{'-' if n < 0 else '+'}{abs(n):0{digits}d}"


BX_VALID, BX_MISSING, BX_DISABLED = 0x01, 0x02, 0x04


def parse_bx(body: bytes) -> TrackingReply:
    """Parse the body of a ``BX 0001`` binary reply (CRC already checked by the framer).

    Layout (little endian): 1 byte handle count; per handle: 1 byte handle, 1 byte status
    (1 valid, 2 missing, 4 disabled); valid: 8 float32 (q0 qx qy qz, x y z mm, error mm),
    uint32 port status, uint32 frame number; missing: port status, frame number; disabled:
    nothing. Then uint16 system status.

    Raises
    ------
    NdiReplyError
        If the body does not follow that layout.
    """
    try:
        pos = 0
        (count,) = struct.unpack_from("<B", body, pos)
        pos += 1
        handles: list[HandleTransform] = []
        for _ in range(count):
            handle, status = struct.unpack_from("<BB", body, pos)
            pos += 2
            hid = f"{handle:02X}"
            if status == BX_DISABLED:
                handles.append(HandleTransform(hid, "disabled"))
            elif status == BX_MISSING:
                port_status, frame = struct.unpack_from("<II", body, pos)
                pos += 8
                handles.append(
                    HandleTransform(hid, "missing", port_status=port_status, frame_number=frame)
                )
            elif status == BX_VALID:
                values = struct.unpack_from("<8f", body, pos)
                pos += 32
                port_status, frame = struct.unpack_from("<II", body, pos)
                pos += 8
                if not all(math.isfinite(v) for v in values):
                    raise NdiReplyError(f"handle {hid}: non-finite transform")
                q = values[:4]
                if not 0.5 < sum(v * v for v in q) < 1.5:
                    raise NdiReplyError(f"handle {hid}: quaternion {q} is not unit length")
                handles.append(
                    HandleTransform(
                        hid,
                        "ok",
                        q,
                        values[4:7],
                        values[7],
                        port_status,
                        frame,  # type: ignore[arg-type]
                    )
                )
            else:
                raise NdiReplyError(f"handle {hid}: unknown handle status 0x{status:02X}")
        (system_status,) = struct.unpack_from("<H", body, pos)
        pos += 2
    except struct.error as exc:
        raise NdiReplyError(f"BX reply truncated: {exc}") from None
    if pos != len(body):
        raise NdiReplyError(f"{len(body) - pos} unexpected bytes after the system status")
    return TrackingReply(tuple(handles), system_status, binary=True)


def format_bx(
    handles: list[HandleTransform] | tuple[HandleTransform, ...], system_status: int = 0
) -> bytes:
    """The body of a BX 0001 reply for these handles (the emulator's side of ``parse_bx``)."""
    out = bytearray(struct.pack("<B", len(handles)))
    for h in handles:
        handle = int(h.handle, 16)
        if h.state == "disabled":
            out += struct.pack("<BB", handle, BX_DISABLED)
        elif h.state == "missing":
            out += struct.pack("<BBII", handle, BX_MISSING, h.port_status, h.frame_number)
        else:
            assert h.quaternion is not None and h.translation_mm is not None
            out += struct.pack("<BB", handle, BX_VALID)
            out += struct.pack("<8f", *h.quaternion, *h.translation_mm, h.error_rms_mm or 0.0)
            out += struct.pack("<II", h.port_status, h.frame_number)
    out += struct.pack("<H", system_status)
    return bytes(out)


def parse_phsr(text: str) -> list[tuple[str, int]]:
    """Parse a PHSR reply body: [(handle "0A", 3-hex-digit status), ...].

    Raises
    ------
    NdiReplyError
        If the body is not a handle count followed by that many 5-character entries.
    """
    count = _hex(text[:2], 2)
    if len(text) != 2 + 5 * count:
        raise NdiReplyError(f"PHSR reply should hold {count} handles, got {text!r}")
    out = []
    for i in range(count):
        entry = text[2 + 5 * i : 7 + 5 * i]
        out.append((entry[:2].upper(), _hex(entry[2:], 3)))
        _hex(entry[:2], 2)
    return out


def format_phsr(entries: list[tuple[str, int]]) -> str:
    """A PHSR reply body for [(handle, status), ...]."""
    return f"{len(entries):02X}" + "".join(f"{h}{s:03X}" for h, s in entries)


def comm_params(baudrate: int) -> str:
    """COMM parameters for ``baudrate``, 8 data bits, no parity, 1 stop bit, no handshake.

    Raises
    ------
    ValueError
        If NDI has no code for that rate (the message lists the valid rates).
    """
    for code, rate in BAUD_CODES.items():
        if rate == baudrate:
            return f"{code}0000"
    valid = ", ".join(str(r) for r in sorted(BAUD_CODES.values()))
    raise ValueError(f"baud rate {baudrate} is not one NDI supports (expected one of {valid})")


def baud_from_comm(params: str) -> int | None:
    """The baud rate a COMM parameter string asks for, or None if it is not valid."""
    if len(params) != 5 or not params[1:].isdigit():
        return None
    return BAUD_CODES.get(params[0].upper())


# --------------------------------------------------------------------------- passive tools

#: PHRQ parameters asking for a wireless (passive Polaris) tool's port handle: hardware
#: device (8), system type (1), tool type ``1`` = wireless, port number (2), reserved (2),
#: ``*`` = any.
PHRQ_WIRELESS = "*********1****"
PHRQ_PARAM_CHARS = 14
#: PVWR writes a tool definition (SROM image) in chunks of this many bytes, hex-encoded.
SROM_CHUNK_BYTES = 64
#: Largest tool definition file accepted (NDI's combined API and ndicapi: 1024 bytes).
MAX_SROM_BYTES = 1024


def parse_phrq(text: str) -> str:
    """The port handle in a PHRQ reply body (2 hex digits), upper case.

    Raises
    ------
    NdiReplyError
        If the body is not exactly 2 hex digits.
    """
    _hex(text, 2)
    return text.upper()


def pvwr_params(handle: str, srom: bytes) -> list[tuple[int, str]]:
    """The PVWR parameter strings that write ``srom`` to ``handle``.

    Parameters
    ----------
    handle : str
        Port handle from PHRQ, 2 hex digits.
    srom : bytes
        The tool definition file's bytes (1..``MAX_SROM_BYTES``).

    Returns
    -------
    list of (int, str)
        ``(start address, params)`` per 64-byte chunk, addresses 0x0000, 0x0040, ...;
        ``params`` = handle (2 hex) + address (4 hex) + 128 upper-case hex digits, the last
        chunk padded with zero bytes.

    Raises
    ------
    ValueError
        If ``srom`` is empty or longer than ``MAX_SROM_BYTES``.
    """
    if not srom:
        raise ValueError("tool definition is empty")
    if len(srom) > MAX_SROM_BYTES:
        raise ValueError(f"tool definition is {len(srom)} bytes: expected at most {MAX_SROM_BYTES}")
    out = []
    for address in range(0, len(srom), SROM_CHUNK_BYTES):
        chunk = srom[address : address + SROM_CHUNK_BYTES].ljust(SROM_CHUNK_BYTES, b"\0")
        out.append((address, f"{handle.upper()}{address:04X}{chunk.hex().upper()}"))
    return out


@dataclass(frozen=True)
class PvwrChunk:
    """One parsed PVWR command: ``data`` (64 bytes) to write at ``address`` of ``handle``."""

    handle: str
    address: int
    data: bytes


def parse_pvwr(params: str) -> PvwrChunk:
    """Parse PVWR parameters (the device's side of :func:`pvwr_params`).

    Raises
    ------
    NdiReplyError
        If the parameters are not 2 hex (handle) + 4 hex (address) + 128 hex (64 bytes).
    """
    expected = 2 + 4 + 2 * SROM_CHUNK_BYTES
    if len(params) != expected:
        raise NdiReplyError(f"PVWR parameters are {len(params)} characters, expected {expected}")
    handle = params[:2].upper()
    _hex(handle, 2)
    address = _hex(params[2:6], 4)
    payload = params[6:]
    if not _HEX_CHARS.issuperset(payload):
        raise NdiReplyError("PVWR payload is not hexadecimal")
    return PvwrChunk(handle, address, bytes.fromhex(payload))
