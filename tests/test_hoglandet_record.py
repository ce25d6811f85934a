"""Höglandet's cooperation cases (../shared/scenario/hoglandet.md): escalated in two
steps, to the local cooperation group and then to county level, with Sweden's de-facto
days off (midsommarafton) not counted; a deviation closes only with a cause, an
improvement suggestion with its decision."""

from __future__ import annotations

import pytest
from conftest import ROOT, make_mail
from test_followup import at, local, mails, run, runner_for
from test_threads import Conversation, reply

from gateway.rules.loader import load_rules

REPORTER = "anna.svensson@eksjo.kommun.example"
COORDINATOR = "samverkanskoordinator@eksjo.kommun.example"
MAILBOX = "avvikelse"


@pytest.fixture
def ruleset():
    return load_rules(ROOT / "profiles" / "hoglandet" / "rules.yaml")


def _report(talk, when, subject="Avvikelse i samverkan kring en deltagare"):
    body = "Hej,\n\nEn deltagare fick inte den överenskomna uppföljningen.\n\nAnna\n"
    at(talk, when, make_mail(frm=REPORTER, to="avvikelse@hoglandet-samordning.example",
                             subject=subject, body=body), MAILBOX)  # fmt: skip
    ((_, relay),) = mails(talk, "relay")
    return relay["X-Avviksgateway"], relay


def test_a_cooperation_case_is_escalated_in_two_steps_across_midsummer(fresh_db, ruleset):
    talk, runner = Conversation(fresh_db, ruleset), runner_for(fresh_db, ruleset)
    ref, _ = _report(talk, local(2026, 6, 1, 10, 0))  # Monday 1 June
    assert talk.case(ref)["escalate_due"] == "2026-06-15"  # ten working days
    run(runner, "escalation", local(2026, 6, 16, 7, 30))
    ((to, _),) = mails(talk, "escalation")
    assert to == list(ruleset.directory["local_group"].receivers)
    assert talk.case(ref)["escalation_step"] == 1
    # Twenty working days after 15 June, midsommarafton (19 June) not counted: 14 July.
    run(runner, "escalation", local(2026, 7, 14, 7, 30))
    assert mails(talk, "escalation") == []
    run(runner, "escalation", local(2026, 7, 15, 7, 30))
    ((to, msg),) = mails(talk, "escalation")
    assert to == list(ruleset.directory["county"].receivers)
    assert talk.case(ref)["escalation_step"] == 2
    run(runner, "escalation", local(2026, 7, 16, 7, 30))
    assert mails(talk, "escalation") == []  # each step once


def test_a_deviation_closes_only_with_a_cause(fresh_db, ruleset):
    talk = Conversation(fresh_db, ruleset)
    ref, relay = _report(talk, local(2026, 3, 10, 10, 0))
    at(talk, local(2026, 3, 11, 10, 0),
       reply(relay, COORDINATOR, "#avsluta Rutinen är ändrad"), MAILBOX)  # fmt: skip
    assert talk.case(ref)["status"] != "lukket"
    assert [p for p, _, _ in talk.outgoing()].count("command-error") == 1
    at(talk, local(2026, 3, 11, 11, 0), reply(relay, COORDINATOR,
       "#orsak Ingen ansvarig för uppföljningen\n#avsluta Rutinen är ändrad"), MAILBOX)  # fmt: skip
    assert talk.case(ref)["status"] == "lukket"
    assert talk.case(ref)["cause"] == "Ingen ansvarig för uppföljningen"


def test_an_improvement_suggestion_closes_with_its_decision(fresh_db, ruleset):
    talk = Conversation(fresh_db, ruleset)
    ref, relay = _report(talk, local(2026, 3, 10, 10, 0),
                         subject="Förbättringsförslag: gemensam checklista")  # fmt: skip
    assert talk.case(ref)["kind"] == "forbedringsforslag"
    at(talk, local(2026, 3, 11, 10, 0),
       reply(relay, COORDINATOR, "#avsluta Förslaget antas från april"), MAILBOX)  # fmt: skip
    assert talk.case(ref)["status"] == "lukket"
