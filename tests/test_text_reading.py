"""Reading mail as a person reads it (issue 16, list 2): quote headers in the
languages mail arrives in, signatures with what follows them, disclaimers, hidden HTML,
and the decisions that follow from them."""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest
from conftest import make_mail

from gateway.text import html_to_text, new_text, strip_signature, without_disclaimer

STAFF = "operator.responssenter@kristiansand.kommune.example"
NOON = dt.datetime(2026, 3, 10, 12, 0, tzinfo=ZoneInfo("Europe/Oslo"))

# --- Quote headers ----------------------------------------------------------------------

QUOTE_HEADERS = {
    "nn-outlook": "Frå: Kari Nordmann <kari@x.no>\nSendt: tysdag 10. mars 2026 10:15\nTil: oss",
    "nn-gmail": "Den tys. 10. mars 2026 kl. 10:15 skreiv Kari Nordmann <kari@x.no>:",
    "sv-outlook": "Från: Kari <kari@x.se>\nSkickat: den 10 mars 2026 10:15\nTill: oss",
    "sv-gmail": "Den tis 10 mars 2026 kl 10:15 skrev Kari Nordmann <kari@x.se>:",
    "da-outlook": "Fra: Kari <kari@x.dk>\nSendt: 10. marts 2026 10:15\nTil: os",
    "da-gmail": "Den tir. 10. mar. 2026 kl. 10.15 skrev Kari <kari@x.dk>:",
    "de-outlook": "Von: Kari <kari@x.de>\nGesendet: Dienstag, 10. März 2026 10:15\nAn: uns",
    "de-gmail": "Am Di., 10. März 2026 um 10:15 Uhr schrieb Kari <kari@x.de>:",
    "fr-outlook": "De : Kari <kari@x.fr>\nEnvoyé : mardi 10 mars 2026 10:15\nÀ : nous",
    "fr-gmail": "Le mar. 10 mars 2026 à 10:15, Kari <kari@x.fr> a écrit :",
    "nb-outlook": "Fra: Kari <kari@x.no>\nSendt: 10. mars 2026 10:15\nTil: oss",
    "en-gmail": "On Tue, 10 Mar 2026 at 10:15, Kari <kari@x.com> wrote:",
}


@pytest.mark.parametrize("header", QUOTE_HEADERS.values(), ids=QUOTE_HEADERS.keys())
def test_quote_header_in_each_language_cuts_the_quoted_text(header):
    body = f"Takk for svaret, vi ser på det.\n\n{header}\n\nDette haster i Arendal.\n"
    assert new_text(body) == "Takk for svaret, vi ser på det."


@pytest.mark.parametrize("header", QUOTE_HEADERS.values(), ids=QUOTE_HEADERS.keys())
def test_urgent_word_only_under_a_quote_header_is_not_urgent(classify, header):
    body = f"Vi ser på saken.\n\n{header}\n\nDette haster!\n"
    assert classify(make_mail(body=body)).urgent is False


# --- Signatures -------------------------------------------------------------------------

SIGNATURES = {
    "nn": "Venleg helsing\nKari Nordmann\nOperatør\nKristiansand kommune",
    "sv": "Bästa hälsningar\nKari\nKristiansand kommune",
    "en": "Thanks,\nKari\nKristiansand kommune",
    "de": "Mit freundlichen Grüßen\nKari\nKristiansand kommune",
    "fr": "Cordialement,\nKari\nKristiansand kommune",
    "no-closing-phone": (
        "Kari Nordmann\nOperatør\nKristiansand kommune\nTlf: 38 00 00 00\n"
        "E-post: kari@kristiansand.kommune.example"
    ),
    "no-closing-contact-paragraph": (
        "Kari Nordmann\nKristiansand kommune\n\nMobil +47 900 00 000\nwww.kristiansand.kommune.no"
    ),
    "title-organisation-address": (
        "Kari Nordmann\nFagleder\nKommunalt responssenter\nKristiansand kommune\n"
        "Postboks 417 Lund\n4604 Kristiansand"
    ),
    "with-disclaimer": (
        "Kari Nordmann\nKristiansand kommune\n\nDenne e-posten kan inneholde "
        "taushetsbelagt informasjon. Er den kommet til Grimstad ved en feil, slett den."
    ),
}


