"""The renderer writes headers and text bodies itself (gateway/headers.py), without the
stdlib's header objects. These tests hold it to what
EmailMessage(policy=SMTP) would have written: the same headers and values after parsing,
the same decoded body and attachments, and well-formed lines."""

from __future__ import annotations

import email
import email.policy
import email.utils
import random
from email.message import EmailMessage
from pathlib import Path

import pytest
from conftest import RECEIPT_CONTEXT

from gateway.headers import SMTP, address_header, header, qp_body
from gateway.parse import parse
from gateway.render import Renderer, automatic_headers, copy_attachments
from gateway.rules.own_mail import MARKER

TEMPLATE = "{% block subject %}{{ subject }}{% endblock %}{% block body %}{{ text }}{% endblock %}"

SUBJECTS = [
    "",
    "Enkel",
    "Avvik på tjenesten – Grimstad æøå ÆØÅ",
    "Sv: Re: VS: [AGD-2026-00012] Pasient ble ikke hentet på Sørlandet sykehus Arendal",
    "ordet " * 40 + "slutt",
    "æ" * 200,
    "ø" + "x" * 150 + " " + "å" * 3,
    "x" * 120,
    "Hei =?utf-8?q?ikke_kodet?= der",
    "tab\there",
    "NUL\x00inne og \x7f DEL",
    "emoji 🚑 ambulanse 🚒 brann",
    "  ledende og etterfølgende  ",
    "mange   mellomrom   mellom  ord",
    "中文 日本語 한국어 Ελληνικά русский",
    "___ = ? _ =? ?= ==",
    "a" * 77,
    "b" * 78,
    "ends with newline\n",
]

BODIES = [
    "",
    "Hei\n\nKort tekst.\n",
    "Linje med trailing space \nog tab\t\nog = tegn\n.\n..\nFrom mann\n",
    "Windows\r\nlinjer\r\nog\rCR alene",
    "æøå " * 400,
    "x" * 500 + "\n" + "ø" * 300,
    "emoji 🚑\n" * 10,
    "\x00\x01 kontroll \x0c tegn\n",
]


def _reference(
    subject, body, message_id, date, to, cc, reply_to, thread, marker, headers, original=None
):
    """The message as render.py wrote it before: every header through EmailMessage,
    with the Reply-To on the first intake mailbox when none is given and the headers
    against automatic answers (both added for issue 17)."""
    reply_to = reply_to or "support@trygghet-agder.example"
    headers = automatic_headers("relay") | headers
    msg = EmailMessage(policy=SMTP)
    msg["From"] = email.utils.formataddr(("Avviksgatewayen", "gw@example.no"))
    msg["To"] = ", ".join(to)
    if cc:
        msg["Cc"] = ", ".join(cc)
    msg["Subject"] = subject
    msg["Date"] = date
    msg["Message-ID"] = message_id
    if reply_to:
        msg["Reply-To"] = reply_to
    if thread is not None:
        msg["In-Reply-To"] = thread[0]
        msg["References"] = " ".join(thread[1])
    msg[MARKER] = marker
    for name, value in headers.items():
        msg[name] = value
    msg.set_content(body, charset="utf-8", cte="quoted-printable")
    if original is not None:
        copy_attachments(original, msg)
    return msg.as_bytes(policy=SMTP)


def _check_wellformed(raw: bytes) -> None:
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"\n" not in raw.replace(b"\r\n", b""), "a bare LF"
    assert b"\r" not in raw.replace(b"\r\n", b""), "a bare CR"
    for line in head.split(b"\r\n"):
        assert line.isascii()
        assert b"\x00" not in line
        assert len(line) <= 78 or b" " not in line.strip(), line


def _compare(ours: bytes, theirs: bytes, intended: dict[str, str] | None = None) -> None:
    """Same headers, values and parts. ``intended``: values that must parse back as
    given; the stdlib's folding loses a space before an encoded word that it moves to a
    new line ("hentet \\r\\n =?utf-8?q?p=C3=A5?= =?utf-8?q?S=C3=B8rlandet?=" reads as
    "hentet  påSørlandet"), so its output is not the reference there."""
    intended = intended or {}
    a = email.message_from_bytes(ours, policy=email.policy.default)
    b = email.message_from_bytes(theirs, policy=email.policy.default)
    assert [k.lower() for k in a.keys()] == [k.lower() for k in b.keys()]
    for name in b.keys():
        if name.lower() in ("date", "message-id"):
            continue
        if name.lower() == "content-type" and a.is_multipart():
            assert a.get_content_type() == b.get_content_type()
            continue
        want = intended.get(name, str(b[name]))
        assert str(a[name]).strip() == want.strip(), name
    assert not a.defects, a.defects
    pa, pb = list(a.walk()), list(b.walk())
    assert [p.get_content_type() for p in pa] == [p.get_content_type() for p in pb]
    for x, y in zip(pa, pb, strict=True):
        if not x.is_multipart():
            assert x.get_payload(decode=True) == y.get_payload(decode=True)
            assert x.get_filename() == y.get_filename()
            assert x.get_content_charset() == y.get_content_charset()


