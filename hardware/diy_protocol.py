"""The open DIY tracker protocol: binary frames from a microcontroller (see PROTOCOL.md).

A frame, little-endian::

    offset size field
    0      2    sync 0xA5 0x5A
    2      1    protocol version (1)
    3      1    message type
    4      1    tool id (0 probe, 1 needle by convention; identity names them)
    5      2    sequence number, u16, wraps
    7      4    device timestamp, microseconds, u32, wraps (~71.6 min)
    11     1    payload length n (0..MAX_PAYLOAD)
    12     n    payload
    12+n   2    CRC-16/CCITT-FALSE of bytes 2 .. 12+n-1 (everything but sync and CRC)

CRC-16/CCITT-FALSE: polynomial 0x1021, initial value 0xFFFF, no reflection,
no final XOR; the check value of ASCII ``"123456789"`` is 0x29B1.

:class:`Decoder` is sans-IO and stateful: ``feed(bytes) -> list[Frame]``. It
drops garbage, truncated and corrupted frames, resynchronises at the next
good frame, counts what it dropped, and rejects frames whose content is not
physically meaningful (NaN, non-unit quaternion, wrong payload size), so it
never yields a false pose. Its buffer is bounded by one maximum frame.
"""

from __future__ import annotations

import binascii
import math
import struct
from dataclasses import dataclass
from enum import IntEnum

SYNC = b"\xa5\x5a"
PROTOCOL_VERSION = 1
HEADER = struct.Struct("<2sBBBHIB")
HEADER_SIZE = HEADER.size  # 12
CRC_SIZE = 2
#: Largest payload accepted, bytes; a longer length field is garbage.
MAX_PAYLOAD = 128
MAX_FRAME = HEADER_SIZE + MAX_PAYLOAD + CRC_SIZE
#: Accepted deviation of a quaternion's norm from 1 (IMUs send 14-bit fixed point).
QUAT_NORM_TOLERANCE = 0.01
#: Largest accepted |coordinate| of a position, mm, and |depth|, mm.
MAX_COORDINATE_MM = 10_000.0
MAX_DEPTH_MM = 1_000.0


class MsgType(IntEnum):
    """Message types. 0x01-0x0F device to host, 0x10-0x1F host to device."""

    POSE = 0x01
    ORIENTATION = 0x02
    DEPTH = 0x03
    BUTTONS = 0x04
    IDENTITY = 0x05
    HEARTBEAT = 0x06
    ERROR = 0x07
    REQUEST_IDENTITY = 0x10


#: Button bits of a BUTTONS message; other set bits are reported as ``"button<N>"``.
BUTTON_BITS = {0: "inject", 1: "freeze", 2: "aspirate", 3: "capture"}
#: Tool kinds in an IDENTITY message.
KIND_CODES = {0: "probe", 1: "needle", 2: "pointer", 3: "reference"}

_POSE = struct.Struct("<3f4ff")
_ORIENTATION = struct.Struct("<4fB")
_DEPTH = struct.Struct("<f")
_BUTTONS = struct.Struct("<H")
_HEARTBEAT = struct.Struct("<B")
_FIXED_SIZE = {
    MsgType.POSE: _POSE.size,  # 32
    MsgType.ORIENTATION: _ORIENTATION.size,  # 17
    MsgType.DEPTH: _DEPTH.size,  # 4
    MsgType.BUTTONS: _BUTTONS.size,  # 2
    MsgType.HEARTBEAT: _HEARTBEAT.size,  # 1
    MsgType.REQUEST_IDENTITY: 0,
}
_MIN_SIZE = {MsgType.IDENTITY: 3, MsgType.ERROR: 1}
_KINDS = {int(k): k for k in MsgType}
#: type code -> (smallest, largest) payload length allowed
_LENGTHS = {
    **{int(k): (n, n) for k, n in _FIXED_SIZE.items()},
    **{int(k): (n, MAX_PAYLOAD) for k, n in _MIN_SIZE.items()},
}


class ProtocolError(ValueError):
    """A frame or message that cannot be encoded or is not meaningful."""


