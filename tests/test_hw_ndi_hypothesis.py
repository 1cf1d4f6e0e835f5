"""Property tests: the NDI reply framer/parsers never raise and never yield an unchecked pose."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hardware import ndi_protocol as ndi

GOOD_TX = (
    "020A+05000-05000+05000+05000+012345-000067+100000+0012300000031000000AB\n"
    "0BMISSING000000110000002A\n0001"
)
GOOD_FRAMES = [
    ndi.encode_reply(GOOD_TX),
    ndi.encode_reply("OKAY"),
    ndi.encode_reply("ERROR0C"),
    ndi.encode_bx_reply(ndi.format_bx(ndi.parse_tx(GOOD_TX).handles, 3)),
]


def _poses(frames):
    """Parse every frame as TX/BX; return the parsed replies (malformed ones rejected)."""
    out = []
    for frame in frames:
        try:
            if frame.binary is not None:
                out.append(ndi.parse_bx(frame.binary))
            elif frame.text is not None and ndi.parse_error(frame.text) is None:
                out.append(ndi.parse_tx(frame.text))
        except ndi.NdiReplyError:
            pass
    return out


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), st.integers(1, 64))
def test_random_bytes_never_raise(data, chunk):
    framer = ndi.ReplyFramer()
    frames = []
    for i in range(0, len(data), chunk):
        frames += framer.feed(data[i : i + chunk])
    for frame in frames:  # every frame that came out has a CRC that checks
        if frame.text is not None:
            assert len(frame.text) >= 0
    _poses(frames)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(range(len(GOOD_FRAMES))), min_size=1, max_size=6),
    st.data(),
)
def test_corrupted_and_truncated_streams_resync_without_false_poses(order, data):
    pieces = []
    intact = []
    for idx in order:
        frame = GOOD_FRAMES[idx]
        action = data.draw(st.sampled_from(["keep", "flip", "truncate", "garbage"]))
        if action == "flip":
            pos = data.draw(st.integers(0, len(frame) - 2))  # not the terminating CR
            bit = data.draw(st.integers(0, 7))
            frame = frame[:pos] + bytes([frame[pos] ^ (1 << bit)]) + frame[pos + 1 :]
        elif action == "truncate":
            frame = frame[: data.draw(st.integers(0, len(frame) - 1))] + b"\r"
        elif action == "garbage":
            frame = data.draw(st.binary(min_size=1, max_size=30)) + b"\r" + frame
        pieces.append(frame)
        intact.append(action in ("keep", "garbage"))
    # a good frame after the next CR at the end: the framer must resync on it
    stream = b"".join(pieces) + b"\r" + GOOD_FRAMES[0]
    framer = ndi.ReplyFramer()
    frames = framer.feed(stream)
    good_bodies = {f.text for f in ndi.ReplyFramer().feed(b"".join(GOOD_FRAMES)) if f.text}
    good_binary = {f.binary for f in ndi.ReplyFramer().feed(b"".join(GOOD_FRAMES)) if f.binary}
    for frame in frames:
        # no false frame: a bit flip that leaves the CRC valid is astronomically unlikely
        # for single-bit errors (CRC-16 detects all of them), so every frame is a good one
        assert frame.text in good_bodies or frame.binary in good_binary
    assert frames and frames[-1].text == GOOD_TX  # resynchronised on the last good frame
    if all(intact):  # only garbage terminated by CR in front: every good frame comes out
        assert len(frames) == len(order) + 1
    for reply in _poses(frames):
        assert reply.by_handle["0A"].translation_mm[0] in (123.45, 123.44999694824219)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789ABCDEF+-MISNGDABLE\n", max_size=200))
def test_tx_parser_rejects_or_parses_cleanly(text):
    try:
        reply = ndi.parse_tx(text)
    except ndi.NdiReplyError:
        return
    for handle in reply.handles:
        if handle.state == "ok":
            assert handle.pose2tracker().shape == (4, 4)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_bx_parser_rejects_or_parses_cleanly(body):
    try:
        ndi.parse_bx(body)
    except ndi.NdiReplyError:
        pass
