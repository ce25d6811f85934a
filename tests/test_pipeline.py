"""Stored message -> decision -> case -> rendered mail in the outbox, in one process."""

from __future__ import annotations

import email
import json
from email.policy import default

import jinja2
import pytest
from conftest import EXAMPLES, RECEIPT_CONTEXT, make_mail
from test_privacy import make_pdf

from gateway.intake import accept
from gateway.pipeline import MAX_ATTEMPTS, Pipeline
from gateway.render import Renderer
from gateway.settings import Settings


@pytest.fixture
def pipeline(fresh_db, ruleset):
    renderer = Renderer("avviksgateway@trygghet-agder.example", "Avviksgatewayen")
    return Pipeline(fresh_db, lambda: ruleset, renderer, Settings())


def outbox(db) -> list[dict]:
    rows = db.query(
        "SELECT o.purpose, o.recipients, o.state, r.raw FROM outbox o "
        "JOIN raw_messages r ON r.id = o.message_id ORDER BY o.id"
    )
    return [
        {
            **r,
            "recipients": json.loads(r["recipients"]),
            "mail": email.message_from_bytes(r["raw"], policy=default),
        }
        for r in rows
    ]


LOG_PDF = make_pdf("Feilkode 42")


def test_relay_opens_a_case_and_queues_relay_and_receipt(fresh_db, pipeline):
    raw = make_mail(
        subject="Trygghetsalarm uten kontakt – hastesak",
        body="Alarmen er død. Avviket er registrert i TQM 55146.\n",
        # a PDF the privacy scan can read: the supplier gets no attachment it cannot
        attachments=[("logg.pdf", LOG_PDF, "application/pdf")],
    )
    row = accept(fresh_db, raw, "support", "test")
    # Arrived on a Tuesday at noon in Oslo: inside service hours, so no on-call copy.
    fresh_db.execute("UPDATE messages SET received_at = '2026-03-10T11:00:00.000+00:00'")
    assert pipeline.process_batch() == 1

    case = next(fresh_db.query("SELECT * FROM cases"))
    assert case["reference"].startswith("AVVIK-20")
    assert (case["flow"], case["status"], case["urgent"], case["municipality"]) == (
        "a",
        "registrert",
        1,
        "Vennesla",
    )
    assert (case["external_ref"], case["reporting_party"]) == ("TQM 55146", "municipality:Vennesla")
    assert (
        json.loads(case["rule_hits"]) == ["urgent-words", "flow-a"] or "flow-a" in case["rule_hits"]
    )
    assert case["measures_due"] < case["close_due"]

    message = fresh_db["messages"].get(row)
    assert (message["state"], message["outcome"], message["case_id"]) == (
        "done",
        "relay",
        case["id"],
    )

    relay, receipt = outbox(fresh_db)
    ref = case["reference"]
    assert relay["purpose"] == "relay" and relay["recipients"] == ["support@leverandor.example"]
    mail = relay["mail"]
    assert mail["Subject"] == f"[{ref}] HASTER: Trygghetsalarm uten kontakt – hastesak"
    assert mail["Reply-To"] == "support@trygghet-agder.example"
    assert mail["X-Avviksgateway"] == ref
    assert mail["In-Reply-To"] == email.message_from_bytes(raw)["Message-ID"]
    body = mail.get_body(("plain",)).get_content()
    assert f"Referanse:     {ref}" in body and "Tiltaksfrist:" in body and "Lukkefrist:" in body
    assert "Meldt av:      Vennesla kommune" in body
    assert "Alarmen er død." in body
    (attachment,) = list(mail.iter_attachments())
    assert attachment.get_filename() == "logg.pdf"
    assert attachment.get_content() == LOG_PDF
    # Headers are RFC 2047-encoded on the wire, never raw 8-bit.
    head = relay["raw"].split(b"\r\n\r\n")[0].decode("ascii")
    assert "=?utf-8?q?" in head.lower()

    assert receipt["recipients"] == ["kari.nordmann@vennesla.kommune.example"]
    assert receipt["mail"]["Auto-Submitted"] == "auto-replied"
    assert ref in receipt["mail"]["Subject"]

    kinds = [e["kind"] for e in fresh_db["events"].rows_where(order_by="id")]
    assert kinds == ["received", "relay-queued", "decided"]


