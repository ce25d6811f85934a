"""The outgoing guard's shortcuts. It reads a message of one part without the parser
reading its body line by line (outgoing.parsed): the message must be the very one the
parser makes, on random headers and bodies (folded, broken, bare CR or LF, multipart,
forwarded, an envelope From line), and on real mail. And it scans a text it sees twice
(an attachment's name) once, with both places in its problems."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st

from gateway.privacy import outgoing

HEADERS = [
    "Subject: Hei 41234567", "From: Kari <kari@x.no>", "To: a@b.example", " folded on",
    "\tfolded too", "From kari@x.no Mon Jan  1 00:00:00 2026", "Content-Type: text/plain",
    "Content-Type: text/html; charset=utf-8", "Content-Type: multipart/mixed; boundary=b",
    "Content-Type: message/rfc822", "Content-Type: message/delivery-status",
    "Content-Transfer-Encoding: quoted-printable", "no colon here", ": empty name",
    "X-\u00e6: 8bit", "Subject: =?utf-8?q?l=C3=A5st?=", "",
]  # fmt: skip
ENDINGS = ["\r\n", "\r\n", "\r\n", "\n", "\r"]
BODIES = ["", "Hei\r\n", "linje\nlinje\r", "--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--",
          "From: inner@x.no\r\n\r\nindre", "\u00f8 =C3=B8\r\n", "\r\n\r\n"]  # fmt: skip

head = st.lists(st.tuples(st.sampled_from(HEADERS), st.sampled_from(ENDINGS)), max_size=8)
messages = st.builds(
    lambda lines, sep, body: ("".join(h + e for h, e in lines) + sep + "".join(body)).encode(
        "utf-8", "surrogateescape"
    ),
    head,
    st.sampled_from(["\r\n", "\n", "", "\r\n\r\n"]),
    st.lists(st.sampled_from(BODIES), max_size=4),
)


def _state(msg) -> tuple:
    """All a parsed message holds (a part of one part: no sub-messages)."""
    parts = msg.get_payload() if msg.is_multipart() else []
    return (
        sorted(vars(msg)),
        msg._headers,
        msg.get_unixfrom(),
        msg._payload if not parts else [_state(p) for p in parts],
        msg._charset,
        msg.preamble,
        msg.epilogue,
        [type(d) for d in msg.defects],
        msg._default_type,
    )


def _same(raw: bytes) -> None:
    expected = email.message_from_bytes(raw, policy=email.policy.compat32)
    assert _state(outgoing.parsed(raw)) == _state(expected)


@settings(max_examples=1500, deadline=None)
@given(messages)
@example(b"Subject: a\r\nTo: b\r\n\r\nbody\r\nmore")
@example(b"Subject: a\nTo: b\r\n\r\nbody")
@example(b"Subject: a\r\nno colon\r\n\r\nbody")
@example(b"\r\nSubject: a\r\n\r\nbody")
def test_the_same_message_as_the_parser(raw):
    _same(raw)


def test_the_same_message_for_real_mail():
    shared = Path(__file__).resolve().parents[2] / "shared"
    paths = sorted(shared.glob("corpus/real-world/**/*.eml"))
    paths += sorted(shared.glob("scenario/examples/*.eml"))
    assert paths
    for path in paths:
        _same(path.read_bytes())


def test_a_message_of_one_part_is_not_read_line_by_line(monkeypatch):
    raw = b"Subject: a\r\nContent-Type: text/plain\r\n\r\n" + b"linje 41234567\r\n" * 50
    fed: list[str] = []
    original = email.feedparser.BufferedSubFile.push
    monkeypatch.setattr(
        email.feedparser.BufferedSubFile,
        "push",
        lambda self, data: fed.append(data) or original(self, data),
    )
    assert outgoing.seen(raw)[-1].text == "linje 41234567\r\n" * 50
    assert "linje" not in "".join(fed)


def test_a_text_seen_twice_is_scanned_once_and_named_twice(monkeypatch):
    raw = (
        b"Subject: Vedlegg\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\nSe vedlegg.\r\n"
        b'--b\r\nContent-Type: text/plain; name="tlf 41234567.txt"\r\n'
        b'Content-Disposition: attachment; filename="tlf 41234567.txt"\r\n\r\nlogg\r\n'
        b"--b--\r\n"
    )
    scanned: list[str] = []
    original = outgoing.find_in_name
    monkeypatch.setattr(
        outgoing, "find_in_name", lambda name, **o: scanned.append(name) or original(name, **o)
    )
    assert outgoing.problems(raw) == [
        "attachment 1 name: telefonnummer",
        "attachment 1 name: telefonnummer",
    ]
    assert scanned == ["tlf 41234567.txt"]
