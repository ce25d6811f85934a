"""NAV Lillehammer-Gausdal's practice (../shared/scenario/nav-lillehammer.md): a line
"Alvorlighetsgrad: høy" in a report sets the case's severity (middels without one), and
a case of severity høy is closed by the management group, not by the receiver."""

from __future__ import annotations

import pytest
from conftest import ROOT, make_mail
from test_threads import Conversation, reply

from gateway.rules.loader import load_rules
from gateway.rules.yaml_lines import RulesError

REPORTER = "kari.nordmann@nav.example"
ASYS = "asys@nav-lg.example"
MANAGEMENT = "ledergruppen@nav-lg.example"
REPORT = "Et vedtaksbrev ble sendt til feil adresse i dag, med personopplysninger."


@pytest.fixture
def talk(fresh_db):
    return Conversation(fresh_db, load_rules(ROOT / "profiles" / "nav-lillehammer" / "rules.yaml"))


def _report(talk, body: str):
    subject = "Brev med personopplysninger sendt til feil bruker"
    talk.send(make_mail(frm=REPORTER, to="avvik@nav-lg.example", subject=subject, body=body),
              "avvik")  # fmt: skip
    (relay,) = [m for p, _, m in talk.outgoing() if p == "relay"]
    case = next(talk.db.query("SELECT * FROM cases ORDER BY id DESC LIMIT 1"))
    return case, relay


def _status(talk, case) -> str:
    return talk.case(case["reference"])["status"]


def test_a_high_severity_case_is_closed_by_the_management_group(talk):
    case, relay = _report(talk, f"Hei,\n\n{REPORT}\n\nAlvorlighetsgrad: høy\n\nKari\n")
    assert case["severity"] == "høy"
    talk.send(reply(relay, ASYS, "#lukk Brevet er trukket tilbake og rutinen gjennomgått"), "avvik")
    assert _status(talk, case) == "til lukking"  # not closed by the receiver
    sent = talk.outgoing()
    (request,) = [m for p, to, m in sent if MANAGEMENT in to and "Til lukking" in m["Subject"]]
    talk.send(reply(request, MANAGEMENT, "#bekreft"), "avvik")
    assert _status(talk, case) == "lukket"
    assert [e["kind"] for e in talk.events("close-confirmed")] == ["close-confirmed"]


def test_a_report_without_the_line_is_middels_and_closes_at_once(talk):
    case, relay = _report(talk, f"Hei,\n\n{REPORT}\n\nKari\n")
    assert case["severity"] == "middels"
    talk.send(reply(relay, ASYS, "#lukk Brevet er trukket tilbake"), "avvik")
    assert _status(talk, case) == "lukket"


@pytest.mark.parametrize(
    ("line", "severity"),
    [("Alvorlighetsgrad: lav", "lav"), ("alvorlighetsgrad : Høy.", "høy"),
     ("Severity: high", "høy"), ("> Alvorlighetsgrad: høy", "middels"),  # quoted: no
     ("Alvorlighetsgrad: kritisk", "middels"), ("Se alvorlighetsgrad: høy i TQM", "middels")],
)  # fmt: skip
def test_the_line_is_read_in_the_new_text_only_and_in_every_language(talk, line, severity):
    case, _relay = _report(talk, f"Hei,\n\n{REPORT}\n\n{line}\n\nKari\n")
    assert case["severity"] == severity


def test_a_wrong_severity_setting_is_named_with_its_line(tmp_path):
    text = (ROOT / "profiles" / "nav-lillehammer" / "rules.yaml").read_text(encoding="utf-8")
    path = tmp_path / "rules.yaml"
    path.write_text(text.replace("default: middels", "default: akutt"), encoding="utf-8")
    with pytest.raises(RulesError, match=r"record: severity: default: one of lav, middels, høy"):
        load_rules(path)
