"""Triage by the administrators: by answering the triage note, or from the command line."""

from __future__ import annotations

import email
import json
from email.policy import default

import pytest
from click.testing import CliRunner
from conftest import ROOT, make_mail

from gateway.cli import cli
from gateway.intake import accept
from gateway.pipeline import Pipeline
from gateway.render import Renderer
from gateway.settings import Settings
from gateway.store import open_db

ADMIN = "admin@trygghet-agder.example"


def run(db, ruleset) -> None:
    Pipeline(
        db, lambda: ruleset, Renderer("gw@trygghet-agder.example", "GW"), Settings()
    ).process_batch()


def outbox(db, purpose: str) -> list[tuple[list[str], email.message.EmailMessage]]:
    rows = db.query(
        "SELECT o.recipients, r.raw FROM outbox o JOIN raw_messages r "
        "ON r.id = o.message_id WHERE o.purpose = ? ORDER BY o.id",
        [purpose],
    )
    return [
        (json.loads(r["recipients"]), email.message_from_bytes(r["raw"], policy=default))
        for r in rows
    ]


def triaged(db, ruleset, **kw) -> tuple[int, email.message.EmailMessage]:
    row = accept(db, make_mail(**kw), "support", "t")
    run(db, ruleset)
    assert db["messages"].get(row)["outcome"] == "triage"
    return row, outbox(db, "triage")[-1][1]


def answer(db, ruleset, note, line: str, frm: str = ADMIN) -> dict:
    row = accept(
        db,
        make_mail(frm=frm, subject=f"SV: {note['Subject']}", body=f"{line}\n\n> …"),
        "support",
        "t",
    )
    run(db, ruleset)
    return db["messages"].get(row)


def test_flow_decided_by_email_relays_and_opens_a_case(fresh_db, ruleset):
    row, note = triaged(
        fresh_db, ruleset, frm="ny.ansatt@gmail.example", subject="Alarm hos bruker"
    )
    got = answer(fresh_db, ruleset, note, "#flyt a")
    assert got["outcome"] == "admin-answer" and "sendt videre som AVVIK-" in got["reason"]
    decided = fresh_db["messages"].get(row)
    assert decided["outcome"] == "relay" and decided["case_id"]
    assert "Decided by admin@trygghet-agder.example: #flow a" in decided["reason"]
    ((to, relay),) = outbox(fresh_db, "relay")
    assert to == ["support@leverandor.example"] and "Alarm hos bruker" in relay["Subject"]
    assert fresh_db["events"].count_where("kind = 'admin-decision'") == 1


def test_send_to_a_known_receiver_only(fresh_db, ruleset):
    row, note = triaged(fresh_db, ruleset, frm="x@gmail.example")
    # an unknown sender determines no flow: the answer asks for it (issue 17, point 3)
    asked = answer(fresh_db, ruleset, note, "#send kontakt.tt@vennesla.kommune.example")
    assert "oppgi flyten (c)" in asked["reason"]
    answer(fresh_db, ruleset, note, "#send kontakt.tt@vennesla.kommune.example c")
    ((to, _),) = outbox(fresh_db, "relay")
    assert to == ["kontakt.tt@vennesla.kommune.example"]
    case = next(fresh_db.query("SELECT * FROM cases"))
    assert case["municipality"] == "Vennesla"

    row2, note2 = triaged(fresh_db, ruleset, frm="y@gmail.example")
    refused = answer(fresh_db, ruleset, note2, "#send evil@evil.example")
    assert "refused" in refused["reason"] and "er ikke en mottaker" in refused["reason"]
    assert fresh_db["messages"].get(row2)["outcome"] == "triage"  # unchanged
    (asked_note, (to, error)) = outbox(fresh_db, "notice")  # the question for the flow, this
    assert asked_note[0] == [ADMIN]
    assert to == [ADMIN] and "#flyt b" in error.get_body(("plain",)).get_content()


def test_ignore_and_add_to_case(fresh_db, ruleset):
    accept(fresh_db, make_mail(subject="Alarm"), "support", "t")
    run(fresh_db, ruleset)
    reference = next(fresh_db.query("SELECT reference FROM cases"))["reference"]
    row, note = triaged(fresh_db, ruleset, frm="x@gmail.example")
    answer(fresh_db, ruleset, note, "#ignorer reklame")
    assert fresh_db["messages"].get(row)["reason"].startswith("ignored by admin@")

    row2, note2 = triaged(fresh_db, ruleset, frm="tekniker@gmail.example", body="#lukk ferdig\n")
    answer(fresh_db, ruleset, note2, f"#sak {reference}")
    added = fresh_db["messages"].get(row2)
    assert added["outcome"] == "thread" and added["case_id"]
    assert fresh_db["cases"].get(added["case_id"])["status"] != "lukket"  # no commands
    ((to, _),) = outbox(fresh_db, "reply")
    assert to == ["support@leverandor.example"]


def test_a_triage_answer_from_a_non_administrator_is_refused(fresh_db, ruleset):
    row, note = triaged(fresh_db, ruleset, frm="x@gmail.example")
    got = answer(fresh_db, ruleset, note, "#flyt a", frm="kari.nordmann@vennesla.kommune.example")
    assert got["outcome"] == "triage" and "not an administrator" in got["reason"]
    assert fresh_db["messages"].get(row)["outcome"] == "triage"
    assert outbox(fresh_db, "relay") == []


def test_flow_c_without_a_named_municipality_cannot_be_forced(fresh_db, ruleset):
    row, note = triaged(fresh_db, ruleset, frm="x@gmail.example", subject="Tilsyn")
    got = answer(fresh_db, ruleset, note, "#flyt c")
    assert "refused" in got["reason"] and outbox(fresh_db, "relay") == []


def test_triage_from_the_command_line(db_path, ruleset):
    db = open_db(db_path)
    row, _ = triaged(db, ruleset, frm="x@gmail.example")
    opts = ["--database", str(db_path), "--rules", str(ROOT / "rules.yaml")]
    listed = CliRunner().invoke(cli, ["triage", "list", "--database", str(db_path)])
    assert f"{row:>6}" in listed.output and "1 message(s) waiting" in listed.output
    result = CliRunner().invoke(cli, ["triage", "decide", str(row), "--flow", "b", *opts])
    assert result.exit_code == 0, result.output
    assert "sendt videre som AVVIK-" in result.output
    ((to, _),) = outbox(db, "relay")
    assert to == ["avvik.responssenter@kristiansand.kommune.example"]
    again = CliRunner().invoke(cli, ["triage", "decide", str(row), "--flow", "b", *opts])
    assert again.exit_code == 1 and "venter ikke på vurdering" in again.output
    both = CliRunner().invoke(
        cli, ["triage", "decide", str(row), "--flow", "b", "--ignore", "x", *opts]
    )
    assert both.exit_code == 2


@pytest.mark.parametrize("line", ["#flyt", "ingen kommando her"])
def test_a_malformed_decision_gets_an_answer(fresh_db, ruleset, line):
    row, note = triaged(fresh_db, ruleset, frm="x@gmail.example")
    got = answer(fresh_db, ruleset, note, line)
    assert "refused" in got["reason"]
    assert len(outbox(fresh_db, "notice")) == 1