@pytest.mark.parametrize("signature", SIGNATURES.values(), ids=SIGNATURES.keys())
def test_municipality_only_in_a_signature_names_no_target(signature):
    body = f"Brukeren i Arendal har ikke kontakt.\n\n{signature}\n"
    assert strip_signature(new_text(body)) == "Brukeren i Arendal har ikke kontakt."


@pytest.mark.parametrize("signature", SIGNATURES.values(), ids=SIGNATURES.keys())
def test_flow_c_is_decided_by_the_body_not_the_signature(classify, signature):
    body = f"Brukeren i Arendal har ikke kontakt.\n\n{signature}\n"
    d = classify(make_mail(frm=STAFF, subject="Alarm", body=body), "responssenter", NOON)
    assert (str(d.decision), d.flow, d.municipality) == ("relay", "c", "Arendal")


@pytest.mark.parametrize(
    "text",
    [
        "Brukeren i Arendal\nVegårshei kommune har flyttet henne.",  # a sentence
        "Takk for hjelpen i Arendal",  # a thanks that is text
        "Tlf: 38 00 00 00\nRing Arendal kommune i dag.",
    ],
)
def test_text_that_is_no_signature_is_kept(text):
    assert strip_signature(text) == text


# --- Disclaimers ------------------------------------------------------------------------

DISCLAIMER = (
    "Denne e-posten kan inneholde taushetsbelagt informasjon. Ved akutt behov for "
    "hjelp, ring 113. Er den sendt til feil mottaker, slett den."
)


def test_disclaimer_is_not_read():
    body = f"Alarmen i Arendal er rettet.\n\nMvh\nKari\n\n{DISCLAIMER}"
    assert without_disclaimer(body).endswith("Kari")
    assert without_disclaimer(DISCLAIMER) == DISCLAIMER  # the first paragraph is text


@pytest.mark.parametrize(
    "disclaimer",
    [
        DISCLAIMER,
        "________________\nThis email and any attachments are confidential. Urgent: call 113.",
        "Detta e-postmeddelande kan innehålla sekretessbelagd information. Akut: ring 112.",
    ],
)
def test_urgent_word_only_in_a_disclaimer_is_not_urgent(classify, disclaimer):
    body = f"Alarmen er rettet.\n\nMvh\nKari\n\n{disclaimer}\n"
    assert classify(make_mail(body=body)).urgent is False


def test_name_only_in_a_disclaimer_is_not_counted(classify):
    body = (
        "Brukeren i Arendal har ikke kontakt.\n\nKari\nOperatør\n\n"
        "This message may contain confidential information for Grimstad only."
    )
    d = classify(make_mail(frm=STAFF, subject="Alarm", body=body), "responssenter", NOON)
    assert (str(d.decision), d.municipality) == ("relay", "Arendal")


# --- Hidden HTML ------------------------------------------------------------------------

HIDDEN = {
    "display-none": '<span style="display:none">Grimstad haster</span>',
    "visibility": '<div style="color:red; visibility: hidden">Grimstad haster</div>',
    "font-size-zero": '<span style="font-size:0px">Grimstad haster</span>',
    "font-size-zero-pt": '<font style="FONT-SIZE: 0pt">Grimstad haster</font>',
    "white-on-white": '<span style="color:#ffffff">Grimstad haster</span>',
    "white-font": '<font color="white">Grimstad haster</font>',
    "same-as-background": (
        '<table><tr><td bgcolor="#003366"><span style="color:#003366">Grimstad haster'
        "</span></td></tr></table>"
    ),
    "hidden-attribute": "<div hidden>Grimstad haster</div>",
    "opacity": '<p style="opacity:0">Grimstad haster</p>',
    "comment": "<!-- Grimstad haster -->",
    "conditional-comment": "<!--[if mso]><p>Grimstad haster</p><![endif]-->",
}