def test_triage_queues_a_note_with_the_original_attached(fresh_db, pipeline):
    raw = make_mail(frm="hjelp@gmail.example", subject="Alarmen piper")
    row = accept(fresh_db, raw, "support", "test")
    pipeline.process_batch()
    assert fresh_db["messages"].get(row)["outcome"] == "triage"
    assert fresh_db["cases"].count == 0
    (note,) = outbox(fresh_db)
    assert note["recipients"] == ["admin@trygghet-agder.example"]
    assert f"#{row}" in note["mail"]["Subject"]
    (original,) = list(note["mail"].iter_attachments())
    assert original.get_content_type() == "message/rfc822"
    assert "Begrunnelse:" in note["mail"].get_body(("plain",)).get_content()


def test_ignored_mail_is_logged_with_why_and_sends_nothing(fresh_db, pipeline):
    row = accept(fresh_db, make_mail(headers={"Auto-Submitted": "auto-replied"}), "support", "t")
    pipeline.process_batch()
    message = fresh_db["messages"].get(row)
    assert (message["state"], message["outcome"]) == ("done", "ignore")
    assert "Auto-Submitted" in message["reason"]
    assert outbox(fresh_db) == []
    assert [e["kind"] for e in fresh_db["events"].rows][-1] == "ignore"


def test_unreadable_message_is_quarantined_with_a_reason(fresh_db, pipeline):
    row = accept(fresh_db, b"\r\n\r\n", "support", "test")
    pipeline.process_batch()
    message = fresh_db["messages"].get(row)
    assert (message["state"], message["reason"]) == ("quarantined", "empty message")


def test_a_message_that_keeps_failing_is_quarantined_not_retried_forever(fresh_db, pipeline):
    row = accept(fresh_db, make_mail(), "support", "test")
    fresh_db.execute("UPDATE messages SET attempts = ? WHERE id = ?", [MAX_ATTEMPTS, row])
    pipeline.process_batch()
    message = fresh_db["messages"].get(row)
    assert message["state"] == "quarantined" and "attempts" in message["reason"]


def test_an_error_in_one_message_does_not_stop_the_batch(fresh_db, ruleset, monkeypatch):
    renderer = Renderer("gw@trygghet-agder.example", "GW")
    calls = {"n": 0}
    real = renderer.message

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("template exploded")
        return real(*args, **kwargs)

    monkeypatch.setattr(renderer, "message", flaky)
    first = accept(fresh_db, make_mail(), "support", "test")
    second = accept(fresh_db, make_mail(), "support", "test")
    Pipeline(fresh_db, lambda: ruleset, renderer, Settings()).process_batch()
    assert fresh_db["messages"].get(first)["state"] == "quarantined"
    assert "template exploded" in fresh_db["messages"].get(first)["reason"]
    assert fresh_db["messages"].get(second)["outcome"] == "relay"
    # The failed message left no half-written case behind.
    assert fresh_db["cases"].count == 1


@pytest.mark.skipif(not EXAMPLES.exists(), reason="examples not beside the repo")
def test_html_only_and_latin1_examples_render_readable_relays(fresh_db, pipeline):
    for name in ("004", "005"):
        accept(fresh_db, (EXAMPLES / f"{name}.eml").read_bytes(), "support", "test")
    pipeline.process_batch()
    relays = [r["mail"] for r in outbox(fresh_db) if r["purpose"] == "relay"]
    texts = [m.get_body(("plain",)).get_content() for m in relays]
    assert "varslet ikke da brukeren falt i går kveld" in texts[0]
    assert "<p>" not in texts[0]
    assert "det hadde vært nyttig" in texts[1]
    assert "Forbedringsforslag" in texts[1]


def test_templates_fail_loudly_on_a_missing_field():
    renderer = Renderer("gw@trygghet-agder.example", "GW")
    with pytest.raises(jinja2.UndefinedError):
        renderer.message(
            "receipt.txt.j2",
            {"reference": "AVVIK-2026-0001"},
            purpose="receipt",
            to=["x@y.example"],
        )