@pytest.fixture(scope="module")
def renderer(tmp_path_factory) -> Renderer:
    folder: Path = tmp_path_factory.mktemp("templates")
    (folder / "t.txt.j2").write_text(TEMPLATE, encoding="utf-8")
    return Renderer("gw@example.no", "Avviksgatewayen", override=folder)


@pytest.mark.parametrize("subject", SUBJECTS)
def test_subject_like_stdlib(renderer, subject):
    out = renderer.message(
        "t.txt.j2",
        {"subject": subject, "text": "Tekst\n"},
        purpose="relay",
        to=["a@example.no"],
        headers={"Thread-Topic": subject, "Auto-Submitted": "auto-replied"},
    )
    msg = email.message_from_bytes(out.raw, policy=email.policy.default)
    theirs = _reference(
        out.subject,
        "Tekst\n",
        msg["Message-ID"],
        msg["Date"],
        ["a@example.no"],
        [],
        None,
        None,
        "relay",
        {"Thread-Topic": subject, "Auto-Submitted": "auto-replied"},
    )
    _check_wellformed(out.raw)
    if subject.endswith("\n"):  # the stdlib writes a bare LF there: a broken header block
        assert str(msg["Thread-Topic"]) == subject
        return
    _compare(out.raw, theirs, {"Subject": out.subject, "Thread-Topic": subject})


@pytest.mark.parametrize("value", SUBJECTS + ["Sendt fra min iPhone " * 9])
def test_unstructured_header_parses_back(value):
    line = header("Thread-Topic", value).encode("ascii")
    _check_wellformed(line + b"\r\n")
    ours = email.message_from_bytes(line + b"\r\n", policy=email.policy.default)
    assert str(ours["Thread-Topic"]).strip() == value.strip()


@pytest.mark.parametrize("value", ["a\r\nBcc: x@evil.example", "a\rb", "a\nb", "a\u2028b"])
def test_line_break_in_header_raises_like_stdlib(value):
    with pytest.raises(ValueError):
        EmailMessage(policy=SMTP)["Subject"] = value
    with pytest.raises(ValueError):
        header("Subject", value)


def test_many_recipients_and_threads(renderer):
    to = [f"mottaker.nummer{i}@kristiansand.kommune.no" for i in range(25)]
    cc = ["kopi@example.no", "ÆØÅ <aeoa@example.no>", '"Hansen, Ole" <ole@example.no>']
    refs = [f"<{i}.{'r' * 30}@mail.example.com>" for i in range(12)]
    out = renderer.message(
        "t.txt.j2",
        {"subject": "Tråd", "text": "Svar\n"},
        purpose="reply",
        to=to,
        cc=cc,
        reply_to="support@example.no",
        reference="AGD-2026-00001",
        thread=(refs[-1], refs),
        headers={"Thread-Index": "AQHZ" + "A" * 40},
    )
    msg = email.message_from_bytes(out.raw, policy=email.policy.default)
    theirs = _reference(
        out.subject,
        "Svar\n",
        msg["Message-ID"],
        msg["Date"],
        to,
        cc,
        "support@example.no",
        (refs[-1], refs),
        "AGD-2026-00001",
        {"Thread-Index": "AQHZ" + "A" * 40},
    )
    _check_wellformed(out.raw)
    _compare(out.raw, theirs)
    assert [a.addr_spec for a in msg["To"].addresses] == to
    assert msg["References"].split() == refs


def _text(body: bytes) -> str:
    raw = (
        b'Content-Type: text/plain; charset="utf-8"\r\n'
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\n" + body
    )
    return email.message_from_bytes(raw, policy=email.policy.default).get_content()


@pytest.mark.parametrize("body", BODIES)
def test_body_like_stdlib(body):
    msg = EmailMessage(policy=SMTP)
    msg.set_content(body, charset="utf-8", cte="quoted-printable")
    theirs = msg.as_bytes(policy=SMTP).partition(b"\r\n\r\n")[2]
    ours = qp_body(body)
    assert b"\n" not in ours.replace(b"\r\n", b"")
    assert all(len(line) <= 78 for line in ours.split(b"\r\n"))
    import quopri

    assert quopri.decodestring(ours) == quopri.decodestring(theirs)
    assert _text(ours) == _text(theirs)


def test_random_bodies_decode_the_same():
    rng = random.Random(7)
    alphabet = "abc æøå ÆØÅ =.\t\r\n-_?🚑\x00" + "x" * 20
    for _ in range(300):
        body = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 400)))
        msg = EmailMessage(policy=SMTP)
        msg.set_content(body, charset="utf-8", cte="quoted-printable")
        theirs = msg.as_bytes(policy=SMTP).partition(b"\r\n\r\n")[2]
        assert _text(qp_body(body)) == _text(theirs), body


