"""Nothing lost, no loops, nothing unsafe out: duplicates, loop brake, size, bounces, bad input."""

from __future__ import annotations

import dataclasses
import email
import json
from email.policy import default

import pytest
from click.testing import CliRunner
from conftest import CORPUS, make_mail
from test_privacy import make_pdf

from gateway.cli import cli
from gateway.intake import accept
from gateway.pipeline import Pipeline
from gateway.render import Renderer
from gateway.settings import Settings
from gateway.store import get_raw

REPORTER = "kari.nordmann@vennesla.kommune.example"
SUPPLIER = "support@leverandor.example"


def run(db, ruleset, settings: Settings | None = None) -> None:
    renderer = Renderer("avviksgateway@trygghet-agder.example", "Avviksgatewayen")
    while Pipeline(db, lambda: ruleset, renderer, settings or Settings()).process_batch():
        pass


def outbox(db, purpose: str | None = None) -> list[tuple[list[str], email.message.EmailMessage]]:
    rows = db.query(
        "SELECT o.purpose, o.recipients, r.raw FROM outbox o JOIN raw_messages r "
        "ON r.id = o.message_id ORDER BY o.id"
    )
    return [
        (json.loads(r["recipients"]), email.message_from_bytes(r["raw"], policy=default))
        for r in rows
        if purpose in (None, r["purpose"])
    ]


def test_the_same_message_twice_makes_one_case_and_one_relay(fresh_db, ruleset):
    raw = make_mail()
    accept(fresh_db, raw, "support", "imap support uid 1")
    accept(fresh_db, raw, "support", "imap support uid 1 (UIDVALIDITY reset)")
    # The same message to both mailboxes: other bytes (an MTA header), same Message-ID.
    accept(fresh_db, b"Received: by mx\r\n" + raw, "responssenter", "smtp")
    run(fresh_db, ruleset)
    assert fresh_db["cases"].count == 1
    assert len(outbox(fresh_db, "relay")) == 1
    outcomes = [
        r["outcome"] for r in fresh_db["messages"].rows_where("direction = 'in'", order_by="id")
    ]
    assert outcomes == ["relay", "duplicate", "duplicate"]
    assert len(list(fresh_db["events"].rows_where("kind = 'duplicate'"))) == 2


def test_same_message_id_from_another_sender_is_not_a_duplicate(fresh_db, ruleset):
    first = make_mail()
    second = make_mail(frm="ole@arendal.kommune.example")
    mid = email.message_from_bytes(first)["Message-ID"].encode()
    second = second.replace(email.message_from_bytes(second)["Message-ID"].encode(), mid)
    accept(fresh_db, first, "support", "t")
    accept(fresh_db, second, "support", "t")
    run(fresh_db, ruleset)
    assert fresh_db["cases"].count == 2  # a broken client's reused id must not lose a report


def test_loop_brake_holds_the_excess_from_one_sender_in_one_case(fresh_db, ruleset):
    accept(fresh_db, make_mail(frm=REPORTER, subject="Alarm"), "support", "t")
    run(fresh_db, ruleset)
    reference = next(fresh_db.query("SELECT reference FROM cases"))["reference"]
    for i in range(12):  # an auto-responder without the headers that would give it away
        accept(
            fresh_db,
            make_mail(
                frm=SUPPLIER, subject=f"SV: [{reference}] Alarm", body=f"Automatisk svar {i}"
            ),
            "support",
            "t",
        )
    run(fresh_db, ruleset, Settings(loop_limit_per_hour=10))
    outcomes = [
        r["outcome"]
        for r in fresh_db["messages"].rows_where(
            "direction = 'in' AND from_addr = ?", [SUPPLIER], order_by="id"
        )
    ]
    assert outcomes == ["thread"] * 10 + ["hold"] * 2
    assert len(outbox(fresh_db, "reply")) == 10
    held = next(fresh_db["messages"].rows_where("outcome = 'hold'"))
    assert "Loop brake" in held["reason"]


