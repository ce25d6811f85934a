"""The shipped rules beyond the examples: parties, flows, words, time, automatic mail."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from conftest import ROOT, make_mail

from gateway.decide.yaml_rules import _any_of
from gateway.text import literal_start, new_text

OSLO = ZoneInfo("Europe/Oslo")
SUPPLIER = ["support@leverandor.example"]
CENTRE = ["avvik.responssenter@kristiansand.kommune.example"]
ADMINS = ["admin@trygghet-agder.example"]
ON_CALL = "beredskap@trygghet-agder.example"
STAFF = "operator.responssenter@kristiansand.kommune.example"


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=OSLO)


WEEKDAY_NOON = at(2026, 3, 10, 12, 0)


@pytest.mark.parametrize(
    "sender, mailbox, flow, to, municipality",
    [
        ("per@ARENDAL.kommune.example", "support", "a", SUPPLIER, "Arendal"),
        ("per@evje-og-hornnes.kommune.example", "responssenter", "b", CENTRE, "Evje og Hornnes"),
        ("Responssenter@Kristiansand.Kommune.Example", "support", "d", SUPPLIER, None),
        ("kari@kristiansand.kommune.example", "support", "a", SUPPLIER, "Kristiansand"),
        ("kari@kristiansand.kommune.example", "responssenter", "b", CENTRE, "Kristiansand"),
    ],
)
def test_flow_by_mailbox_and_sender(classify, sender, mailbox, flow, to, municipality):
    d = classify(make_mail(frm=sender), mailbox, WEEKDAY_NOON)
    assert (str(d.decision), d.flow, list(d.to), d.municipality) == (
        "relay",
        flow,
        to,
        municipality,
    )


@pytest.mark.parametrize(
    "sender",
    [
        "kari@x.vennesla.kommune.example",  # a subdomain is not the domain
        "kari@vennesla.kommune.example.evil.example",  # look-alike
        "kari@vennesla-kommune.example",
        "responssenter@kristiansand.kommune.example.evil.example",
        "ops@leverandor.example",  # the supplier writing a new message is no flow
        "someone@gmail.example",
    ],
)
def test_not_a_party_or_no_flow_goes_to_triage(classify, sender):
    d = classify(make_mail(frm=sender), "support", WEEKDAY_NOON)
    assert (str(d.decision), list(d.to), list(d.cc), d.flow) == ("triage", ADMINS, [], None)


def test_only_from_decides_the_sender_not_reply_to_or_display_name(classify):
    raw = make_mail(
        frm='"support@leverandor.example" <x@gmail.example>',
        headers={
            "Reply-To": "kari@vennesla.kommune.example",
            "Sender": "kari@vennesla.kommune.example",
        },
    )
    assert str(classify(raw).decision) == "triage"


def test_unknown_mailbox_is_triage(classify):
    d = classify(make_mail(), None, WEEKDAY_NOON)
    assert str(d.decision) == "triage"


@pytest.mark.parametrize(
    "subject, body, target",
    [
        ("Feil i nøkkelboks – LINDESNES", "Gjelder en bruker.", "Lindesnes"),
        ("Feil i nøkkelboks", "Gjelder: Vennesla kommune\nBrukeren ble ikke nådd.", "Vennesla"),
        ("Feil i nøkkelboks", "En bruker i Risør ble ikke nådd.", "Risør"),
        ("Avvik Åseral", "Gjelder egentlig Valle og Bykle.", "Åseral"),  # the subject decides
        (
            "Tilsyn",
            "Bruker i evje og hornnes.\n\nMvh\nOperatør\nKristiansand kommune",
            "Evje og Hornnes",
        ),
    ],
)
def test_flow_c_target_from_subject_then_body(classify, ruleset, subject, body, target):
    d = classify(make_mail(frm=STAFF, subject=subject, body=body), "responssenter", WEEKDAY_NOON)
    assert (str(d.decision), d.flow, d.municipality) == ("relay", "c", target)
    assert list(d.to) == list(ruleset.directory.municipality(target).receivers)
    assert d.to[0].startswith("kontakt.tt@")


@pytest.mark.parametrize(
    "subject, body",
    [
        (
            "Tilsyn ikke utført",
            "Ingen kommune nevnt.\n\nHilsen\nResponssenteret\nKristiansand kommune",
        ),
        ("Arendal og Froland", "To kommuner i emnet."),
        ("Tilsyn", "Gjelder brukere i Birkenes og i Iveland."),
        ("Tilsyn", "Se vedlagt vennesla.pdf og skriv til kontakt.tt@vennesla.kommune.example"),
        ("Tilsyn", "Brukeren bor i Lindesnesveien 4."),
        ("Tilsyn", "Ny tekst.\n\n> Gjelder Vennesla kommune\n"),  # quoted text does not count
    ],
)
def test_flow_c_without_exactly_one_municipality_is_triage(classify, subject, body):
    d = classify(make_mail(frm=STAFF, subject=subject, body=body), "responssenter", WEEKDAY_NOON)
    assert (str(d.decision), list(d.to), d.municipality) == ("triage", ADMINS, None)


@pytest.mark.parametrize(
    "subject, body, urgent",
    [
        ("HASTER: alarm", "Tekst.", True),
        ("Alarm", "Dette er en hastesak.", True),
        ("Alarm", "Kritisk feil på plattformen", True),
        ("Alarm", "Akutt!", True),
        ("Alarm", "Ikke kritiske feil.", False),  # whole words only
        ("Alarm", "Ny tekst.\n\n> Dette haster\n", False),  # quoted
        ("Alarm", "Ny tekst.\n\nOn Tue, 10 Mar 2026, Ola wrote:\nDette haster\n", False),
    ],
)
def test_urgent_words_in_subject_or_new_text(classify, subject, body, urgent):
    assert classify(make_mail(subject=subject, body=body)).urgent is urgent


@pytest.mark.parametrize(
    "subject, body, urgent",
    [
        ("Alarm", "Feilen er ikke kritisk.", False),
        ("Alarm", "Det er ikkje akutt.", False),
        ("Larm", "Felet är inte brådskande.", False),
        ("Alarm", "This is not urgent.", False),
        ("Ikke kritisk: alarm", "Tekst.", False),  # in the subject too
        ("Alarm", "Dette er ikke veldig akutt.", False),  # one word between
        ("Alarm", "En ikke-kritisk feil.", False),
        ("Alarm", "Alarmen virker ikke, kritisk for brukeren.", True),  # another clause
        ("Alarm", "Alarmen virker ikke. Haster!", True),
        ("Alarm", "Ikke kontakt med brukeren - haster", True),
        ("Alarm", "Ikke kritisk i går, men i dag er det kritisk.", True),  # one counts
    ],
)
def test_negated_urgent_words_are_not_urgent(classify, subject, body, urgent):
    assert classify(make_mail(subject=subject, body=body)).urgent is urgent


@pytest.mark.parametrize(
    "subject, body, urgent, kind",
    [
        ("Alarm", "Dette hastar.", True, "avvik"),  # nynorsk
        ("Larm", "Det brådskar.", True, "avvik"),  # Swedish
        ("Brådskande: larm", "Text.", True, "avvik"),
        ("Larm", "Akut fel på larmet.", True, "avvik"),
        ("Larm", "Felet är kritiskt.", True, "avvik"),
        ("Forbetringsforslag: varsel", "Tekst.", False, "forbedringsforslag"),
        ("Förbättringsförslag: SMS", "Text.", False, "forbedringsforslag"),
    ],
)
def test_nynorsk_and_swedish_forms_of_the_shipped_words(classify, subject, body, urgent, kind):
    d = classify(make_mail(subject=subject, body=body))
    assert (d.urgent, d.kind) == (urgent, kind)


def test_negations_must_be_a_list_of_words(tmp_path):
    from gateway.rules.loader import RulesError, load_rules

    text = (ROOT / "rules.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "rules.yaml"
    bad.write_text(text.replace('negations: ["ikke"', 'negations: [no, "ikke"'), "utf-8")
    with pytest.raises(RulesError, match="negations"):
        load_rules(bad)


@pytest.mark.parametrize(
    "headers, urgent",
    [
        ({"Importance": "High"}, True),
        ({"X-Priority": "1 (Highest)"}, True),
        ({"Importance": "normal"}, False),
        ({"X-Priority": "3"}, False),
    ],
)
def test_urgent_by_importance_header(classify, headers, urgent):
    assert classify(make_mail(headers=headers)).urgent is urgent


@pytest.mark.parametrize(
    "when, on_call",
    [
        (at(2026, 3, 10, 7, 59), True),
        (at(2026, 3, 10, 8, 0), False),  # [08:00, 15:30)
        (at(2026, 3, 10, 15, 29), False),
        (at(2026, 3, 10, 15, 30), True),
        (at(2026, 3, 14, 12, 0), True),  # Saturday
        (at(2026, 4, 2, 12, 0), True),  # Maundy Thursday
        (at(2026, 5, 1, 12, 0), True),  # 1 May
        (at(2026, 5, 18, 12, 0), False),  # the Monday after 17 May
        (dt.datetime(2026, 3, 10, 14, 45, tzinfo=dt.UTC), True),  # 15:45 in Oslo
    ],
)
def test_urgent_outside_service_hours_copies_the_on_call(classify, when, on_call):
    d = classify(make_mail(subject="Haster: alarm"), "support", when)
    assert (ON_CALL in list(d.cc)) is on_call


def test_not_urgent_never_copies_the_on_call(classify):
    assert classify(make_mail(), "support", at(2026, 3, 14, 3, 0)).cc == ()


def test_common_interest_only_for_flow_a(classify):
    body = "Dette er av felles\ninteresse for alle."
    a = classify(make_mail(body=body), "support")
    b = classify(make_mail(body=body), "responssenter")
    assert list(a.cc) == ["driftsdialog@kristiansand.kommune.example"]
    assert list(b.cc) == []


@pytest.mark.parametrize(
    "text, kind",
    [
        ("Forbedringsforslag: SMS-varsel", "forbedringsforslag"),
        ("FÖRBÄTTRINGSFÖRSLAG om larm", "forbedringsforslag"),
        ("Avvik i alarm", "avvik"),
    ],
)
def test_improvement_suggestion_is_labelled(classify, text, kind):
    d = classify(make_mail(subject=text))
    assert (d.kind, str(d.decision)) == (kind, "relay")


@pytest.mark.parametrize(
    "body, ref",
    [
        ("Registrert i TQM 55146.", "TQM 55146"),
        ("Vår ref: Asys-12345", "Asys-12345"),
        ("Se Compilo #7781 for detaljer", "Compilo #7781"),
        ("Ingen referanse.", None),
        ("Ny tekst.\n\n> TQM 999\n", None),
        # The first pattern of rules.yaml that matches wins, not the first in the text.
        ("Se Compilo #7781, tidligere TQM 12", "TQM 12"),
    ],
)
def test_external_reference_is_kept(classify, body, ref):
    assert classify(make_mail(body=body)).external_ref == ref


@pytest.mark.parametrize(
    "headers, subject",
    [
        ({"Auto-Submitted": "auto-generated"}, "Alarm"),
        ({"X-Autoreply": "yes"}, "Alarm"),
        ({"Precedence": "junk"}, "Alarm"),
        ({"List-Id": "<drift.leverandor.example>"}, "Alarm"),
        ({}, "Automatisk svar: Alarm"),
        ({}, "Out of Office: Alarm"),
        ({}, "Frånvaro: Larm"),
        ({}, "Undeliverable: Alarm"),
        ({"X-Avviksgateway": "AVVIK-2026-0001"}, "Alarm"),  # our own mail, come back
    ],
)
def test_automatic_mail_is_ignored(classify, headers, subject):
    d = classify(make_mail(subject=subject, headers=headers))
    assert (str(d.decision), list(d.to), list(d.cc)) == ("ignore", [], [])
    assert d.rules[0] in ("auto-reply", "bounce", "own-mail")


def test_auto_submitted_no_is_not_automatic(classify):
    d = classify(make_mail(headers={"Auto-Submitted": "no"}))
    assert str(d.decision) == "relay"


def test_bounce_by_null_sender_or_daemon(classify):
    assert str(classify(make_mail(headers={"Return-Path": "<>"})).decision) == "ignore"
    assert str(classify(make_mail(frm="MAILER-DAEMON@mx.example")).decision) == "ignore"


def test_empty_report_is_decided_by_mailbox_and_sender(classify):
    d = classify(make_mail(subject="", body=""), "support")
    assert (str(d.decision), d.flow) == ("relay", "a")


def test_rule_hits_and_misses_are_recorded(classify):
    d = classify(make_mail(subject="Haster"), "support", at(2026, 3, 14, 3, 0))
    assert list(d.rules) == ["urgent-words", "flow-a", "urgent-outside-service-hours"]
    assert "automatic-mail" in d.misses and "flow-a" not in d.misses
    assert "Flow a" in d.reason


def test_working_days_skip_weekends_and_holidays(ruleset):
    hours = ruleset.hours
    # Wednesday before Easter 2026: Maundy Thursday, Good Friday and Easter Monday are holidays.
    assert hours.add_working_days(dt.date(2026, 4, 1), 1) == dt.date(2026, 4, 7)
    assert hours.add_working_days(dt.date(2026, 4, 1), 10) == dt.date(2026, 4, 20)
    # 14 May (Ascension Day) and 25 May (Whit Monday) are not working days; 17 May is a Sunday.
    assert hours.add_working_days(dt.date(2026, 5, 13), 1) == dt.date(2026, 5, 15)
    assert hours.add_working_days(dt.date(2026, 5, 22), 1) == dt.date(2026, 5, 26)
    assert hours.holiday(dt.date(2026, 5, 17)) is not None


def test_references_are_looked_for_in_one_scan_only_when_that_is_the_same():
    plain = (re.compile(r"\bTQM\s?\d+", re.I), re.compile(r"\bAsys-\d+", re.I))
    joined = _any_of(plain)
    assert joined.search("sak asys-12 her") and not joined.search("ingen referanse")
    # A back-reference would point at another group once joined: no shortcut then.
    assert _any_of((*plain, re.compile(r"(\d)\1", re.I))) is None
    assert _any_of((plain[0], re.compile(r"Asys-\d+"))) is None  # other flags
    # An inline flag is only allowed at the start of a pattern: not joined, no error.
    assert _any_of((re.compile(r"(?m)^TQM\s?\d+", re.I),)) is None


def test_literal_start_of_a_pattern():
    def start(pattern: str, flags: int = re.I) -> str | None:
        return literal_start(re.compile(pattern, flags))

    assert start(r"\bTQM\s?#?\d+") == "tqm" and start(r"\bAsys-\d+") == "asys-"
    assert start(r"(?i)^Compilo") == "compilo" and start(r"(?x) T Q M") == "tqm"
    assert start(r"TQM?") == "tq"  # what follows may or may not be there
    assert start(r"İstanbul") == "istanbul"  # as fold() gives it
    for none in (r"[ab]c", r"x\d", r"TQM|Asys", r"(TQM)", r"\d+TQM"):
        assert start(none) is None, none


def test_a_text_without_any_reference_start_is_not_scanned_and_nothing_is_missed(classify, ruleset):
    """The starts ("tqm", "asys-", "compilo") are looked for in the folded text first;
    whatever the letter case, the reference found is what the patterns alone find."""
    import random

    pieces = ["TQM", "tqm", "TqM #", "Asys-", "ASYS-", "aSyS", "Compilo", "COMPILO#", "İ",
              "ı", "ſ", "K", " ", "12", "7", "x", "\n", "> ", "-"]  # fmt: skip
    rng = random.Random(4)
    for _ in range(400):
        subject = "".join(rng.choice(pieces[:-3]) for _ in range(rng.randint(0, 4))).strip()
        body = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        d = classify(make_mail(subject=subject or "Alarm", body=body))
        msg_texts = [subject or "Alarm", new_text(body.replace("\r\n", "\n"))]
        plain = next(
            (
                re.sub(r"\s+", " ", hit.group(0)).strip()
                for text in msg_texts
                for p in ruleset.external_refs
                if (hit := p.search(text))
            ),
            None,
        )
        assert d.external_ref == plain, (subject, body)
