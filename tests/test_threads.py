"""Threads: replies go into the case and on to the other side; commands; who may write."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import email
import json
from email.policy import default

import pytest
from click.testing import CliRunner
from conftest import ROOT, make_mail

from gateway.cli import cli
from gateway.i18n import phrases
from gateway.intake import accept
from gateway.pipeline import Pipeline
from gateway.render import Renderer
from gateway.settings import Settings
from gateway.threads.commands import parse_commands
from gateway.threads.outlook import thread_index

REPORTER = "kari.nordmann@vennesla.kommune.example"
SUPPLIER = "support@leverandor.example"
ADMIN = "admin@trygghet-agder.example"


class Conversation:
    """A case log with the pipeline, and what went out, for writing replies like a person."""

    def __init__(self, db, ruleset):
        self.db, self.ruleset = db, ruleset
        renderer = Renderer("avviksgateway@trygghet-agder.example", "Avviksgatewayen")
        self.pipeline = Pipeline(db, lambda: ruleset, renderer, Settings())
        self.seen = 0

    def send(self, raw: bytes, mailbox: str = "support") -> dict:
        row = accept(self.db, raw, mailbox, "test")
        self.pipeline.process_batch()
        return self.db["messages"].get(row)

    def outgoing(self) -> list[tuple[str, list[str], email.message.EmailMessage]]:
        """What was queued since the last call: (purpose, recipients, message)."""
        rows = list(
            self.db.query(
                "SELECT o.id, o.purpose, o.recipients, r.raw FROM outbox o JOIN raw_messages r "
                "ON r.id = o.message_id WHERE o.id > ? ORDER BY o.id",
                [self.seen],
            )
        )
        if rows:
            self.seen = rows[-1]["id"]
        return [
            (
                r["purpose"],
                json.loads(r["recipients"]),
                email.message_from_bytes(r["raw"], policy=default),
            )
            for r in rows
        ]

    def case(self, reference: str) -> dict:
        return next(self.db.query("SELECT * FROM cases WHERE reference = ?", [reference]))

    def events(self, kind: str) -> list[dict]:
        return list(self.db["events"].rows_where("kind = ?", [kind], order_by="id"))


@pytest.fixture
def talk(fresh_db, ruleset):
    return Conversation(fresh_db, ruleset)


def open_case(talk, **kw) -> tuple[str, email.message.EmailMessage]:
    talk.send(make_mail(frm=REPORTER, subject="Trygghetsalarm uten kontakt", **kw))
    (relay_purpose, _, relay), (_, _, receipt) = talk.outgoing()
    assert relay_purpose == "relay"
    return relay["X-Avviksgateway"], relay


def reply(to_msg, frm: str, body: str, subject: str | None = None, headers=None, **kw) -> bytes:
    """A reply as a mail client writes it: SV: subject, In-Reply-To, References."""
    hdrs = {
        "In-Reply-To": to_msg["Message-ID"],
        "References": f"{to_msg['References'] or ''} {to_msg['Message-ID']}".strip(),
    }
    hdrs.update(headers or {})
    return make_mail(
        frm=frm,
        to="support@trygghet-agder.example",
        subject=subject if subject is not None else f"SV: {to_msg['Subject']}",
        body=body,
        headers={k: v for k, v in hdrs.items() if v},
        **kw,
    )


def test_round_trip_report_answer_followup_and_close(talk):
    ref, relay = open_case(talk)
    assert talk.case(ref)["status"] == "registrert"

    # The supplier answers in Outlook: the answer reaches the reporter, with the reference.
    msg = talk.send(reply(relay, SUPPLIER, "Vi ser på saken.\n\n> gammel tekst"))
    assert (msg["outcome"], msg["case_id"]) == ("thread", talk.case(ref)["id"])
    assert msg["new_text"] == "Vi ser på saken."
    ((purpose, to, answer),) = talk.outgoing()
    assert (purpose, to) == ("reply", [REPORTER])
    assert ref in answer["Subject"] and answer["Subject"].startswith("SV:")
    assert answer["Reply-To"] == "support@trygghet-agder.example"
    assert "Vi ser på saken." in answer.get_body(("plain",)).get_content()
    assert talk.case(ref)["status"] == "under behandling"  # the first answer

    # The reporter answers with only In-Reply-To (the subject lost its reference).
    raw = reply(
        answer,
        REPORTER,
        "Takk, alarmen er fortsatt rød.",
        subject="Re: alarmen",
        headers={"References": None},
    )
    msg = talk.send(raw)
    assert msg["outcome"] == "thread"
    assert "headers" in talk.events("thread")[-1]["detail"]
    ((purpose, to, forwarded),) = talk.outgoing()
    assert (purpose, to) == ("reply", [SUPPLIER])

    # The supplier closes the case with the measure; the reporter is told.
    talk.send(reply(forwarded, SUPPLIER, "#lukk Byttet SIM-kort og testet alarmen.\n"))
    case = talk.case(ref)
    assert (case["status"], case["measure"]) == ("lukket", "Byttet SIM-kort og testet alarmen.")
    assert case["closed_at"]
    ((purpose, to, notice),) = talk.outgoing()  # command only: no relay, one notice
    assert (purpose, to) == ("status", [REPORTER])
    text = notice.get_body(("plain",)).get_content()
    assert "Status: lukket" in text and "Byttet SIM-kort" in text


def test_reply_from_an_outsider_with_a_valid_reference_is_held(talk):
    ref, relay = open_case(talk)
    msg = talk.send(reply(relay, "someone@gmail.example", "Hva gjelder dette?"))
    assert msg["outcome"] == "hold" and "does not take part" in msg["reason"]
    ((purpose, to, note),) = talk.outgoing()
    assert (purpose, to) == ("triage", [ADMIN])
    assert talk.events("held")


@pytest.mark.parametrize(
    "subject",
    [
        "Sv: VS: RE: [{ref}] Trygghetsalarm uten kontakt",
        "AW: Antw: Fwd: {ref} Trygghetsalarm",
        "SV:[{ref}]",
    ],
)
def test_stacked_and_localized_prefixes_find_the_case(talk, subject):
    ref, relay = open_case(talk)
    raw = make_mail(frm=SUPPLIER, subject=subject.format(ref=ref), body="Svar")
    assert talk.send(raw)["outcome"] == "thread"
    assert "by subject" in talk.events("thread")[-1]["detail"]


def test_reference_in_the_body_or_a_plus_address_finds_the_case(talk):
    ref, relay = open_case(talk)
    body = f"Svar.\n\n> Referanse:     {ref}\n> Alarmen virker ikke"
    assert talk.send(make_mail(frm=SUPPLIER, subject="Alarm", body=body))["outcome"] == "thread"
    assert "by body" in talk.events("thread")[-1]["detail"]
    plus = f"support+{ref}@trygghet-agder.example"
    assert talk.send(make_mail(frm=SUPPLIER, to=plus, subject="Alarm"))["outcome"] == "thread"
    assert "by plus-address" in talk.events("thread")[-1]["detail"]


def test_a_reference_for_a_case_that_does_not_exist_is_triage(talk):
    msg = talk.send(make_mail(frm=SUPPLIER, subject="SV: [AVVIK-2026-0999] Alarm"))
    assert msg["outcome"] == "triage" and "AVVIK-2026-0999" in msg["reason"]


def test_a_colleague_on_cc_may_write_later(talk):
    ref, relay = open_case(talk)
    talk.send(reply(relay, SUPPLIER, "Vi tar det.", headers={"Cc": "tekniker@leverandor.example"}))
    assert (
        talk.events("participant-added")[0]["detail"]
        == "tekniker@leverandor.example (receiver side)"
    )
    ((_, _, answer),) = talk.outgoing()
    msg = talk.send(reply(relay, "tekniker@leverandor.example", "Løst."))
    assert msg["outcome"] == "thread"
    ((purpose, to, _),) = talk.outgoing()
    assert to == [REPORTER]


def test_closing_without_a_measure_is_refused_and_nothing_changes(talk):
    ref, relay = open_case(talk)
    talk.send(reply(relay, SUPPLIER, "#lukk\n"))
    assert talk.case(ref)["status"] == "under behandling"  # the answer counts; no close
    sent = {p: (to, m) for p, to, m in talk.outgoing()}
    to, error = sent["command-error"]
    assert to == [SUPPLIER]
    body = error.get_body(("plain",)).get_content()
    assert "#lukk må følges av tiltaket" in body and "#alvorlighet høy" in body


def test_only_the_receiver_may_give_commands(talk):
    ref, relay = open_case(talk)
    receipt_like = make_mail(frm=REPORTER, subject=f"SV: [{ref}] x", body="#alvorlighet høy\n")
    talk.send(receipt_like)
    assert talk.case(ref)["severity"] is None
    sent = {p: (to, m) for p, to, m in talk.outgoing()}
    assert "bare mottakeren" in sent["command-error"][1].get_body(("plain",)).get_content()


def test_status_and_severity_commands_in_three_languages(talk):
    ref, relay = open_case(talk)
    talk.send(reply(relay, SUPPLIER, "#allvarlighetsgrad hög\n#status to close\nVi venter."))
    case = talk.case(ref)
    assert (case["severity"], case["status"]) == ("høy", "til lukking")
    ((purpose, to, relayed),) = talk.outgoing()  # text beyond the commands is relayed,
    assert (purpose, to) == ("reply", [REPORTER])  # with the changes in its header
    body = relayed.get_body(("plain",)).get_content()
    assert "Endret:        Status: til lukking" in body and "Alvorlighet: høy" in body


def test_a_message_in_a_closed_case_reopens_it_and_tells_the_receiver(talk):
    ref, relay = open_case(talk)
    talk.send(reply(relay, SUPPLIER, "#lukk Nytt batteri.\n"))
    talk.outgoing()
    talk.send(make_mail(frm=REPORTER, subject=f"SV: [{ref}] x", body="Det skjedde igjen."))
    assert talk.case(ref)["status"] == "under behandling"
    assert talk.events("reopened")
    sent = {p: (to, m) for p, to, m in talk.outgoing()}
    to, relayed = sent["reply"]
    assert to == [SUPPLIER]
    assert "gjenåpnet" in relayed.get_body(("plain",)).get_content()


def test_closed_cases_can_open_a_new_case_instead(fresh_db, ruleset):
    talk = Conversation(fresh_db, dataclasses.replace(ruleset, closed_cases="new-case"))
    ref, relay = open_case(talk)
    talk.send(reply(relay, SUPPLIER, "#lukk Nytt batteri.\n"))
    msg = talk.send(make_mail(frm=REPORTER, subject=f"SV: [{ref}] x", body="Igjen."))
    new = fresh_db["cases"].get(msg["case_id"])
    assert new["reference"] != ref and new["related_reference"] == ref
    assert talk.case(ref)["status"] == "lukket"


@pytest.mark.parametrize(
    "received, flow_mailbox, sender, measures, close",
    [
        # flow a (10/30) on the Wednesday before Easter 2026
        ("2026-04-01T10:00:00+02:00", "support", REPORTER, "2026-04-20", "2026-05-20"),
        # flow d (5/20) the Friday before 17 May and Ascension/Whit Monday
        (
            "2026-05-08T10:00:00+02:00",
            "support",
            "responssenter@kristiansand.kommune.example",
            "2026-05-18",
            "2026-06-09",
        ),
    ],
)
def test_deadlines_per_flow_in_working_days(talk, received, flow_mailbox, sender, measures, close):
    row = accept(talk.db, make_mail(frm=sender), flow_mailbox, "test")
    talk.db["messages"].update(row, {"received_at": received})
    talk.pipeline.process_batch()
    case = next(talk.db.query("SELECT * FROM cases"))
    assert (case["measures_due"], case["close_due"]) == (measures, close)


def test_a_cooperation_case_gets_ten_working_days(talk):
    talk.send(make_mail(subject="Samarbeid om nattalarmer"), "responssenter")
    case = next(talk.db.query("SELECT * FROM cases"))
    assert json.loads(case["rule_hits"])[0] == "cooperation"
    received = dt.date.fromisoformat(case["received_at"][:10])
    assert case["measures_due"] == case["close_due"]
    assert dt.date.fromisoformat(case["close_due"]) > received


def test_relays_carry_an_outlook_thread_index(talk):
    ref, relay = open_case(talk)
    root = base64.b64decode(relay["Thread-Index"])
    assert len(root) == 22 and relay["Thread-Topic"] == "Trygghetsalarm uten kontakt"
    talk.send(reply(relay, SUPPLIER, "Svar."))
    ((_, _, answer),) = talk.outgoing()
    child = base64.b64decode(answer["Thread-Index"])
    assert len(child) == 27 and child[:22] == root  # same conversation, one child block
    later = thread_index(ref, dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    assert base64.b64decode(later)[6:] == root[6:]  # the GUID comes from the reference


def test_classify_reports_the_thread_from_the_case_log(talk, tmp_path, db_path):
    from gateway.store import open_db

    db = open_db(db_path)
    talk = Conversation(db, talk.ruleset)
    ref, relay = open_case(talk)
    eml = tmp_path / "reply.eml"
    eml.write_bytes(reply(relay, SUPPLIER, "Svar"))
    result = CliRunner().invoke(
        cli,
        [
            "classify",
            str(eml),
            "--json",
            "--database",
            str(db_path),
            "--rules",
            str(ROOT / "rules.yaml"),
        ],
    )
    got = json.loads(result.output)
    assert (got["decision"], got["case"], got["matched_by"]) == ("thread", ref, "subject")
    assert got["to"] == [REPORTER]


def test_command_parsing():
    commands, errors = parse_commands(
        "Hei\n#status under behandling\n#alvorlighet middels\n#lukk Byttet batteri\n"
        "#flyt b\n#status ferdig\n  #STÄNG Nytt batteri\n#1 er ikke en kommando\n"
    )
    assert [(c.verb, c.value) for c in commands] == [
        ("status", "under behandling"),
        ("severity", "middels"),
        ("close", "Byttet batteri"),
        ("close", "Nytt batteri"),
    ]
    said = [e.shown(phrases("nb"))["why"] for e in errors]
    assert said == ["ukjent kommando #flyt", "ukjent status «ferdig»"]


def test_anyone_of_the_receiving_party_may_answer_but_not_of_the_reporters_party(talk):
    ref, relay = open_case(talk)
    assert (
        talk.send(reply(relay, "tekniker.ola@leverandor.example", "Fikset."))["outcome"] == "thread"
    )
    ((purpose, to, _),) = talk.outgoing()
    assert to == [REPORTER]
    # A colleague of the reporter, not on Cc, is not part of the case: held.
    assert talk.send(reply(relay, "per@vennesla.kommune.example", "Hei"))["outcome"] == "hold"