def test_too_large_is_quarantined_and_a_known_sender_told(fresh_db, ruleset):
    big = make_mail(attachments=[("logg.bin", b"x" * 5000, "application/octet-stream")])
    accept(fresh_db, big, "support", "t")
    accept(fresh_db, make_mail(frm="x@gmail.example", body="y" * 5000), "support", "t")
    run(fresh_db, ruleset, Settings(max_message_bytes=4000))
    rows = list(fresh_db["messages"].rows_where("direction = 'in'", order_by="id"))
    assert [r["state"] for r in rows] == ["quarantined", "quarantined"]
    assert rows[0]["reason"].startswith("too large:")
    ((to, notice),) = outbox(fresh_db)  # only the known party is told, never a stranger
    assert to == [REPORTER] and "for stor" in notice["Subject"]
    assert notice["Auto-Submitted"] == "auto-replied"
    assert "(0,0 MB)" in notice.get_body(("plain",)).get_content()  # a decimal comma


def test_executable_attachments_are_held_back_and_the_receiver_told(fresh_db, ruleset):
    raw = make_mail(
        attachments=[
            ("rapport.pdf", make_pdf("Rapport"), "application/pdf"),  # one it can read
            ("oppdatering.exe", b"MZ", "application/octet-stream"),
            ("skjema.docm", b"PK", "application/octet-stream"),
        ]
    )
    row = accept(fresh_db, raw, "support", "t")
    run(fresh_db, ruleset)
    ((to, relay),) = outbox(fresh_db, "relay")
    assert [a.get_filename() for a in relay.iter_attachments()] == ["rapport.pdf"]
    body = relay.get_body(("plain",)).get_content()
    assert "Holdt tilbake: oppdatering.exe, skjema.docm" in body
    assert get_raw(fresh_db, row) == raw  # kept with the case


@pytest.mark.parametrize(
    "results, decision",
    [
        (
            "mx.trygghet-agder.example; dmarc=fail (p=reject) header.from=vennesla.kommune.example",
            "triage",
        ),
        ("mx.trygghet-agder.example; dmarc=pass header.from=vennesla.kommune.example", "relay"),
        # our server read another From domain than the gateway: forged (issue 16, 9)
        ("mx.trygghet-agder.example; dmarc=fail header.from=other.example", "triage"),
        ("mx.trygghet-agder.example; dmarc=pass header.from=other.example", "triage"),
    ],
)
def test_dmarc_failure_is_triaged(classify, results, decision):
    assert (
        str(classify(make_mail(headers={"Authentication-Results": results})).decision) == decision
    )


def test_dmarc_rule_can_be_switched_off(classify, ruleset):
    from gateway.decide.yaml_rules import decide
    from gateway.parse import parse

    rules = tuple(r for r in ruleset.rules if r.name != "forged-sender")
    lenient = dataclasses.replace(ruleset, rules=rules)
    raw = make_mail(headers={"Authentication-Results": "mx; dmarc=fail"})
    import datetime as dt

    got = decide(parse(raw), lenient, "support", dt.datetime(2026, 3, 10, 10, tzinfo=dt.UTC))
    assert str(got.decision) == "relay"


def bounce_for(relay: email.message.EmailMessage, recipient: str, n: int = 1) -> bytes:
    return (
        "Return-Path: <>\r\nFrom: MAILER-DAEMON@mx.leverandor.example\r\n"
        "To: avviksgateway@trygghet-agder.example\r\nSubject: Undelivered Mail\r\n"
        f"Message-ID: <b{n}@mx>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; "
        'report-type=delivery-status; boundary="B"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\n'
        "Could not deliver.\r\n--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {relay['Message-ID']}\r\nSubject: {relay['Subject']}\r\n--B--\r\n"
    ).encode()


def test_a_bounce_of_a_relay_is_attached_to_its_case_and_reported_once(fresh_db, ruleset):
    accept(fresh_db, make_mail(), "support", "t")
    run(fresh_db, ruleset)
    ((_, relay),) = outbox(fresh_db, "relay")
    for n in range(2):
        accept(fresh_db, bounce_for(relay, SUPPLIER, n), "support", "t")
        run(fresh_db, ruleset)
    case_id = next(fresh_db.query("SELECT id FROM cases"))["id"]
    bounces = list(fresh_db["messages"].rows_where("direction = 'in' AND outcome = 'ignore'"))
    assert [b["case_id"] for b in bounces] == [case_id, case_id]
    assert len(list(fresh_db["events"].rows_where("kind = 'bounce'"))) == 2
    alerts = outbox(fresh_db, "alert")
    assert len(alerts) == 1 and alerts[0][0] == ["admin@trygghet-agder.example"]
    relay_row = next(fresh_db["outbox"].rows_where("purpose = 'relay'"))
    assert relay_row["state"] == "failed" and relay_row["last_error"].startswith("bounced")


