"""Tests for gateway.privacy: identity numbers, phones, e-mail, redaction, attachments.

All identity numbers are synthetic: python-stdnum's own documented examples or numbers built
here with stdnum's check-digit functions from made-up dates. None belongs to a known person.
"""

from __future__ import annotations

import io

import docx
import pytest
from attachment_samples import pdf
from stdnum import luhn
from stdnum.no import fodselsnummer

from gateway.privacy import (
    KINDS,
    Finding,
    attachment_text,
    find_personal_data,
    html_to_text,
    redact,
    redact_text,
)


def no_number(first9: str) -> str:
    """A Norwegian number with valid check digits after `first9` (DDMMYY + 3 digits)."""
    for _ in range(1000):
        k1 = fodselsnummer.calc_check_digit1(first9)
        k2 = fodselsnummer.calc_check_digit2(first9 + k1) if len(k1) == 1 else "10"
        if len(k1) == len(k2) == 1:
            return first9 + k1 + k2
        first9 = first9[:6] + f"{int(first9[6:]) + 1:03d}"  # next individual number
    raise AssertionError("no valid number")


def se_number(first9: str) -> str:
    """A Swedish 10-digit number with a valid Luhn digit after YYMMDD + 3 digits."""
    return first9 + luhn.calc_check_digit(first9)


FNR = "15108695088"  # stdnum's documented example
FNR_BAD = "15108695077"  # stdnum's documented invalid example
DNR = no_number("551086950")  # D-number: day 15 + 40
HNR = no_number("155086950")  # H-number: month 10 + 40, stdnum accepts it
FHNR = no_number("812345678")  # FH-number: no date, check digits only
PNR = "880320-0016"  # stdnum's documented example
PNR_BAD = "880320-0018"
SAMNR = se_number("880380001")  # samordningsnummer: day 20 + 60


def kinds(text: str, **kwargs) -> list[tuple[str, str]]:
    return [(f.kind, f.text) for f in find_personal_data(text, **kwargs)]


# --- identity numbers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "kind"),
    [
        (FNR, "fodselsnummer"),
        ("151086 95088", "fodselsnummer"),
        ("151086-95088", "fodselsnummer"),
        (DNR, "d-nummer"),
        (f"{DNR[:6]} {DNR[6:]}", "d-nummer"),
        (HNR, "fodselsnummer"),
        (FHNR, "fodselsnummer"),
        (PNR, "personnummer"),
        ("880320+0016", "personnummer"),
        ("880320 0016", "personnummer"),
        ("8803200016", "personnummer"),
        ("19880320-0016", "personnummer"),
        ("198803200016", "personnummer"),
        ("19880320 0016", "personnummer"),
        ("811228-9841", "personnummer"),
        (SAMNR, "samordningsnummer"),
        (f"{SAMNR[:6]}-{SAMNR[6:]}", "samordningsnummer"),
        (f"19{SAMNR}", "samordningsnummer"),
    ],
)
def test_valid_identity_numbers_in_plain_text(written: str, kind: str) -> None:
    text = f"Bruker med nr. {written} falt i natt."
    assert kinds(text) == [(kind, written)]
    finding = find_personal_data(text)[0]
    assert text[finding.start : finding.end] == written


def test_stdnum_facts_the_detector_relies_on() -> None:
    from stdnum.se import personnummer

    assert fodselsnummer.is_valid(DNR)  # stdnum accepts D-numbers ...
    assert not personnummer.is_valid(SAMNR)  # ... but not samordningsnummer: handled here


@pytest.mark.parametrize(
    "written",
    [
        FNR_BAD,
        "151086 95077",
        DNR[:-1] + str((int(DNR[-1]) + 1) % 10),
        PNR_BAD,
        "8803200018",
        SAMNR[:-1] + str((int(SAMNR[-1]) + 1) % 10),
        "881320-0016",  # month 13
        "21880320-0016",  # no such century
        "12345678901",
        "00000000000",
    ],
)
def test_invalid_identity_numbers_are_not_findings(written: str) -> None:
    assert kinds(f"Nummer {written} oppgitt.", phones=False) == []


