"""Property-based tests of the DIY frame decoder on random, truncated and corrupted streams.

The property, stated precisely: a stream is a sequence of chunks, each either
an intact frame or damage (random bytes, a prefix of a frame, or a frame with
one byte changed), followed by ``MAX_FRAME`` zero bytes (so a damaged header
that claims a long payload is completed and rejected), fed in arbitrary
pieces. Then the decoder never raises, and the frames it yields are exactly
the intact frames, in order: none is lost after a damaged region, none is
invented. (A random 16-bit CRC match could in principle forge a frame, with
probability about 2**-16 per candidate sync; the examples here do not reach it.)
"""

from __future__ import annotations

import itertools
import math
import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hardware.diy_protocol import (
    MAX_FRAME,
    Buttons,
    Decoder,
    Depth,
    Frame,
    Heartbeat,
    Orientation,
    Pose,
    encode_frame,
)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

f32 = st.floats(-1000, 1000, allow_nan=False, width=32)


@st.composite
def unit_quats(draw: st.DrawFn) -> tuple[float, float, float, float]:
    v = [draw(st.floats(-1, 1, width=32)) for _ in range(4)]
    n = math.sqrt(sum(c * c for c in v))
    if n < 0.1:
        return (1.0, 0.0, 0.0, 0.0)
    # float32-representable after normalising, as the frame carries it
    return struct.unpack("<4f", struct.pack("<4f", *(c / n for c in v)))


messages = st.one_of(
    st.builds(Pose, st.tuples(f32, f32, f32), unit_quats(), st.floats(0, 1, width=32)),
    st.builds(Orientation, unit_quats(), st.integers(0, 255)),
    st.builds(Depth, st.floats(0, 200, width=32)),
    st.builds(Buttons, st.integers(0, 0xFFFF)),
    st.builds(Heartbeat, st.integers(0, 255)),
)
frames = st.builds(
    Frame,
    messages,
    st.integers(0, 255),
    st.integers(0, 0xFFFF),
    st.integers(0, 0xFFFFFFFF),
)


@st.composite
def damage(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["random", "truncated", "flipped"]))
    if kind == "random":
        return draw(st.binary(min_size=1, max_size=60))
    data = encode_frame(draw(frames))
    if kind == "truncated":
        return data[: draw(st.integers(1, len(data) - 1))]
    i = draw(st.integers(0, len(data) - 1))
    return data[:i] + bytes([data[i] ^ draw(st.integers(1, 255))]) + data[i + 1 :]


def _feed_in_pieces(decoder: Decoder, stream: bytes, cuts: list[int]) -> list[Frame]:
    out: list[Frame] = []
    points = sorted({min(c, len(stream)) for c in cuts} | {0, len(stream)})
    for a, b in itertools.pairwise(points):
        out += decoder.feed(stream[a:b])
    return out


@SETTINGS
@given(st.binary(max_size=2000), st.lists(st.integers(0, 2000), max_size=20))
def test_random_bytes_never_raise_and_yield_nothing_false(data: bytes, cuts: list[int]) -> None:
    decoder = Decoder()
    out = _feed_in_pieces(decoder, data, cuts)
    for frame in out:  # only a frame that re-encodes to bytes present in the stream
        assert encode_frame(frame) in data
    assert len(decoder._buf) <= MAX_FRAME + len(data)


@SETTINGS
@given(
    st.lists(st.one_of(frames.map(lambda f: ("ok", f)), damage().map(lambda d: ("bad", d)))),
    st.lists(st.integers(0, 5000), max_size=30),
)
def test_every_intact_frame_is_recovered_and_nothing_is_invented(
    chunks: list[tuple[str, object]], cuts: list[int]
) -> None:
    stream = b""
    sent = []
    for kind, item in chunks:
        if kind == "ok":
            assert isinstance(item, Frame)
            stream += encode_frame(item)
            sent.append(item)
        else:
            assert isinstance(item, bytes)
            stream += item
    stream += bytes(MAX_FRAME)
    decoder = Decoder()
    out = _feed_in_pieces(decoder, stream, cuts)
    assert [encode_frame(f) for f in out] == [encode_frame(f) for f in sent]
    assert out == sent
    assert decoder.stats.frames == len(sent)
    assert len(decoder._buf) <= 1


@SETTINGS
@given(frames, st.integers(1, 255), st.data())
def test_a_single_changed_byte_never_yields_a_different_frame(
    frame: Frame, xor: int, data: st.DataObject
) -> None:
    raw = encode_frame(frame)
    i = data.draw(st.integers(0, len(raw) - 1))
    damaged = raw[:i] + bytes([raw[i] ^ xor]) + raw[i + 1 :]
    out = Decoder().feed(damaged + bytes(MAX_FRAME))
    assert out == []
