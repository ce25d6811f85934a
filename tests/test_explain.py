"""Triage notes say in the deployment's language what was found, then the rule's name."""

from __future__ import annotations

import datetime as dt

from conftest import make_mail

from gateway.decide.classify import classify_bytes

AT = dt.datetime(2026, 3, 10, 10, 0, tzinfo=dt.UTC)
CENTRE = "operator.responssenter@kristiansand.kommune.example"


def explained(raw: bytes, ruleset, mailbox: str = "support", db=None) -> dict:
    return classify_bytes(raw, ruleset, mailbox, AT, db)


def test_an_unknown_domain_is_named(ruleset):
    got = explained(make_mail(frm="ola@helse.vennesla.kommune.example"), ruleset)
    assert got["decision"] == "triage"
    assert got["explanation"] == (
        "avsenderens domene helse.vennesla.kommune.example er ikke med i rules.yaml "
        "(regel: not-a-flow)"
    )


def test_the_municipalities_found_are_named(ruleset):
    raw = make_mail(frm=CENTRE, to="responssenter@trygghet-agder.example",
                    subject="Alarm i Risør og Valle", body="To brukere.")  # fmt: skip
    got = explained(raw, ruleset, "responssenter")
    assert got["decision"] == "triage"
    assert got["explanation"].startswith("meldingen nevner både Risør og Valle (regel: ")


def test_no_municipality_named(ruleset):
    raw = make_mail(frm=CENTRE, to="responssenter@trygghet-agder.example",
                    subject="Alarm", body="En bruker har problemer.")  # fmt: skip
    got = explained(raw, ruleset, "responssenter")
    assert got["explanation"].startswith("meldingen nevner ingen kommune (regel: ")


def test_a_forged_sender_is_named_with_the_chain_rule(ruleset):
    raw = (
        b"Authentication-Results: mx.example; dmarc=fail header.from=vennesla.kommune.example\r\n"
        + make_mail()
    )
    got = explained(raw, ruleset)
    assert got["decision"] == "triage"
    assert "vennesla.kommune.example feilet DMARC" in got["explanation"]
    assert got["explanation"].endswith("(regel: forged-sender)")


def test_a_reference_to_no_case_is_named(ruleset, fresh_db):
    raw = make_mail(subject="SV: [AVVIK-2020-9999] Alarm")
    got = explained(raw, ruleset, db=fresh_db)
    assert got["decision"] == "triage"
    assert got["explanation"] == (
        "meldingen viser til AVVIK-2020-9999, som ikke finnes i sakslogen "
        "(regel: unknown-reference)"
    )


def test_a_relay_is_not_explained(ruleset):
    assert "explanation" not in explained(make_mail(), ruleset)
