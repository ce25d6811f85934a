"""``gateway.mime_parts`` reads a message's bodies and attachments as mail-parser 4.8 did
(it read them until issue 22): on random MIME trees of odd content types, charsets,
transfer encodings, dispositions, names and missing boundaries, the same texts, the same
attachments (name, type, size), the same failures and the same defects left on the
message. mail-parser is a test dependency only, for this comparison."""

from __future__ import annotations

import base64
import quopri
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.mime_parts import read_parts
from gateway.parse import _message_from_bytes

mailparser = pytest.importorskip("mailparser")

_RANDOM_NAME = re.compile(r"^[a-z]{10}\.(txt|rtf)$")

_LEAF_TYPES = [
    "text/plain",
    "text/html",
    "text/rtf",
    "text/",
    "text/calendar",
    "application/pdf",
    "image/png",
    "application/octet-stream",
    "message/delivery-status",
    "bogus",
]
_CHARSETS = ["", "utf-8", "iso-8859-1", "windows-1252", "us-ascii", "utf-16", "bogus", "u\x00d"]
_ENCODINGS = ["", "7bit", "8bit", "base64", "quoted-printable", "x-uuencode", "base64 ", "binary"]
_NAMES = [
    "",
    "rapport.pdf",
    "=?utf-8?q?m=C3=B8te.txt?=",
    "=?utf-8?b?bcO4dGUuZG9j?=",
    "=?bogus?q?x?=",
    "m\u00f8te.docx",  # raw 8-bit UTF-8
    "\u00e6",  # becomes latin-1 below
]
_TEXTS = [
    "Hei",
    "Bla\u030ab\u00e6r",
    "Bl\u00e5b\u00e6r og r\u00f8d",
    "<p>Hei <b>du</b></p>",
    "",
    " \r\n",
    "x" * 90,
]


def _name_bytes(name: str, latin: bool) -> bytes:
    return name.encode("latin-1" if latin else "utf-8")


@st.composite
def _leaf(draw) -> bytes:
    ctype = draw(st.sampled_from(_LEAF_TYPES))
    charset = draw(st.sampled_from(_CHARSETS))
    cte = draw(st.sampled_from(_ENCODINGS))
    name = draw(st.sampled_from(_NAMES))
    latin = draw(st.booleans())
    disposition = draw(st.sampled_from(["", "inline", "attachment", "form-data"]))
    head = b"Content-Type: " + ctype.encode("latin-1")
    if charset:
        head += b'; charset="' + charset.encode("latin-1") + b'"'
    if name and draw(st.booleans()):
        head += b'; name="' + _name_bytes(name, latin) + b'"'
    head += b"\r\n"
    if disposition:
        head += b"Content-Disposition: " + disposition.encode()
        if name and draw(st.booleans()):
            head += b'; filename="' + _name_bytes(name, latin) + b'"'
        head += b"\r\n"
    if draw(st.booleans()):
        head += b"Content-ID: <" + draw(st.sampled_from([b"a@b", b"", b"\xc3\xa6@x"])) + b">\r\n"
    if cte:
        head += b"Content-Transfer-Encoding: " + cte.encode() + b"\r\n"
    text = draw(st.sampled_from(_TEXTS))
    data = draw(
        st.sampled_from(
            [text.encode("utf-8"), text.encode("latin-1", "replace"), b"\x00\xff\x80ab"]
        )
    )
    if cte.strip() == "base64":
        body = base64.encodebytes(data)
        if draw(st.booleans()):
            body = body.rstrip(b"=\n") + b"\n"  # padding missing: a defect
    elif cte == "quoted-printable":
        body = quopri.encodestring(data)
    else:
        body = data
    return head + b"\r\n" + body + b"\r\n"


def _multipart(children: list[bytes], kind: str, disposition: str, start: bool) -> bytes:
    head = f'Content-Type: multipart/{kind}; boundary="B{len(children)}x"\r\n'.encode()
    if disposition:
        head += disposition.encode() + b"\r\n"
    boundary = f"--B{len(children)}x".encode()
    body = b"".join((boundary + b"\r\n" if start or i else b"") + c for i, c in enumerate(children))
    return head + b"\r\n" + body + boundary + b"--\r\n"


def _trees():
    return st.recursive(
        _leaf(),
        lambda inner: st.one_of(
            st.builds(
                _multipart,
                st.lists(inner, min_size=1, max_size=3),
                st.sampled_from(["mixed", "alternative", "related"]),
                st.sampled_from(
                    ["", "Content-Disposition: attachment", 'Content-Disposition: x; filename="a"']
                ),
                st.booleans(),
            ),
            inner.map(lambda m: b"Content-Type: message/rfc822\r\n\r\n" + m),
        ),
        max_leaves=5,
    )


def _ours(raw: bytes):
    msg = _message_from_bytes(raw)
    try:
        parts = read_parts(msg)
    except Exception as exc:
        return type(exc).__name__, sorted(type(d).__name__ for d in msg.defects)
    found = [(_mask(n), t, s) for n, t, s in parts.attachments]
    return (list(parts.plain), list(parts.html), found), sorted(
        type(d).__name__ for d in msg.defects
    )


def _theirs(raw: bytes):
    msg = _message_from_bytes(raw)
    try:
        mail = mailparser.MailParser(msg)
    except Exception as exc:
        return type(exc).__name__, sorted(type(d).__name__ for d in msg.defects)
    found = [
        (_mask(a["filename"]), a["mail_content_type"], len(a["payload"] or ""))
        for a in mail.attachments
    ]
    result = (list(mail.text_plain), list(mail.text_html), found)
    return result, sorted(type(d).__name__ for d in msg.defects)


def _mask(name: str) -> str:
    return _RANDOM_NAME.sub(r"<random>.\1", name)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_trees(), st.sampled_from([b"", b"MIME-Version: 1.0\r\n"]), st.binary(max_size=20))
def test_bodies_and_attachments_as_mail_parser_read_them(tree, extra, epilogue):
    raw = b"From: kari@example.org\r\nSubject: x\r\n" + extra + tree + epilogue
    assert _ours(raw) == _theirs(raw)


_DECOMPOSED = base64.b64encode("Bla\u030ab\u00e6r".encode()) + b"\r\n"


@pytest.mark.parametrize(
    "raw",
    [
        # a decoded body in NFC; one left as the parser holds it as it is
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + _DECOMPOSED,
        "Content-Type: text/plain; charset=utf-8\r\n\r\nBla\u030ab\r\n".encode(),
        # a charset that fails, then UTF-8; a name in raw 8-bit bytes
        b"Content-Type: text/html; charset=bogus\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + _DECOMPOSED,
        b'Content-Type: application/pdf; name="m\xc3\xb8te.pdf"\r\n\r\n%PDF\r\n',
    ],
)
def test_chosen_parts_read_as_mail_parser_read_them(raw):
    assert _ours(b"From: a@b.example\r\n" + raw) == _theirs(b"From: a@b.example\r\n" + raw)


def test_a_part_without_its_start_boundary_is_looked_for_in_the_epilogue():
    raw = (
        b'From: a@b.example\r\nContent-Type: multipart/mixed; boundary="T"\r\n\r\n'
        b'--T\r\nContent-Type: multipart/alternative; boundary="I"\r\n\r\nno start\r\n'
        b"--T--\r\nepilogue --T\r\nContent-Type: text/plain\r\n\r\nfound\r\n--T--\r\n"
    )
    assert _ours(raw) == _theirs(raw)