@pytest.mark.parametrize(
    "text",
    [
        "Ordre 123456789012345 levert",  # longer run containing a valid number
        f"Ordre 9{FNR} levert",
        f"Ordre {FNR}7 levert",
        f"Beløp 0.{FNR}",
        f"Verdi {FNR},5",
        f"Ordre 1{PNR.replace('-', '')}",
        f"<4f0{PNR.replace('-', '')}a@example.org>",  # message-id / hex token
        f"{PNR.replace('-', '')}.q9JJajf@example.org",
    ],
)
def test_numbers_must_stand_alone(text: str) -> None:
    assert kinds(text, phones=False, emails=False) == []


def test_numbers_in_html_and_file_names() -> None:
    html = f"<tr><td>Pasient</td><td>151086&nbsp;95088</td></tr><p>{PNR}</p>"
    assert kinds(html) == [("fodselsnummer", "151086&nbsp;95088"), ("personnummer", PNR)]
    assert kinds(html_to_text(html)) == [
        ("fodselsnummer", "151086\u00a095088"),
        ("personnummer", PNR),
    ]
    assert kinds(f"skanning_{FNR}.pdf") == [("fodselsnummer", FNR)]
    assert kinds(f"avvik {DNR[:6]}-{DNR[6:]}.docx") == [("d-nummer", f"{DNR[:6]}-{DNR[6:]}")]


# --- phone numbers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written",
    [
        "91234567",
        "412 34 567",
        "22 33 44 55",
        "+47 91234567",
        "+4791234567",
        "(+47) 41234567",
        "0047 912 34 567",
        "0047 22334455",
    ],
)
def test_phone_numbers_found(written: str) -> None:
    assert kinds(f"Pårørende kan nås på {written}.") == [("telefonnummer", written)]


def test_phone_numbers_with_labels() -> None:
    assert kinds("tlf:91234567, mob. 412 34 567") == [
        ("telefonnummer", "91234567"),
        ("telefonnummer", "412 34 567"),
    ]
    assert kinds("Telefonnummer: 22334455") == [("telefonnummer", "22334455")]
    assert kinds("Tlf 22334455/91234567") == [
        ("telefonnummer", "22334455"),
        ("telefonnummer", "91234567"),
    ]
    assert kinds("navn;telefon\nKari;91234567;Oslo") == [("telefonnummer", "91234567")]


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize(
    "line_before", ["Se punkt 4.", "Møtet var 12.03.", "Sak 55146,", "kl. 10:"]
)
def test_phone_number_at_the_start_of_a_line_whatever_the_line_endings(line_before, eol):
    """A line ending in a digit and punctuation says nothing about the number on the next
    line: found alike in LF text (HTML bodies, the case log's new text) and CRLF text."""
    text = f"{line_before}{eol}98765432 er nummeret til pårørende.{eol}"
    assert kinds(text) == [("telefonnummer", "98765432")]


@pytest.mark.parametrize("end", ["", "\n", "\r\n", " ", "\nneste linje"])
def test_a_slash_or_dash_at_the_end_of_a_line_glues_the_number_to_nothing(end):
    """The same finding at the end of the text, of a line, or before a space: the case
    log's new text ends where the relayed body has a line break."""
    assert kinds(f"Pårørende 91234567/{end}") == [("telefonnummer", "91234567")]
    assert kinds(f"Pårørende 91234567-{end}") == [("telefonnummer", "91234567")]
    assert kinds(f"sti 91234567/abc{end}") == kinds(f"id 91234567-x{end}") == []


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\n\n"])
def test_a_unit_on_the_next_line_is_no_unit_of_the_number(eol):
    text = f"Pårørende 91234567{eol}kr 250 i egenandel, 3 MB{eol}bytes"
    assert kinds(text) == [("telefonnummer", "91234567")]
    assert kinds(f"Pårørende 91234567\u00a0kr{eol}") == []  # on its line: an amount