def test_random_headers_parse_back():
    rng = random.Random(11)
    words = ["Avvik", "på", "ÆØÅ", "=?", "x" * 90, "🚑", "", "a_b", "ord", "Grimstad", "–"]
    for _ in range(300):
        value = "".join(rng.choice(words) + rng.choice([" ", "  ", "\t", ""]) for _ in range(12))
        line = header("Subject", value).encode("ascii")
        _check_wellformed(line + b"\r\n")
        ours = email.message_from_bytes(line + b"\r\n", policy=email.policy.default)
        assert str(ours["Subject"]).strip() == value.strip(" \t"), value


def test_addresses_fold():
    to = [f"person{i}@example.no" for i in range(20)]
    text = address_header("To", to)
    assert all(len(line) <= 78 for line in text.split("\r\n"))
    msg = email.message_from_bytes(text.encode() + b"\r\n", policy=email.policy.default)
    assert [a.addr_spec for a in msg["To"].addresses] == to


def test_attachments_like_stdlib(renderer):
    original = EmailMessage()
    original["From"] = "kari@example.no"
    original["To"] = "support@example.no"
    original["Subject"] = "Med vedlegg"
    original["Message-ID"] = "<orig@example.no>"
    original.set_content("Se vedlegg")
    original.add_attachment(
        b"\x00\x01binary" * 100, "application", "octet-stream", filename="a.bin"
    )
    original.add_attachment("tekst æøå\n" * 50, filename="logg ø.txt")
    parsed = parse(original.as_bytes())
    out = renderer.message(
        "t.txt.j2",
        {"subject": "Vedlegg æ", "text": "Kropp\n"},
        purpose="relay",
        to=["a@example.no"],
        original=parsed,
        attachments=True,
    )
    msg = email.message_from_bytes(out.raw, policy=email.policy.default)
    theirs = _reference(
        out.subject,
        "Kropp\n",
        msg["Message-ID"],
        msg["Date"],
        ["a@example.no"],
        [],
        None,
        ("<orig@example.no>", ["<orig@example.no>"]),
        "relay",
        {},
        original=parsed,
    )
    _check_wellformed(out.raw)
    _compare(out.raw, theirs)
    assert [p.get_filename() for p in msg.iter_attachments()] == ["a.bin", "logg ø.txt"]


def _parts_with_root_render(renderer: Renderer, name: str, context: dict) -> tuple[str, str]:
    template = renderer.env.get_template(name)
    ctx = template.new_context(context)
    for _ in template.root_render_func(ctx):
        pass
    return tuple("".join(ctx.blocks[b][0](ctx)) for b in ("subject", "body"))  # type: ignore[return-value]


def test_blocks_render_alone_only_when_nothing_else_is_needed(tmp_path):
    """A template of blocks alone is not root-rendered first (that rendered its body
    twice); one that extends another or sets something outside its blocks still is,
    and every one gives what the full render gives."""
    (tmp_path / "sets.txt.j2").write_text(
        '{% set greeting = "Hei" %}{% import "_labels.j2" as labels %}\n'
        "{% block subject %}{{ greeting }} {{ subject }}{% endblock %}\n"
        "{% block body %}{{ greeting }}, {{ labels.kind(kind) }}{% endblock %}\n"
    )
    (tmp_path / "extends.txt.j2").write_text(
        '{% extends "default:receipt.txt.j2" %}'
        "{% block subject %}Kvittering: {{ super() }}{% endblock %}"
    )
    (tmp_path / "blocks.txt.j2").write_text(
        "\n{% block subject %}{{ subject }}{% endblock %}\n\n"
        "{% block body %}{% set x = 2 %}{{ subject }} {{ x }}{% endblock %}\n"
    )
    renderer = Renderer("gw@trygghet-agder.example", "GW", override=tmp_path)
    expected_root = {
        "sets.txt.j2": True,
        "extends.txt.j2": True,
        "blocks.txt.j2": False,
        "receipt.txt.j2": False,
        "relay.txt.j2": False,
    }
    for name, root in expected_root.items():
        assert renderer._template(name)[1] is root, name
    for name in ("sets.txt.j2", "extends.txt.j2", "blocks.txt.j2", "receipt.txt.j2"):
        assert renderer.parts(name, RECEIPT_CONTEXT) == _parts_with_root_render(
            renderer, name, RECEIPT_CONTEXT
        )
    assert renderer.parts("sets.txt.j2", RECEIPT_CONTEXT)[0] == "Hei Alarm"
    assert renderer.parts("extends.txt.j2", RECEIPT_CONTEXT)[0].startswith("Kvittering: ")
    assert renderer.parts("blocks.txt.j2", RECEIPT_CONTEXT) == ("Alarm", "Alarm 2")
