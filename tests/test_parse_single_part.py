"""A message of one part is parsed with its header block alone, its body set from the raw
bytes (gateway/parse.py, ``_single_part``): the same Message as the stdlib parse, for
every message of the corpus and for random header blocks and bodies (line endings of
every kind, continuation lines, a line that ends the headers early, 8-bit bytes, and
container types, which take the plain parse)."""

from __future__ import annotations

import email.message
from email.parser import BytesParser

import pytest
from conftest import CORPUS
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway import parse as parse_mod


def _same(ours: email.message.Message, raw: bytes) -> None:
    plain = BytesParser().parsebytes(raw)
    ours_parts, plain_parts = list(ours.walk()), list(plain.walk())
    assert len(ours_parts) == len(plain_parts)
    for a, b in zip(ours_parts, plain_parts, strict=True):
        assert a.items() == b.items()
        assert a.get_unixfrom() == b.get_unixfrom()
        assert a.is_multipart() == b.is_multipart()
        assert (a.preamble, a.epilogue) == (b.preamble, b.epilogue)
        assert [type(d) for d in a.defects] == [type(d) for d in b.defects]
        if not a.is_multipart():
            assert _call(a.get_payload) == _call(b.get_payload)
            assert _call(a.get_payload, decode=True) == _call(b.get_payload, decode=True)
    assert _call(ours.as_bytes) == _call(plain.as_bytes)


def _call(method, **kwargs):
    """What a method gives, or the kind of exception it raises (a charset named with a
    NUL byte raises in both parses)."""
    try:
        return method(**kwargs)
    except Exception as exc:
        return type(exc)


_EOL = st.sampled_from([b"\r\n", b"\n", b"\r"])
_HEADER = st.sampled_from(
    [
        b"From: Kari <kari@x.no>",
        b"Subject: Hei p\xc3\xa5 deg",
        b"Content-Type: text/plain; charset=utf-8",
        b"Content-Type: text/html",
        b"Content-Type: multipart/mixed; boundary=b",
        b"Content-Type: message/rfc822",
        b"Content-Transfer-Encoding: base64",
        b" continued",
        b"\tcontinued",
        b"not a header line",
        b"From mbox 2026",
        b"X-Tom:",
        b"",
    ]
)
_BODY = st.sampled_from([b"Hei", b"", b"--b", b"a: b", b"\xff\xfe", b"SGVp", b" ", b"\x0b\x0c"])


@st.composite
def _messages(draw) -> bytes:
    head = b"".join(h + draw(_EOL) for h in draw(st.lists(_HEADER, max_size=6)))
    body = b"".join(b + draw(_EOL) for b in draw(st.lists(_BODY, max_size=5)))
    tail = draw(st.sampled_from([b"", b"end", b"\r"]))
    return head + draw(_EOL) + body + tail


@settings(max_examples=800, deadline=None)
@given(_messages())
def test_a_single_part_parses_as_the_stdlib_parses_it(raw):
    msg = parse_mod._single_part(raw)
    if msg is not None:
        _same(msg, raw)


def test_the_common_report_takes_the_short_way():
    raw = b"From: a@b.example\r\nSubject: x\r\n\r\nHei\r\nLinje to\r\n"
    msg = parse_mod._single_part(raw)
    assert msg is not None and msg.get_payload() == "Hei\r\nLinje to\r\n"
    assert parse_mod._single_part(b"From: a@b.example\r\nno header\r\n\r\nHei\r\n") is None
    mixed = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n"
    assert parse_mod._single_part(mixed) is None


ROWS = []
if (CORPUS / "index.tsv").exists():
    for line in (CORPUS / "index.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        ROWS.append(line.split("\t")[0])


@pytest.mark.skipif(not ROWS, reason="../shared/corpus/real-world is not beside the repo")
def test_every_single_part_of_the_corpus_parses_as_the_stdlib_parses_it():
    short = 0
    for path in ROWS:
        raw = (CORPUS / path).read_bytes()
        if (msg := parse_mod._single_part(raw)) is not None:
            _same(msg, raw)
            short += 1
    assert short > 300
