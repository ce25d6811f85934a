"""An improvement suggestion has its own subject tag and series ([FORSLAG-2026-0001]),
configurable in rules.yaml, and no deadlines unless a rule gives it some (issue 17, 11)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT, make_mail
from test_threads import REPORTER, SUPPLIER, Conversation

from gateway.references import find_reference
from gateway.rules.loader import RulesError, load_rules

SUGGESTION = "Forbedringsforslag: vis batterinivå i appen"


@pytest.fixture
def talk(fresh_db, ruleset):
    return Conversation(fresh_db, ruleset)


def test_a_suggestion_has_its_own_tag_and_no_deadlines(talk):
    talk.send(make_mail(frm=REPORTER, subject=SUGGESTION, body="Det hadde vært nyttig.\n"))
    (_, to, relay), (_, _, receipt) = talk.outgoing()
    assert relay["X-Avviksgateway"] == "FORSLAG-2026-0001"
    assert relay["Subject"].startswith("[FORSLAG-2026-0001] ")
    text = relay.get_body(("plain",)).get_content()
    for word in ("Tiltaksfrist", "Lukkefrist", "None"):
        assert word not in text and word not in receipt.get_body(("plain",)).get_content()
    case = talk.case("FORSLAG-2026-0001")
    assert case["kind"] == "forbedringsforslag"
    assert case["measures_due"] is None and case["close_due"] is None

    talk.send(make_mail(frm=REPORTER, subject="Alarm uten kontakt"))  # a deviation
    assert talk.outgoing()[0][2]["X-Avviksgateway"] == "AVVIK-2026-0001"  # its own series

    answer = make_mail(frm=SUPPLIER, subject=f"SV: {relay['Subject']}", body="Takk, vi ser på det.")
    assert talk.send(answer)["outcome"] == "thread"
    assert talk.events("thread")[-1]["case_id"] == case["id"]
    body = make_mail(
        frm=SUPPLIER, subject="Batteri", body="Svar.\n\n> Referanse: FORSLAG-2026-0001"
    )
    assert talk.send(body)["outcome"] == "thread"


def test_a_rule_may_give_a_suggestion_deadlines(talk):
    talk.send(make_mail(frm=REPORTER, subject=SUGGESTION, body="Gjelder samarbeid.\n"))
    (_, _, relay), _receipt = talk.outgoing()  # the cooperation rule: 10 and 10 days
    text = relay.get_body(("plain",)).get_content()
    assert "Tiltaksfrist:" in text and "Lukkefrist:" in text
    assert talk.case(relay["X-Avviksgateway"])["close_due"] is not None


def test_the_tag_is_configurable_and_checked(tmp_path: Path):
    text = (ROOT / "rules.yaml").read_text(encoding="utf-8")
    path = tmp_path / "rules.yaml"
    path.write_text(text.replace("suggestion_prefix: FORSLAG", "suggestion_prefix: IDE"))
    assert load_rules(path).reference_prefixes == ("AVVIK", "IDE")
    path.write_text(text.replace("suggestion_prefix: FORSLAG", "suggestion_prefix: avvik"))
    with pytest.raises(RulesError, match="must differ from reference_prefix"):
        load_rules(path)


def test_find_reference_takes_either_prefix():
    prefixes = ("AVVIK", "FORSLAG")
    assert find_reference("SV: [forslag-2026-0007] Batteri", prefixes) == "FORSLAG-2026-0007"
    assert find_reference("Re: AVVIK-2026-0042", prefixes) == "AVVIK-2026-0042"
    assert find_reference("Re: FORSLAG-2026-0007", "AVVIK") is None
