"""A party's helpdesk in the thread (issue 18): rules, ticket numbers, threading by them,
who may receive, and the helpdesk's automatic notices."""

from __future__ import annotations

import csv
import io

import pytest
from conftest import ROOT, make_mail
from test_rules_loader import broken, problems
from test_threads import REPORTER, SUPPLIER, Conversation, open_case, reply

from gateway.helpdesk.notices import notice_kind
from gateway.parse import parse
from gateway.rules.loader import load_rules
from gateway.store import tickets

DESK = "agent@tellu.zendesk.example"  # the ticket system's own domain
NO_REPLY = "no-reply@leverandor.example"


@pytest.fixture
def talk(fresh_db, ruleset):
    return Conversation(fresh_db, ruleset)


def test_shipped_rules_give_the_supplier_a_helpdesk(ruleset):
    supplier = ruleset.directory["supplier"]
    desk = supplier.helpdesk
    assert desk.speaks(DESK) and desk.speaks(NO_REPLY) and not desk.speaks(SUPPLIER)
    assert ruleset.directory.sender(DESK) is supplier  # another domain speaks for it
    assert desk.find("SV: [Tellu #12345] Alarm")[1] == "12345"
    assert desk.notice("solved") == "record"  # to-closing is off by default


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("pattern: '\\[Tellu #(\\d+)\\]'", "pattern: '\\[Tellu #\\d+\\]'", "exactly one group"),
        ("pattern: '\\[Tellu #(\\d+)\\]'", "pattern: '#(\\d+)'", "matches too much"),
        ("pattern: '\\[Tellu #(\\d+)\\]'", "pattern: '(\\d{4})'", "matches too much"),
        ("pattern: '\\[Tellu #(\\d+)\\]'", "pattern: '[Tellu #(\\d+)'", "pattern:"),
        (
            "no_reply: [no-reply@",
            "no_reply: [support@leverandor.example, no-reply@",
            "also a receiver",
        ),
        ("solved: record ", "solved: reopen ", "solved: one of record, to-closing"),
        ("format: '[Tellu #{number}]'", "format: '[Tellu]'", "format needs {number}"),
    ],
)
def test_check_rules_refuses_a_bad_helpdesk_with_its_line(tmp_path, old, new, expected):
    path, line = broken(tmp_path, old, new)
    found = problems(path)
    assert any(f":{line}:" in p and expected in p for p in found), found


def test_a_ticket_number_is_recorded_and_carried_in_our_subjects(talk):
    ref, relay = open_case(talk)
    answer = reply(relay, DESK, "Vi ser på det.", subject=f"SV: [Tellu #12345] {relay['Subject']}")
    assert talk.send(answer)["outcome"] == "thread"
    case_id = talk.case(ref)["id"]
    (ticket,) = tickets.of_case(talk.db, case_id)
    assert (ticket.party, ticket.shown) == ("supplier", "Tellu #12345")
    assert "Tellu #12345" in talk.events("ticket")[0]["detail"]
    ((purpose, to, relayed),) = talk.outgoing()
    assert to == [REPORTER]
    # the reporter answers; the supplier's helpdesk gets its own number in the subject
    talk.send(reply(relayed, REPORTER, "Takk."))
    ((purpose, to, forwarded),) = talk.outgoing()
    assert to == [SUPPLIER] and "[Tellu #12345]" in forwarded["Subject"]
    assert ref in forwarded["Subject"]


def test_a_ticket_number_in_quoted_text_never_counts(talk):
    ref, relay = open_case(talk)
    body = "Vi ser på det.\n\n> [Tellu #777] gammel tekst\n"
    talk.send(reply(relay, SUPPLIER, body))
    assert tickets.of_case(talk.db, talk.case(ref)["id"]) == []


def test_only_the_ticket_number_finds_the_case(talk):
    ref, relay = open_case(talk)
    talk.send(reply(relay, DESK, "Mottatt.", subject="SV: [Tellu #12345] Alarm"))
    talk.outgoing()
    lone = make_mail(frm=DESK, subject="Re: [Tellu #12345] update", body="Ny programvare ute.")
    msg = talk.send(lone)
    assert msg["outcome"] == "thread" and msg["case_id"] == talk.case(ref)["id"]
    assert "by ticket" in talk.events("thread")[-1]["detail"]


def test_an_unknown_ticket_number_goes_to_triage_with_the_number(talk):
    msg = talk.send(make_mail(frm=DESK, subject="Re: [Tellu #999] Alarm", body="Svar."))
    assert msg["outcome"] == "triage" and "Tellu #999" in msg["reason"]


