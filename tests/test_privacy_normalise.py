"""Numbers are found as a reader sees them (gateway/privacy/normalise.py): split by any
dash, dot, no-break or zero-width space or soft hyphen, folded or soft-broken over two
lines, in full-width digits, glued to their label; and redacted in the text as written."""

from __future__ import annotations

import pytest
from test_privacy import DNR, FNR, PNR, SAMNR

from gateway.privacy import find_personal_data, redact_text
from gateway.privacy.normalise import normalise

SEPARATORS = ["\u2013", "\u2014", "\u2212", "\u2011", ".", "\u00a0", "\u202f", "\u200b",
              "\u00ad", "\u2060", " - ", " \u2013 ", "   ", " \n", " \r\n", "\ufeff"]  # fmt: skip


@pytest.mark.parametrize("sep", SEPARATORS)
@pytest.mark.parametrize(
    ("number", "cut", "kind"),
    [
        (FNR, 6, "fodselsnummer"),
        (DNR, 6, "d-nummer"),
        (PNR.replace("-", ""), 6, "personnummer"),
        (SAMNR, 6, "samordningsnummer"),
    ],  # fmt: skip
)
def test_identity_numbers_with_any_separator(number, cut, kind, sep):
    text = f"Bruker {number[:cut]}{sep}{number[cut:]} ble flyttet."
    found = find_personal_data(text)
    assert [f.kind for f in found] == [kind], repr(text)
    redacted, _ = redact_text(text)
    assert number[:cut] not in redacted and number[cut:] not in redacted


def test_flowed_soft_break_with_delsp_joins_without_a_space():
    """format=flowed; DelSp=yes: the space before the break goes too, the digits join."""
    for cut in range(1, 11):
        text = f"Fnr {FNR[:cut]} \r\n{FNR[cut:]} her"
        assert [f.kind for f in find_personal_data(text)] == ["fodselsnummer"], cut


def test_full_width_digits():
    wide = "".join(chr(0xFF10 + int(d)) for d in FNR)
    assert [f.kind for f in find_personal_data(f"nr {wide}")] == ["fodselsnummer"]


@pytest.mark.parametrize(
    "label",
    [
        "fnr",
        "fnr.",
        "f.nr",
        "f.nr.",
        "F.nr:",
        "pnr",
        "pnr.",
        "personnr",
        "d-nr",
        "dnr",
        "D-nr.",
        "fodselsnr",
    ],  # fmt: skip
)
def test_labels_glued_to_the_number(label):
    for number in (FNR, PNR, PNR.replace("-", "")):
        found = find_personal_data(f"Gjelder {label}{number} i dag")
        assert len(found) == 1 and found[0].text == number, (label, number)


@pytest.mark.parametrize(
    "text",
    [
        "tlf41234567",
        "Tlf.41234567",
        "Telnr: 41234567",
        "Mobnr 41234567",
        "mob.412 34 567",
        "Kontaktnr: 41234567",
        "Privatnr 412 34 567",
        "Direkte: 41 23 45 67",
        "Vakt 41234567",
        "Kontaktnummer: 412.34.567",
        "Ring 41-23-45-67",
        "tlf +47-412-34-567",
        "tlf 412\u201334\u2013567",
        "tlf 412\u00a034\u00a0567",
    ],  # fmt: skip
)
def test_phone_numbers_after_labels_and_in_every_notation(text):
    assert [f.kind for f in find_personal_data(text)] == ["telefonnummer"], text


@pytest.mark.parametrize(
    "text",
    ["12.03.2026", "kr 1.234.567", "Saksnr 2026-0412", "versjon 4.12.34.56", "2026-03-12",
     "Faktura 41234567", "Ordrenr: 412 34 567", "fra 10.20.30.40", "server 99.99.49.50",
     "Sum kr 41 23 45 67", "AVV-2026-0412", "kl. 10:15 12.03.2026", "2026\u201303\u201312"],
)  # fmt: skip
def test_no_new_false_positives_on_dates_amounts_and_references(text):
    assert find_personal_data(text) == [], text


def test_findings_are_spans_of_the_text_as_written():
    text = f"Fnr: {FNR[:6]}\u00ad\u200b{FNR[6:]}, tlf\u00a0412\u00a034\u00a0567."
    found = find_personal_data(text)
    assert [text[f.start : f.end] for f in found] == [f.text for f in found]
    assert [f.kind for f in found] == ["fodselsnummer", "telefonnummer"]
    assert redact_text(text)[0] == (
        "Fnr: [fødselsnummer fjernet], tlf\u00a0[telefonnummer fjernet]."
    )


def test_plain_ascii_text_is_its_own_normal_form():
    assert normalise("Ring 41234567 i dag").origin is None
    n = normalise("a\u00adb\u2013c")
    assert n.text == "ab-c" and n.span(0, 4) == (0, 5)