@pytest.mark.parametrize(
    "text",
    [
        "Hendelsen skjedde 10.03.2026 kl. 06.10",
        "Registrert i TQM 55146 og Asys-12345, sak AVVIK-2026-0042",
        "Tidspunkt 2026-03-10T12:34:56+01:00 i 2026",
        "Fil rapport_20260310.pdf og 22102026",  # YYYYMMDD and DDMMYYYY
        "Beløp kr 45 000, totalt kr 91234567 eller 41234567 kr eller 41234567,-",
        "Ordrenummer: 91234567, Saksnr 41234567, Invoice #22334455",
        "TID                    : 95227541",
        "Ring 12345678 eller 80012345",  # starts with 1; 8xx service number
        "Svensk +46 91234567, tysk +49 30 91234567, dansk +45 41 23 45 67",
        "Kontonummer 1234 56 78901 og ordre 123456789, 9123456789",
        "Amount 12 345 678 and 3 912 345,50",
        "RULEID:(22001)(23075)(71702078)(3001016)",
        "Message-Id: <66681288.e06d1.3824794@df.example.jp>",
        "dump 8b 57 18 48 85 d2 74",
        "server!0000000022!22222222!2",
        "størrelse 41234567 bytes",
        f"Fødselsnummer {FNR}",
    ],
)
def test_phone_false_positives_avoided(text: str) -> None:
    assert [k for k in kinds(text) if k[0] == "telefonnummer"] == []


def test_phones_can_be_turned_off() -> None:
    assert kinds("tlf 91234567", phones=False) == []


# --- e-mail addresses ---------------------------------------------------------------------


def test_unknown_addresses_found_known_skipped() -> None:
    text = (
        "Fra Kari.Nordmann@Vennesla.kommune.example, kopi support@leverandor.example, "
        "ola@sub.leverandor.example, eve@evilleverandor.example og mailto:per@x.example."
    )
    known = ["*@Leverandor.example", "kari.nordmann@vennesla.kommune.example"]
    assert kinds(text, known_addresses=known) == [
        ("e-postadresse", "ola@sub.leverandor.example"),
        ("e-postadresse", "eve@evilleverandor.example"),
        ("e-postadresse", "per@x.example"),
    ]
    assert len(kinds(text)) == 5
    assert kinds(text, emails=False) == []


# --- redaction ----------------------------------------------------------------------------


def test_redact_replaces_only_the_findings() -> None:
    text = f"Bruker {FNR} (tlf 912 34 567, e-post ola@x.example) og {SAMNR}.\nHilsen Kari"
    redacted, findings = redact_text(text)
    assert [f.kind for f in findings] == [
        "fodselsnummer",
        "telefonnummer",
        "e-postadresse",
        "samordningsnummer",
    ]
    assert redacted == (
        "Bruker [fødselsnummer fjernet] (tlf [telefonnummer fjernet], e-post "
        "[e-postadresse fjernet]) og [samordningsnummer fjernet].\nHilsen Kari"
    )
    assert redact("Ingen funn her.", []) == "Ingen funn her."
    assert set(KINDS) == {
        "fodselsnummer",
        "d-nummer",
        "personnummer",
        "samordningsnummer",
        "telefonnummer",
        "e-postadresse",
    }


def test_adjacent_findings_each_get_a_marker() -> None:
    text = f"{PNR}/{DNR};ola@x.example"
    redacted, findings = redact_text(text)
    assert [f.kind for f in findings] == ["personnummer", "d-nummer", "e-postadresse"]
    assert redacted == "[personnummer fjernet]/[D-nummer fjernet];[e-postadresse fjernet]"


def test_overlapping_findings_are_merged() -> None:
    text = f"Svar til {FNR}@kommune.example takk"
    findings = find_personal_data(text)
    assert [(f.kind, f.text) for f in findings] == [("e-postadresse", f"{FNR}@kommune.example")]
    # A known address still hides the number inside it.
    redacted, _ = redact_text(text, known_addresses=["*@kommune.example"])
    assert redacted == "Svar til [fødselsnummer fjernet]@kommune.example takk"
    # Hand-made overlapping findings are collapsed, never leaving a fragment behind.
    manual = [
        Finding("telefonnummer", 0, 8, "91234567"),
        Finding("e-postadresse", 4, 12, "4567 abc"),
    ]
    assert redact("91234567 abc def", manual) == "[telefonnummer fjernet] def"


def test_redact_rejects_findings_from_another_text() -> None:
    with pytest.raises(ValueError):
        redact("abc", [Finding("telefonnummer", 0, 3, "xyz")])


# --- attachments --------------------------------------------------------------------------


def make_pdf(line: str) -> bytes:
    """A minimal one-page PDF with one line of text (tests/attachment_samples.py)."""
    return pdf([line])