def test_an_outsider_with_a_party_ticket_number_is_held(talk):
    ref, relay = open_case(talk)
    talk.send(reply(relay, DESK, "Mottatt.", subject="SV: [Tellu #12345] Alarm"))
    msg = talk.send(make_mail(frm="someone@gmail.example", subject="Re: [Tellu #12345] Alarm"))
    assert msg["outcome"] == "hold"


def test_no_reply_and_ticket_system_addresses_never_receive(talk):
    ref, relay = open_case(talk)
    talk.send(reply(relay, NO_REPLY, "Vi ser på det.", headers={"Cc": DESK}))
    addresses = {r["address"] for r in talk.db["participants"].rows}
    assert NO_REPLY not in addresses and DESK not in addresses
    ((_, to, relayed),) = talk.outgoing()
    talk.send(reply(relayed, REPORTER, "Takk."))
    ((_, to, _),) = talk.outgoing()
    assert to == [SUPPLIER]  # the party's receiving address, never the no-reply one


def _notice(subject: str, body: str, **headers) -> bytes:
    return make_mail(frm=NO_REPLY, subject=subject, body=body, headers=headers or None)


def test_an_acknowledgement_is_recorded_not_relayed_and_opens_no_case(talk):
    ref, relay = open_case(talk)
    ack = _notice(f"[Tellu #12345] Re: {relay['Subject']}", "We have received your request.")
    msg = talk.send(ack)
    assert (msg["outcome"], msg["case_id"]) == ("notice", talk.case(ref)["id"])
    assert talk.outgoing() == [] and talk.case(ref)["status"] == "registrert"
    assert talk.case(ref)["first_answer_at"] is None
    assert tickets.of_case(talk.db, msg["case_id"])[0].number == "12345"
    alone = talk.send(_notice("Your request has been received", "Vi har mottatt din henvendelse."))
    assert alone["outcome"] == "notice" and alone["case_id"] is None
    assert talk.db["cases"].count == 1


def test_solved_and_survey_never_reopen_a_closed_case(talk):
    ref, relay = open_case(talk)
    talk.send(reply(relay, SUPPLIER, "#lukk Byttet SIM-kort.\n"))
    talk.outgoing()
    assert talk.case(ref)["status"] == "lukket"
    for body in ("Your request has been resolved.", "How would you rate our support?"):
        msg = talk.send(_notice(f"[{ref}] Alarm", body, **{"Auto-Submitted": "auto-generated"}))
        assert msg["outcome"] == "notice"
    assert talk.case(ref)["status"] == "lukket" and talk.outgoing() == []
    assert not talk.events("reopened")


def test_solved_may_set_til_lukking(tmp_path, fresh_db):
    text = (ROOT / "rules.yaml").read_text(encoding="utf-8")
    path = tmp_path / "rules.yaml"
    path.write_text(text.replace("solved: record ", "solved: to-closing "), encoding="utf-8")
    talk = Conversation(fresh_db, load_rules(path))
    ref, relay = open_case(talk)
    talk.send(_notice(f"[{ref}] Alarm", "Your ticket has been solved."))
    assert talk.case(ref)["status"] == "til lukking"


@pytest.mark.parametrize(
    ("subject", "body", "kind"),
    [
        (
            "AutoReply: Alarm",
            "This message has been automatically generated in response to "
            "the creation of a trouble ticket regarding:",
            "acknowledgement",
        ),  # fmt: skip
        ("Sak mottatt", "Vi har mottatt din henvendelse og svarer snart.", "acknowledgement"),
        ("Ärende", "Vi har tagit emot ditt ärende.", "acknowledgement"),
        ("Sag", "Vi har modtaget din henvendelse.", "acknowledgement"),
        ("Your request (#123) has been solved", "", "solved"),
        ("Saka di", "Saka di er løyst.", "solved"),
        ("Survey", "How would you rate the support you received?", "survey"),
        ("Alarm", "Vi har byttet SIM-kortet. Saken er løst fra vår side i dag.", None),
    ],
)
def test_notice_phrasings_in_four_languages(subject, body, kind):
    assert notice_kind(parse(make_mail(frm=NO_REPLY, subject=subject, body=body or "x"))) == kind