def crc16_ccitt_false(data: bytes | bytearray | memoryview, crc: int = 0xFFFF) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no xorout)."""
    return binascii.crc_hqx(data, crc)


# --- messages -------------------------------------------------------------------------
@dataclass(frozen=True)
class Pose:
    """6-DOF pose: position (mm) and unit quaternion ``(w, x, y, z)``; quality 0..1."""

    position_mm: tuple[float, float, float]
    quat_wxyz: tuple[float, float, float, float]
    quality: float = 1.0


@dataclass(frozen=True)
class Orientation:
    """IMU orientation ``(w, x, y, z)`` and calibration status.

    ``calibration`` packs four 2-bit levels 0..3 as the BNO055 CALIB_STAT
    register does: bits 7-6 system, 5-4 gyroscope, 3-2 accelerometer,
    1-0 magnetometer.
    """

    quat_wxyz: tuple[float, float, float, float]
    calibration: int = 0xFF

    @property
    def quality(self) -> float:
        """System calibration level / 3, in [0, 1]."""
        return ((self.calibration >> 6) & 3) / 3.0


@dataclass(frozen=True)
class Depth:
    """Needle insertion depth along the shaft beyond the skin, mm."""

    depth_mm: float


@dataclass(frozen=True)
class Buttons:
    """Buttons held down, a bitmask (see ``BUTTON_BITS``)."""

    mask: int

    @property
    def names(self) -> frozenset[str]:
        """Names of the buttons held down."""
        return frozenset(
            BUTTON_BITS.get(bit, f"button{bit}") for bit in range(16) if self.mask >> bit & 1
        )


@dataclass(frozen=True)
class ToolInfo:
    """One tool announced in an IDENTITY message."""

    tool_id: int
    kind: str
    name: str
    orientation_only: bool = False


@dataclass(frozen=True)
class Identity:
    """Device identity: name, firmware version string, the tools it reports."""

    name: str
    firmware: str
    tools: tuple[ToolInfo, ...] = ()


@dataclass(frozen=True)
class Heartbeat:
    """Keep-alive, sent at least once a second; ``status`` 0 means all well."""

    status: int = 0


@dataclass(frozen=True)
class DeviceError:
    """An error the device reports (sensor missing, I2C failure...)."""

    code: int
    text: str = ""


@dataclass(frozen=True)
class RequestIdentity:
    """Host to device: please send IDENTITY now."""


Message = (
    Pose | Orientation | Depth | Buttons | Identity | Heartbeat | DeviceError | RequestIdentity
)

_TYPE_OF = {
    Pose: MsgType.POSE,
    Orientation: MsgType.ORIENTATION,
    Depth: MsgType.DEPTH,
    Buttons: MsgType.BUTTONS,
    Identity: MsgType.IDENTITY,
    Heartbeat: MsgType.HEARTBEAT,
    DeviceError: MsgType.ERROR,
    RequestIdentity: MsgType.REQUEST_IDENTITY,
}


@dataclass(frozen=True)
class Frame:
    """A decoded frame: header fields and the message."""

    message: Message
    tool_id: int = 0
    seq: int = 0
    t_us: int = 0
    version: int = PROTOCOL_VERSION

    @property
    def msg_type(self) -> MsgType:
        """The message type code."""
        return _TYPE_OF[type(self.message)]


# --- encoding -------------------------------------------------------------------------
def _short_text(text: str, what: str) -> bytes:
    raw = text.encode("utf-8")
    if len(raw) > 40:
        raise ProtocolError(f"{what} {text!r}: at most 40 UTF-8 bytes")
    return bytes([len(raw)]) + raw


def encode_payload(message: Message) -> bytes:
    """Payload bytes of a message.

    Raises
    ------
    ProtocolError
        For a value that does not fit (text too long, payload over ``MAX_PAYLOAD``).
    """
    if isinstance(message, Pose):
        out = _POSE.pack(*message.position_mm, *message.quat_wxyz, message.quality)
    elif isinstance(message, Orientation):
        out = _ORIENTATION.pack(*message.quat_wxyz, message.calibration & 0xFF)
    elif isinstance(message, Depth):
        out = _DEPTH.pack(message.depth_mm)
    elif isinstance(message, Buttons):
        out = _BUTTONS.pack(message.mask & 0xFFFF)
    elif isinstance(message, Identity):
        kinds = {v: k for k, v in KIND_CODES.items()}
        parts = [_short_text(message.name, "device name")]
        parts.append(_short_text(message.firmware, "firmware"))
        parts.append(bytes([len(message.tools)]))
        for t in message.tools:
            if t.kind not in kinds:
                raise ProtocolError(f"tool {t.name!r}: kind {t.kind!r}, expected one of {kinds}")
            parts.append(bytes([t.tool_id & 0xFF, kinds[t.kind], int(t.orientation_only)]))
            parts.append(_short_text(t.name, "tool name"))
        out = b"".join(parts)
    elif isinstance(message, Heartbeat):
        out = _HEARTBEAT.pack(message.status & 0xFF)
    elif isinstance(message, DeviceError):
        out = bytes([message.code & 0xFF]) + message.text.encode("utf-8")
    elif isinstance(message, RequestIdentity):
        out = b""
    else:
        raise ProtocolError(f"cannot encode {type(message).__name__}: not a DIY protocol message")
    if len(out) > MAX_PAYLOAD:
        raise ProtocolError(
            f"{type(message).__name__} payload is {len(out)} bytes: at most {MAX_PAYLOAD}"
        )
    return out


def encode_frame(frame: Frame) -> bytes:
    """The bytes of one frame, CRC included."""
    payload = encode_payload(frame.message)
    header = HEADER.pack(
        SYNC,
        frame.version & 0xFF,
        frame.msg_type,
        frame.tool_id & 0xFF,
        frame.seq & 0xFFFF,
        frame.t_us & 0xFFFFFFFF,
        len(payload),
    )
    body = header[2:] + payload
    return SYNC + body + struct.pack("<H", crc16_ccitt_false(body))


def encode(message: Message, tool_id: int = 0, seq: int = 0, t_us: int = 0) -> bytes:
    """Shorthand for ``encode_frame(Frame(message, tool_id, seq, t_us))``."""
    return encode_frame(Frame(message, tool_id, seq, t_us))


# --- decoding -------------------------------------------------------------------------
def _finite(values: tuple[float, ...]) -> bool:
    # float32 values: their float64 sum overflows never, and NaN/inf propagate
    return math.isfinite(sum(values))


def _check_quat(q: tuple[float, ...]) -> None:
    if not _finite(q):
        raise ProtocolError("quaternion is not finite")
    if abs(math.sqrt(sum(v * v for v in q)) - 1.0) > QUAT_NORM_TOLERANCE:
        raise ProtocolError("quaternion is not unit")


def _text(payload: bytes, at: int) -> tuple[str, int]:
    n = payload[at]
    raw = payload[at + 1 : at + 1 + n]
    if len(raw) != n:
        raise ProtocolError("text runs past the payload")
    return raw.decode("utf-8"), at + 1 + n


def decode_payload(msg_type: int, payload: bytes) -> Message:
    """The message of a frame whose CRC is good.

    Raises
    ------
    ProtocolError
        Unknown type, wrong size, or content that is not meaningful.
    """
    kind = _KINDS.get(msg_type)
    if kind is None:
        raise ProtocolError(f"unknown message type 0x{msg_type:02x}")
    size = _FIXED_SIZE.get(kind)
    if size is not None and len(payload) != size:
        raise ProtocolError(f"{kind.name} payload is {len(payload)} bytes, expected {size}")
    if kind is MsgType.POSE:
        v = _POSE.unpack(payload)
        if not _finite(v) or any(abs(c) > MAX_COORDINATE_MM for c in v[:3]):
            raise ProtocolError("pose position is not finite or out of range")
        _check_quat(v[3:7])
        if not 0.0 <= v[7] <= 1.0:
            raise ProtocolError("pose quality outside 0..1")
        return Pose(v[0:3], v[3:7], v[7])
    if kind is MsgType.ORIENTATION:
        v = _ORIENTATION.unpack(payload)
        _check_quat(v[:4])
        return Orientation(v[:4], v[4])
    if kind is MsgType.DEPTH:
        (d,) = _DEPTH.unpack(payload)
        if not math.isfinite(d) or abs(d) > MAX_DEPTH_MM:
            raise ProtocolError("depth is not finite or out of range")
        return Depth(d)
    if kind is MsgType.BUTTONS:
        return Buttons(_BUTTONS.unpack(payload)[0])
    if kind is MsgType.HEARTBEAT:
        return Heartbeat(payload[0])
    if kind is MsgType.REQUEST_IDENTITY:
        return RequestIdentity()
    if len(payload) < _MIN_SIZE[kind]:
        raise ProtocolError(f"{kind.name} payload too short")
    try:
        if kind is MsgType.ERROR:
            return DeviceError(payload[0], payload[1:].decode("utf-8"))
        name, at = _text(payload, 0)
        firmware, at = _text(payload, at)
        tools = []
        n_tools = payload[at]
        at += 1
        for _ in range(n_tools):
            if at + 3 > len(payload):
                raise ProtocolError("tool list runs past the payload")
            tool_id, kind_code, flags = payload[at : at + 3]
            if kind_code not in KIND_CODES:
                raise ProtocolError(f"unknown tool kind {kind_code}")
            tool_name, at = _text(payload, at + 3)
            tools.append(ToolInfo(tool_id, KIND_CODES[kind_code], tool_name, bool(flags & 1)))
        if at != len(payload):
            raise ProtocolError("trailing bytes after the tool list")
        return Identity(name, firmware, tuple(tools))
    except (IndexError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"malformed {kind.name}: {exc}") from None


@dataclass
class DecoderStats:
    """What the decoder kept and dropped since it was made."""

    frames: int = 0  #: good frames yielded
    bytes_dropped: int = 0  #: bytes skipped while hunting for a sync
    crc_errors: int = 0  #: candidate frames with a bad CRC
    bad_headers: int = 0  #: candidates with an unknown version/type or impossible length
    rejected: int = 0  #: CRC good but content not meaningful (NaN, non-unit quaternion...)

    @property
    def dropped_frames(self) -> int:
        """Every candidate frame thrown away."""
        return self.crc_errors + self.bad_headers + self.rejected


class Decoder:
    """Stateful, sans-IO frame decoder: ``feed(bytes) -> list[Frame]``; never raises.

    At each candidate sync it checks the header (version, known type, payload
    length allowed for the type), waits for the whole frame, checks the CRC,
    then the content. Any failure skips one byte and hunts for the next sync,
    so an intact frame after garbage is always found once its bytes (and, if
    a damaged header before it claimed a longer frame, up to ``MAX_FRAME``
    more bytes) have arrived. The buffer never holds more than about
    ``MAX_FRAME`` bytes plus one fed chunk.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self.stats = DecoderStats()

    def reset(self) -> None:
        """Forget buffered bytes (after a reconnect)."""
        self._buf.clear()

    def feed(self, data: bytes | bytearray | memoryview) -> list[Frame]:
        """Add bytes; return the complete, valid frames they finish, oldest first."""
        buf = self._buf
        buf += data
        out: list[Frame] = []
        pos = 0
        stats = self.stats
        n = len(buf)
        while True:
            start = buf.find(SYNC, pos)
            if start < 0:
                # keep a trailing 0xA5: it may be the first sync byte of the next chunk
                keep = 1 if pos < n and buf[-1] == SYNC[0] else 0
                stats.bytes_dropped += n - pos - keep
                pos = n - keep
                break
            stats.bytes_dropped += start - pos
            pos = start
            if n - pos < HEADER_SIZE:
                break
            _, version, msg_type, tool_id, seq, t_us, length = HEADER.unpack_from(buf, pos)
            if not self._header_ok(version, msg_type, length):
                stats.bad_headers += 1
                stats.bytes_dropped += 1
                pos += 1
                continue
            end = pos + HEADER_SIZE + length + CRC_SIZE
            if end > n:
                break
            body = memoryview(buf)[pos + 2 : end - CRC_SIZE]
            crc_ok = crc16_ccitt_false(body) == buf[end - 2] | buf[end - 1] << 8
            payload = bytes(body[HEADER_SIZE - 2 :])
            body.release()
            if not crc_ok:
                stats.crc_errors += 1
                stats.bytes_dropped += 1
                pos += 1
                continue
            try:
                message = decode_payload(msg_type, payload)
            except ProtocolError:
                stats.rejected += 1
                pos = end
                continue
            out.append(Frame(message, tool_id, seq, t_us, version))
            stats.frames += 1
            pos = end
        del buf[:pos]
        return out

    @staticmethod
    def _header_ok(version: int, msg_type: int, length: int) -> bool:
        if version != PROTOCOL_VERSION:
            return False
        bounds = _LENGTHS.get(msg_type)
        return bounds is not None and bounds[0] <= length <= bounds[1]
