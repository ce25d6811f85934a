"""All the text an attachment holds is scanned, and what cannot be read completely is
held back from a redacted party (gateway/privacy/scanners/, policy.deidentify)."""

from __future__ import annotations

import dataclasses
import io
import time
import zipfile

import pytest
from attachment_samples import docx, formats, pdf, zip_of
from conftest import make_mail
from test_privacy import FNR

from gateway.parse import parse
from gateway.privacy import find_personal_data
from gateway.privacy.policy import deidentify
from gateway.privacy.scanners import Limits, read_attachment

PLACES = ["body", "content_control", "insertion", "deletion", "text_box", "comment",
          "footnote", "header"]  # fmt: skip


def kinds(contents) -> list[str]:
    return sorted({f.kind for f in find_personal_data(contents.text)})


@pytest.mark.parametrize("fmt", list(formats(FNR)))
def test_every_format_is_read(fmt):
    name, data, ctype = formats(FNR)[fmt]
    read = read_attachment(name, ctype, data)
    assert read.complete, read.why
    assert kinds(read) == ["fodselsnummer"]


@pytest.mark.parametrize("place", PLACES)
def test_docx_every_story_part(place):
    read = read_attachment("skjema.docx", "application/octet-stream", docx(FNR, place))
    assert read.complete and kinds(read) == ["fodselsnummer"], place


def test_docx_formatting_parts_are_no_ones_numbers():
    """styles.xml's rsids (w:val="41234567") would look like phone numbers."""
    read = read_attachment("a.docx", "", docx("Alt i orden", "body"))
    assert read.complete and kinds(read) == []


def test_pdf_form_with_one_digit_per_box():
    read = read_attachment("skjema.pdf", "application/pdf", pdf(list(FNR)))
    assert kinds(read) == ["fodselsnummer"]


def test_utf16_without_a_byte_order_mark():
    for encoding in ("utf-16-le", "utf-16-be"):
        data = f"Pasient {FNR}, tlf 412 34 567".encode(encoding)
        read = read_attachment("logg.txt", "text/plain", data)
        assert kinds(read) == ["fodselsnummer", "telefonnummer"], encoding


def test_a_forwarded_message_with_an_attachment_inside():
    from attachment_samples import eml

    inner = eml("ingenting", ("journal.docx", docx(FNR, "footnote"), "application/octet-stream"))
    read = read_attachment("fwd.eml", "message/rfc822", inner)
    assert read.complete and kinds(read) == ["fodselsnummer"]


def _blank_pdf(encrypt: bool) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(612, 792)
    if encrypt:
        writer.encrypt("hemmelig", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("nuller.txt", b"0" * 2_000_000)
    return buffer.getvalue()


def _nested(depth: int) -> bytes:
    data = f"fnr {FNR}".encode()
    name = "a.txt"
    for level in range(depth):
        data, name = zip_of({name: data}), f"lag{level}.zip"
    return data


@pytest.mark.parametrize(
    ("name", "ctype", "data", "why"),
    [
        ("bilde.png", "image/png", b"\x89PNG\r\n\x1a\nxxxx", "image"),
        ("bilde.txt", "text/plain", b"\xff\xd8\xff\xe0JFIF", "image"),  # the bytes win
        ("skann.pdf", "application/pdf", _blank_pdf(False), "scanned page"),
        ("hemmelig.pdf", "application/pdf", _blank_pdf(True), "encrypted"),
        ("gammel.doc", "application/msword", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "unknown"),
        ("data.bin", "application/octet-stream", b"\x00\x01\x02", "unknown"),
        ("ødelagt.pdf", "application/pdf", b"%PDF-1.4\n\x00garbage", "unreadable pdf"),
        ("ødelagt.docx", "", docx("x")[:300], "unreadable"),
    ],
)
def test_what_cannot_be_read_completely_says_so(name, ctype, data, why):
    read = read_attachment(name, ctype, data)
    assert not read.complete and read.why.startswith(why), read


def test_limits_on_archives():
    bomb = read_attachment("b.zip", "application/zip", _bomb(), Limits(max_expanded=1_000_000))
    assert not bomb.complete and bomb.why == "archive limit"
    many = zip_of({f"{i}.txt": b"x" for i in range(20)})
    assert read_attachment("m.zip", "", many, Limits(max_entries=10)).why == "archive limit"
    assert read_attachment("d.zip", "", _nested(3)).complete
    deep = read_attachment("d.zip", "", _nested(5))
    assert not deep.complete and "depth limit" in deep.why
    assert read_attachment("a.txt", "", b"x" * 11, Limits(max_bytes=10)).why == "size limit"


def test_time_limit(monkeypatch):
    from gateway.privacy.scanners import text

    monkeypatch.setattr(text, "read_text", lambda *a, **k: time.sleep(2))
    started = time.monotonic()
    read = read_attachment("a.txt", "text/plain", b"x", Limits(seconds=0.2))
    assert time.monotonic() - started < 1.5
    assert not read.complete and read.why == "time limit"


def test_a_scanner_that_raises_is_incomplete(monkeypatch):
    from gateway.privacy.scanners import text

    def boom(*a, **k):
        raise MemoryError("no")

    monkeypatch.setattr(text, "read_xml", boom)
    read = read_attachment("a.xml", "application/xml", b"<a/>")
    assert not read.complete and read.why == "unreadable xml"


def _report(*attachments) -> bytes:
    return make_mail(body="Se vedlegg.", attachments=list(attachments))


def test_unreadable_attachments_are_held_back_for_a_redacted_party(ruleset):
    msg = parse(_report(("skjerm.png", b"\x89PNG\r\n\x1a\nxx", "image/png"),
                        ("logg.txt", b"Feilkode 42", "text/plain")))  # fmt: skip
    shown = deidentify(msg, ruleset)
    assert shown.withheld == ["skjerm.png"] and shown.unreadable == ["skjerm.png"]
    assert "skjerm.png" in shown.skip and "logg.txt" not in shown.skip
    assert shown.findings == []


def test_the_switch_relays_unreadable_attachments(ruleset):
    policy = dataclasses.replace(ruleset.privacy, unreadable_attachments="relay")
    relaxed = dataclasses.replace(ruleset, privacy=policy)
    msg = parse(
        _report(
            ("skjerm.png", b"\x89PNG\r\n\x1a\nxx", "image/png"),
            ("journal.docx", docx(FNR, "insertion"), "application/octet-stream"),
        )
    )
    shown = deidentify(msg, relaxed)  # fmt: skip
    assert shown.withheld == ["journal.docx"] and shown.unreadable == []
    assert [f.kind for f in shown.findings] == ["fodselsnummer"]


def test_the_switch_is_read_from_rules_yaml(tmp_path):
    from conftest import ROOT

    from gateway.rules.loader import load_rules

    text = (ROOT / "rules.yaml").read_text(encoding="utf-8")
    assert "\nprivacy:\n" in text
    relaxed = text.replace("\nprivacy:\n", "\nprivacy:\n  unreadable_attachments: relay\n", 1)
    (tmp_path / "rules.yaml").write_text(relaxed, encoding="utf-8")
    assert load_rules(tmp_path / "rules.yaml").privacy.unreadable_attachments == "relay"
    (tmp_path / "rules.yaml").write_text(relaxed.replace(": relay", ": maybe"), "utf-8")
    with pytest.raises(Exception, match="hold or relay"):
        load_rules(tmp_path / "rules.yaml")