def make_docx() -> bytes:
    document = docx.Document()
    document.add_paragraph(f"Bruker {FNR} ble funnet.")
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "Pårørende"
    table.cell(0, 1).text = PNR
    header = document.sections[0].header
    header.is_linked_to_previous = False
    header.paragraphs[0].text = "Vakttelefon 412 34 567"
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_pdf_attachment_text() -> None:
    text = attachment_text("avvik.pdf", "application/pdf", make_pdf(f"Pasient {FNR} falt"))
    assert text is not None and kinds(text) == [("fodselsnummer", FNR)]
    by_name = attachment_text("avvik.PDF", "application/octet-stream", make_pdf(FNR))
    assert by_name is not None and FNR in by_name


def test_docx_attachment_paragraphs_and_tables() -> None:
    text = attachment_text("avvik.docx", "application/octet-stream", make_docx())
    assert text is not None
    assert kinds(text) == [
        ("fodselsnummer", FNR),
        ("personnummer", PNR),
        ("telefonnummer", "412 34 567"),
    ]


@pytest.mark.parametrize(
    "content_type",
    ["application/pdf", "application/x-pdf", 'application/pdf name="a.pdf"', "text/plain", ""],
)
def test_pdf_recognised_despite_odd_content_type(content_type: str) -> None:
    text = attachment_text("Avvik.pdf", content_type, make_pdf(FNR))
    assert text is not None and FNR in text


def test_pdf_without_readable_text_is_empty() -> None:
    from pypdf import PdfWriter

    for encrypt in (False, True):
        writer = PdfWriter()
        writer.add_blank_page(612, 792)  # like a scanned page: no text layer
        if encrypt:
            writer.encrypt("hemmelig", algorithm="RC4-128")
        buffer = io.BytesIO()
        writer.write(buffer)
        assert attachment_text("skann.pdf", "application/pdf", buffer.getvalue()) == ""


@pytest.mark.parametrize(
    ("filename", "content_type"),
    [("avvik.pdf", "application/pdf"), ("avvik.docx", "application/octet-stream")],
)
def test_broken_documents_return_empty_text(filename: str, content_type: str) -> None:
    assert attachment_text(filename, content_type, b"%PDF-1.4\n\x00garbage") == ""
    assert attachment_text(filename, content_type, make_docx()[:500]) == ""


def test_text_attachments_and_charsets() -> None:
    body = f"Fødselsnummer {FNR}"
    latin = body.encode("latin-1")
    assert attachment_text("a.txt", "text/plain; charset=iso-8859-1", latin) == body
    assert attachment_text("a.txt", "text/plain", latin) == body  # cp1252 fallback
    assert attachment_text("a.txt", "text/plain; charset=bogus", body.encode()) == body
    assert attachment_text("liste.csv", "application/octet-stream", b"navn;nr\nx;1") == (
        "navn;nr\nx;1"
    )
    html = b"<html><style>p{}</style><script>var x=1</script><p>Tlf&nbsp;91234567</p></html>"
    shown = attachment_text("a.html", "text/html", html)
    assert shown.strip().startswith("Tlf\u00a091234567\n")  # as shown first, then every tag
    assert kinds(shown) == [("telefonnummer", "91234567")] * 2  # dropped (hidden text too)


def test_unscanned_and_oversized_attachments() -> None:
    assert attachment_text("bilde.png", "image/png", b"\x89PNG") is None
    assert attachment_text("ukjent.bin", "application/octet-stream", b"\x00\x01") is None
    assert attachment_text("ark.xlsx", "application/octet-stream", b"PK") == ""  # read now
    assert attachment_text("a.txt", "text/plain", b"x" * 11, max_bytes=10) == ""


def test_every_kind_has_its_marker_and_label_in_one_registry() -> None:
    from gateway.privacy.policy import Deidentified

    for kind in KINDS.values():
        assert kind.marker().startswith("[") and kind.marker().endswith("]"), kind.name
        assert kind.label(1).startswith("1 ") and kind.label(3).startswith("3 "), kind.name
    assert KINDS["fodselsnummer"].marker() == "[fødselsnummer fjernet]"
    assert KINDS["e-postadresse"].label(1) == "1 e-postadresse"
    assert KINDS["e-postadresse"].label(2) == "2 e-postadresser"
    findings = [Finding("e-postadresse", 0, 1, "x")] * 2 + [Finding("d-nummer", 0, 1, "x")]
    assert Deidentified("", "", "", findings).summary() == "2 e-postadresser, 1 D-nummer"