@pytest.mark.parametrize("hidden", HIDDEN.values(), ids=HIDDEN.keys())
def test_hidden_html_text_is_not_read(hidden):
    text = html_to_text(
        f"<html><body><p>Bruker i Arendal.</p>{hidden}<p>Mvh Kari</p></body></html>"
    )
    assert "Grimstad" not in text and "haster" not in text
    assert "Bruker i Arendal." in text and "Mvh Kari" in text


@pytest.mark.parametrize(
    "html",
    [
        '<div style="background:#000"><span style="color:white">Grimstad</span></div>',
        '<span style="color:#fff"><b style="color:black">Grimstad</b></span>',
        '<div style="display:none">x</div><p>Grimstad</p>',  # after the hidden element
        '<p style="display:none">x<p>Grimstad</p>',  # a <p> ends the open <p>
        '<span style="font-size:10px">Grimstad</span>',
    ],
)
def test_visible_html_text_is_read(html):
    assert "Grimstad" in html_to_text(html)


def _html_mail(html: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = STAFF
    msg["To"] = "responssenter@trygghet-agder.example"
    msg["Subject"] = "Alarm"
    msg["Message-ID"] = "<hidden@test.example>"
    msg.set_content(html, subtype="html")
    return msg.as_bytes()


@pytest.mark.parametrize("hidden", HIDDEN.values(), ids=HIDDEN.keys())
def test_name_and_word_only_in_hidden_html_do_not_count(classify, hidden):
    html = f"<p>Brukeren i Arendal har ikke kontakt.</p>{hidden}<p>Kari</p>"
    d = classify(_html_mail(html), "responssenter", NOON)
    assert (str(d.decision), d.municipality, d.urgent) == ("relay", "Arendal", False)


# --- Names that are not targets -----------------------------------------------------------


@pytest.mark.parametrize(
    "subject, body, decision, municipality",
    [
        # the subject's only name is the hospital's: the body decides
        ("Bruker innlagt på Sykehuset i Arendal", "Brukeren bor i Froland.", "relay", "Froland"),
        (
            "Sørlandet sykehus Kristiansand ringte",
            "Gjelder bruker i Lillesand.",
            "relay",
            "Lillesand",
        ),
        # the centre's own place in its staff's subject
        ("Responssenteret i Kristiansand: alarm", "Brukeren i Birkenes.", "relay", "Birkenes"),
        # an institution in the body names nothing either
        ("Alarm", "Brukeren i Vennesla er på Sykehuset i Kristiansand.", "relay", "Vennesla"),
        # only the institution: no municipality, triage
        ("Alarm", "Brukeren er på Sykehuset i Arendal.", "triage", None),
        # the municipality itself still counts
        ("Alarm i Arendal", "Fra Sykehuset i Kristiansand.", "relay", "Arendal"),
    ],
)
def test_names_that_contain_a_municipality_name_none(
    classify, subject, body, decision, municipality
):
    d = classify(make_mail(frm=STAFF, subject=subject, body=body), "responssenter", NOON)
    assert (str(d.decision), d.municipality) == (decision, municipality)


def test_not_targets_must_hold_a_municipality(tmp_path):
    from conftest import ROOT

    from gateway.rules.loader import RulesError, load_rules

    text = (ROOT / "rules.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "rules.yaml"
    bad.write_text(text.replace("    - Kristiansand legevakt\n", "    - Legevakta\n"), "utf-8")
    with pytest.raises(RulesError, match="not_targets: 'Legevakta' holds no municipality"):
        load_rules(bad)