def test_a_deployment_can_override_a_template_and_reach_the_default(tmp_path):
    (tmp_path / "receipt.txt.j2").write_text(
        '{% extends "default:receipt.txt.j2" %}'
        "{% block subject %}Kvittering {{ reference }}{% endblock %}"
    )
    renderer = Renderer("gw@trygghet-agder.example", "GW", override=tmp_path)
    out = renderer.message("receipt.txt.j2", RECEIPT_CONTEXT, purpose="receipt", to=["x@y.example"])
    mail = email.message_from_bytes(out.raw, policy=default)
    assert mail["Subject"] == "Kvittering AVVIK-2026-0001"
    assert "Takk for meldingen" in mail.get_body(("plain",)).get_content()


def test_header_injection_through_the_subject_is_impossible(fresh_db, pipeline):
    raw = make_mail(subject="Alarm").replace(
        b"Subject: Alarm", b"Subject: Alarm\r\n =?utf-8?q?x=0D=0ABcc=3A_evil=40evil=2Eexample?="
    )
    accept(fresh_db, raw, "support", "test")
    pipeline.process_batch()
    relay = outbox(fresh_db)[0]
    assert relay["mail"]["Bcc"] is None
    assert b"\nBcc:" not in relay["raw"]
    assert relay["recipients"] == ["support@leverandor.example"]


def test_cases_commands_show_the_case_its_messages_and_events(db_path, ruleset):
    from click.testing import CliRunner

    from gateway.cli import cli
    from gateway.store import open_db

    db = open_db(db_path)
    accept(db, make_mail(body="Alarmen er død.\n"), "support", "test")
    Pipeline(
        db, lambda: ruleset, Renderer("gw@trygghet-agder.example", "GW"), Settings()
    ).process_batch()
    reference = next(db.query("SELECT reference FROM cases"))["reference"]
    opts = ["--database", str(db_path)]
    listed = CliRunner().invoke(cli, ["cases", "list", *opts])
    assert reference in listed.output and "1 case(s)" in listed.output
    shown = CliRunner().invoke(cli, ["cases", "show", reference, *opts])
    assert "flow              a" in shown.output and "Alarmen er død." in shown.output
    assert "relay-queued" in shown.output
    original = CliRunner().invoke(cli, ["cases", "show", reference, "--original", *opts])
    assert "Alarmen er død." in original.output
    assert db["events"].count_where("kind = 'original-viewed'") == 1
    missing = CliRunner().invoke(cli, ["cases", "show", "AVVIK-1999-0001", *opts])
    assert missing.exit_code == 1 and "no case" in missing.output


def test_other_writers_get_in_while_a_batch_is_decided(db_path, ruleset, monkeypatch):
    """Each message is written in a short transaction of its own: the sender recording a
    delivery, or intake storing mail, need not wait until a whole batch is decided."""
    import threading
    import time

    from gateway import pipeline as pipeline_module
    from gateway.store import open_db, write

    db = open_db(db_path)
    for i in range(8):
        accept(db, make_mail(subject=f"Avvik {i}"), "support", "test")
    slow_plan = pipeline_module.plan

    def plan(*args, **kwargs):
        time.sleep(0.05)  # a slow rule set: the batch takes about 0.4 s
        return slow_plan(*args, **kwargs)

    monkeypatch.setattr(pipeline_module, "plan", plan)
    renderer = Renderer("avviksgateway@trygghet-agder.example", "Avviksgatewayen")
    worker = Pipeline(db, lambda: ruleset, renderer, Settings())
    finished = []
    batch = threading.Thread(
        target=lambda: finished.append((worker.process_batch(), time.monotonic()))
    )
    other = open_db(db_path)  # another thread's connection, as the sender has
    batch.start()
    time.sleep(0.1)
    with write(other):
        other.execute("INSERT INTO events (at, kind, detail) VALUES ('t', 'delivered', 'x')")
    written = time.monotonic()
    batch.join()
    ((handled, done_at),) = finished
    assert handled == 8
    assert done_at - written > 0.1  # the other write went in while the batch was running