def test_relays_and_the_case_commands_show_the_ticket(talk, db_path, ruleset):
    from click.testing import CliRunner

    from gateway.cli import cli
    from gateway.store import open_db

    talk = Conversation(open_db(db_path), ruleset)
    ref, relay = open_case(talk)
    talk.send(reply(relay, DESK, "Vi ser på det.", subject=f"SV: [Tellu #12345] {ref}"))
    ((_, _, relayed),) = talk.outgoing()
    assert "Leverandørens sak: Tellu #12345" in relayed.get_body(("plain",)).get_content()
    opts = ["--database", str(db_path)]
    listed = CliRunner().invoke(cli, ["cases", "list", *opts]).output
    assert ref in listed and "Tellu #12345" in listed
    shown = CliRunner().invoke(cli, ["cases", "show", ref, *opts]).output
    assert "supplier: Tellu #12345" in shown and "ticket" in shown
    exported = CliRunner().invoke(cli, ["cases", "list", "--format", "csv", *opts]).output
    (row,) = [r for r in csv.DictReader(io.StringIO(exported), delimiter=";")]
    assert row["reference"] == ref and row["ticket"] == "Tellu #12345"  # the case export


def test_a_new_ticket_from_the_helpdesk_is_decided_like_a_report(tmp_path, fresh_db):
    """The other direction: the supplier's helpdesk opens a deviation to the response
    centre; a rule relays it, and its ticket number is kept from the start."""
    text = (ROOT / "rules.yaml").read_text(encoding="utf-8")
    rule = (
        "  - name: supplier-to-response-centre\n"
        "    description: The supplier's helpdesk reports to the response centre.\n"
        "    if:\n      mailbox: responssenter\n      sender: supplier\n"
        "    then:\n      decision: relay\n      flow: d\n      to: [response_centre]\n\n"
    )
    text = text.replace("  - name: flow-b\n", rule + "  - name: flow-b\n", 1)
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    talk = Conversation(fresh_db, load_rules(path))
    subject = "[Tellu #555] Plattformen svarer sakte"
    raw = make_mail(frm=DESK, to="responssenter@trygghet-agder.example", subject=subject)
    msg = talk.send(raw, mailbox="responssenter")
    assert msg["outcome"] == "relay"
    (ticket,) = tickets.of_case(talk.db, msg["case_id"])
    assert (ticket.party, ticket.number) == ("supplier", "555")


def test_an_acknowledgement_may_be_relayed_when_the_rules_say_so(tmp_path, fresh_db):
    text = (ROOT / "rules.yaml").read_text(encoding="utf-8")
    path = tmp_path / "rules.yaml"
    path.write_text(text.replace("acknowledgement: record ", "acknowledgement: relay "))
    talk = Conversation(fresh_db, load_rules(path))
    ref, relay = open_case(talk)
    msg = talk.send(_notice(f"[Tellu #9] Re: {relay['Subject']}", "We have received your request."))
    assert msg["outcome"] == "notice"
    ((purpose, to, relayed),) = talk.outgoing()
    assert (purpose, to) == ("reply", [REPORTER])
    assert talk.case(ref)["status"] == "registrert"  # still not the first answer


def test_follow_up_mail_to_the_party_carries_its_ticket_number(talk, ruleset):
    """Reminders and escalations to the supplier are also filed in its ticket."""
    from gateway.followup.common import send
    from gateway.render import Renderer
    from gateway.store.caselog import case_by_reference

    ref, relay = open_case(talk)
    talk.send(reply(relay, DESK, "Vi ser på det.", subject=f"SV: [Tellu #12345] {ref}"))
    talk.outgoing()
    case = case_by_reference(talk.db, ref)
    renderer = Renderer("avviksgateway@trygghet-agder.example", "Avviksgatewayen")
    context = {"subject": case.subject, "done": ["ok"], "errors": []}
    for to, tagged in (([SUPPLIER], True), ([REPORTER], False)):
        send(talk.db, renderer, "followup_answer.txt.j2", context, purpose="notice", to=to,
             ruleset=ruleset, case=case)  # fmt: skip
        ((_, _, mail),) = talk.outgoing()
        assert ("[Tellu #12345]" in mail["Subject"]) is tagged


@pytest.mark.parametrize(
    ("headers", "kind"),
    [
        ({"Auto-Submitted": "auto-replied"}, "acknowledgement"),  # RFC 3834: an answer to us
        ({"X-Autoreply": "yes"}, "acknowledgement"),
        ({"Auto-Submitted": "auto-generated"}, "status"),  # automatic, not an answer
        ({"Precedence": "bulk"}, None),  # ticket systems mark people's answers bulk too
    ],
)
def test_notices_without_known_wording_are_told_by_their_headers(headers, kind):
    raw = make_mail(frm=NO_REPLY, subject="[Tellu #5] Alarm", body="Hei.", headers=headers)
    assert notice_kind(parse(raw)) == kind