def test_quarantine_commands(db_path, ruleset):
    from gateway.store import open_db

    db = open_db(db_path)
    row = accept(db, b"\r\n\r\n", "support", "t")
    good = accept(db, make_mail(), "support", "t")
    db.execute("UPDATE messages SET state = 'quarantined', reason = 'test' WHERE id = ?", [good])
    run(db, ruleset)
    runner, opts = CliRunner(), ["--database", str(db_path)]
    listed = runner.invoke(cli, ["quarantine", "list", *opts])
    assert "2 message(s) in quarantine" in listed.output and "empty message" in listed.output
    shown = runner.invoke(cli, ["quarantine", "show", str(good), *opts])
    assert "Subject: Trygghetsalarm" in shown.output
    assert runner.invoke(cli, ["quarantine", "release", str(good), *opts]).exit_code == 0
    run(db, ruleset)
    assert db["messages"].get(good)["outcome"] == "relay"
    dropped = runner.invoke(cli, ["quarantine", "drop", str(row), "--why", "tom", *opts])
    assert dropped.exit_code == 0
    assert (db["messages"].get(row)["state"], get_raw(db, row)) == ("dropped", None)
    missing = runner.invoke(cli, ["quarantine", "release", "999", *opts])
    assert missing.exit_code == 1 and "not in quarantine" in missing.output


@pytest.mark.parametrize(
    "raw",
    [
        make_mail(subject="Alarm\x00 med NUL"),
        make_mail(body="x" * 200_000 + "\n"),  # an absurdly long line
        make_mail(headers={"Cc": ", ".join(f"u{i}@example.org" for i in range(3000))}),
        b"From: kari.nordmann@vennesla.kommune.example\r\nSubject: x\r\nContent-Type: "
        b'multipart/mixed; boundary="A"\r\n\r\n--A\r\nContent-Type: text/plain; charset=bogus-8\r\n'
        b"\r\nTekst \xe6\xf8\xe5\r\n--B--\r\n",  # broken boundary, unknown charset
        b"From: kari.nordmann@vennesla.kommune.example\r\nSubject: nested\r\n"
        + b"Content-Type: message/rfc822\r\n\r\nSubject: x\r\nContent-Type: message/rfc822\r\n\r\n"
        * 400
        + b"Tekst\r\n",  # a zip-bomb-like chain of nested messages
    ],
)
def test_hostile_input_ends_in_a_recorded_state(fresh_db, ruleset, raw):
    row = accept(fresh_db, raw, "support", "t")
    run(fresh_db, ruleset)
    message = fresh_db["messages"].get(row)
    assert message["state"] in ("done", "quarantined") and message["reason"]
    for to, _mail in outbox(fresh_db):
        assert all("example.org" not in a for a in to)  # receivers only from the rules


@pytest.mark.skipif(not (CORPUS / "index.tsv").exists(), reason="corpus not beside the repo")
def test_the_real_world_corpus_through_the_whole_pipeline(fresh_db, ruleset):
    paths = [
        line.split("\t")[0]
        for line in (CORPUS / "index.tsv").read_text(encoding="utf-8").splitlines()[1:]
        if line.split("\t")[4] == "eml"
    ]
    for path in paths:
        accept(fresh_db, (CORPUS / path).read_bytes(), "support", path)
    run(fresh_db, ruleset)
    states = dict(
        fresh_db.execute(
            "SELECT state || ':' || outcome, COUNT(*) FROM messages WHERE direction = 'in' "
            "GROUP BY 1"
        ).fetchall()
    )
    assert sum(states.values()) == len(paths)
    assert "received" not in {k.split(":")[0] for k in states}  # every one ended somewhere
    assert all(r["reason"] for r in fresh_db["messages"].rows_where("direction = 'in'"))
    assert not list(fresh_db["messages"].rows_where("reason LIKE 'pipeline error%'"))
    assert fresh_db["cases"].count == 0  # none of these strangers is relayed to a party
    print(states)


def test_same_message_id_and_sender_with_another_body_is_kept(fresh_db, ruleset):
    first = make_mail(body="Første melding.")
    second = make_mail(body="En annen melding.")
    mid = email.message_from_bytes(first)["Message-ID"].encode()
    second = second.replace(email.message_from_bytes(second)["Message-ID"].encode(), mid)
    accept(fresh_db, first, "support", "t")
    accept(fresh_db, second, "support", "t")
    run(fresh_db, ruleset)
    assert fresh_db["cases"].count == 2
