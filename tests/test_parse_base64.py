"""A base64 attachment is decoded in one step (gateway/parse.py, ``_Part``): the same
bytes as the stdlib's decoding, which first makes one bytes object per line (for a
25 MB attachment about 130 MB at once). Anything but plain base64 is left to the
stdlib, defects and all."""

from __future__ import annotations

import base64
import email
import email.message
from email.policy import compat32

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.parse import _message_from_bytes, parse


def _message(body: bytes) -> bytes:
    return (
        b"From: kari@example.org\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
        b"Content-Type: text/plain\r\n\r\nHei\r\n--b\r\n"
        b"Content-Type: application/octet-stream; name=a.bin\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + body + b"\r\n--b--\r\n"
    )


def _lines(data: bytes, width: int) -> bytes:
    encoded = base64.b64encode(data)
    return b"\r\n".join(encoded[i : i + width] for i in range(0, len(encoded), width))


def _both(raw: bytes) -> tuple[bytes, bytes]:
    ours = _message_from_bytes(raw).get_payload(1).get_payload(decode=True)
    plain = email.message_from_bytes(raw, policy=compat32).get_payload(1)
    return ours, plain.get_payload(decode=True)


@settings(max_examples=300, deadline=None)
@given(
    st.binary(max_size=400),
    st.integers(min_value=4, max_value=120),
    st.sampled_from([b"", b"=", b"==", b"===", b"!", b"\r\n=", b"QQ", b"=QUFB", b" "]),
)
def test_the_same_bytes_as_the_stdlib_whatever_the_body(data, width, tail):
    body = _lines(data, width) + tail
    ours, stdlib = _both(_message(body))
    assert ours == stdlib


def test_a_large_attachment_read_lazily_gives_the_same_bytes():
    data = bytes(range(256)) * 4096  # 1 MB: above the lazy parse's threshold
    raw = _message(_lines(data, 76))
    ours, stdlib = _both(raw)
    assert ours == stdlib == data
    assert [a.filename for a in parse(raw).attachments] == ["a.bin"]


def test_plain_base64_takes_the_one_step_and_a_broken_body_the_stdlib():
    """The shortcut must be the path plain bodies take (else the memory it saves is not
    saved), and must leave every irregular body to the stdlib."""

    def part(body: bytes):
        return _message_from_bytes(_message(body)).get_payload(1)

    data = bytes(range(256)) * 8
    assert part(_lines(data, 76))._plain_base64() == data
    for broken in (_lines(data, 76)[:-1], _lines(data, 76) + b"!", b"QUFB=QUFB", b"QQ"):
        assert part(broken)._plain_base64() is None, broken
