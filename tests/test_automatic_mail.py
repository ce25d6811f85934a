"""Automatic replies and delivery notices without the standard headers are told by how
they begin, in every language and wording rules.yaml lists; a report that merely
mentions one is still a report."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml
from conftest import ROOT, make_mail

from gateway.decide.classify import classify_bytes

AT = dt.datetime(2026, 3, 10, 10, 0, tzinfo=dt.UTC)
LISTS = yaml.safe_load((ROOT / "rules.yaml").read_text(encoding="utf-8"))["automatic_mail"]


def decided(raw: bytes, ruleset) -> dict:
    return classify_bytes(raw, ruleset, "support", AT)


@pytest.mark.parametrize("phrase", LISTS["subject_starts"])
def test_a_subject_that_begins_as_automatic_mail_is_ignored(phrase, ruleset):
    for subject in (f"{phrase}: Kari Nordmann", f"SV: {phrase.upper()} - Re: alarm"):
        got = decided(make_mail(subject=subject, body="Hei.\n"), ruleset)
        assert got["decision"] == "ignore", (subject, got["reason"])


@pytest.mark.parametrize("line", LISTS["opening_lines"])
def test_a_text_that_begins_as_automatic_mail_is_ignored(line, ruleset):
    raw = make_mail(subject="Trygghetsalarm uten kontakt", body=f"{line} til 10. januar.\n")
    assert decided(raw, ruleset)["decision"] == "ignore"


@pytest.mark.parametrize(
    "subject, body",
    [
        ("Avvik: automatisk svar fra alarmsentral mangler", "Alarmen svarer ikke.\n"),
        ("Problemer med autosvar i alarmsentralen", "Alarmen svarer ikke.\n"),
        ("Trygghetsalarm uten kontakt", "Hei,\n\nJeg er på ferie fra fredag, men alarmen piper.\n"),
        ("Fraværet av signal fra alarmen", "Alarmen har ikke meldt seg siden fredag.\n"),
    ],
)
def test_a_report_that_mentions_automatic_mail_is_still_a_report(subject, body, ruleset):
    assert decided(make_mail(subject=subject, body=body), ruleset)["decision"] == "relay"


def test_a_rules_file_from_before_automatic_mail_keeps_its_subject_list(tmp_path):
    """A rules.yaml written before ``automatic_mail:`` listed the subjects under
    ``words: automatic_subject``; those still mark automatic mail, at the beginning."""
    from gateway.rules.loader import load_rules

    text = (ROOT / "rules.yaml").read_text(encoding="utf-8")
    start = text.index("\nautomatic_mail:")
    end = text.index("\n# A word from the lists above does not count")
    text = text[:start] + text[end:]
    text = text.replace("\nwords:\n", "\nwords:\n  automatic_subject: [Fraværsmelding]\n", 1)
    old = tmp_path / "rules.yaml"
    old.write_text(text, encoding="utf-8")
    ruleset = load_rules(old)
    assert decided(make_mail(subject="Fraværsmelding: Kari"), ruleset)["decision"] == "ignore"
    assert decided(make_mail(subject="Abwesenheitsnotiz: Kari"), ruleset)["decision"] == "relay"
