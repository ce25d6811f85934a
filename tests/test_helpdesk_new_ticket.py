"""The other direction (issue 18, point 6): a party's helpdesk opens a new ticket to the
gateway. Ticket systems mark all their mail automatic (Auto-Submitted: auto-generated,
Precedence: bulk, X-RT-Loop-Prevention); a new ticket is still decided by the rules like
any report, while out-of-office replies, acknowledgements and bounces stay ignored, and
the ticket system's address never receives: answers go to the party's receivers."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import ROOT, make_mail
from hypothesis import given, settings
from hypothesis import strategies as st
from test_threads import SUPPLIER, Conversation, open_case, reply

from gateway.decide.classify import classify_bytes
from gateway.helpdesk.new_ticket import new_ticket
from gateway.parse import parse
from gateway.rules.loader import load_rules
from gateway.store import tickets

DESK = "agent@tellu.zendesk.example"  # the ticket system's own domain
NO_REPLY = "no-reply@leverandor.example"
CENTRE = "responssenter@trygghet-agder.example"
RECEIVES = "avvik.responssenter@kristiansand.kommune.example"
# what Request Tracker, Zendesk and ServiceNow put on all their mail
TICKET_SYSTEM = {"Auto-Submitted": "auto-generated", "Precedence": "bulk",
                 "X-RT-Loop-Prevention": "rt.leverandor.example"}  # fmt: skip
RULE = (
    "  - name: supplier-to-response-centre\n"
    "    description: The supplier's helpdesk reports to the response centre.\n"
    "    if:\n      mailbox: responssenter\n      sender: supplier\n"
    "    then:\n      decision: relay\n      flow: d\n      to: [response_centre]\n\n"
)


@pytest.fixture
def rules(tmp_path):
    text = (ROOT / "rules.yaml").read_text(encoding="utf-8")
    path = tmp_path / "rules.yaml"
    path.write_text(text.replace("  - name: flow-b\n", RULE + "  - name: flow-b\n", 1))
    return load_rules(path)


@pytest.fixture
def talk(fresh_db, rules):
    return Conversation(fresh_db, rules)


def ticket(frm: str = DESK, number: int = 555, **headers) -> bytes:
    subject = f"[Tellu #{number}] Plattformen svarer sakte"
    body = "Vi ser treg respons fra plattformen mot responssenteret siden 10:40."
    return make_mail(frm=frm, to=CENTRE, subject=subject, body=body,
                     headers={**TICKET_SYSTEM, **headers})  # fmt: skip


def test_a_new_ticket_with_a_ticket_systems_headers_is_decided_by_the_rules(talk):
    msg = talk.send(ticket(), mailbox="responssenter")
    assert msg["outcome"] == "relay", msg["reason"]
    (only,) = tickets.of_case(talk.db, msg["case_id"])
    assert (only.party, only.number) == ("supplier", "555")  # kept from the start
    relay, receipt = talk.outgoing()
    assert relay[:2] == ("relay", [RECEIVES])
    assert receipt[:2] == ("receipt", [SUPPLIER])  # never the ticket system's address
    assert "[Tellu #555]" in receipt[2]["Subject"]  # so its helpdesk files it in the ticket


@pytest.mark.parametrize(
    ("headers", "subject", "why"),
    [
        ({"Auto-Submitted": "auto-replied"}, None, "an RFC 3834 answer"),
        ({"X-Autoreply": "yes"}, None, "an automatic answer"),
        ({}, "Automatisk svar: [Tellu #555] Plattformen", "an out-of-office reply"),
        ({}, "[Tellu #555] Your request has been received", "an acknowledgement"),
        ({"In-Reply-To": "<x@trygghet-agder.example>"}, None, "a reply to our mail"),
        ({}, "SV: [Tellu #555] Plattformen svarer sakte", "a reply"),
    ],
)
def test_real_automatic_mail_from_the_helpdesk_is_no_new_ticket(rules, headers, subject, why):
    raw = ticket(**headers)
    if subject:
        raw = raw.replace(b"Subject: [Tellu #555] Plattformen svarer sakte",
                          f"Subject: {subject}".encode())  # fmt: skip
    assert new_ticket(rules, parse(raw)) is None, why


def test_request_trackers_first_mail_in_a_ticket_is_a_new_ticket(talk, rules):
    """RT's correspondence in a ticket it opened (headers as RT 5.0.3 writes them) names
    only its own ticket in References; one that names our Message-ID is a reply."""
    rt = {**TICKET_SYSTEM, "References": "<RT-Ticket-1@leverandor.example>", "In-Reply-To": ""}
    del rt["Auto-Submitted"]  # RT's correspondence has none; its autoreply auto-replied
    assert new_ticket(rules, parse(ticket(frm=NO_REPLY, **rt))) is not None
    ours = {**rt, "References": "<1.2@trygghet-agder.example>"}
    assert new_ticket(rules, parse(ticket(frm=NO_REPLY, **ours))) is None
    msg = talk.send(ticket(frm=NO_REPLY, **rt), mailbox="responssenter")
    assert msg["outcome"] == "relay", msg["reason"]  # not an unknown ticket: no triage


def test_only_the_partys_helpdesk_opens_tickets_so(rules):
    assert new_ticket(rules, parse(ticket())) is rules.directory["supplier"]
    assert new_ticket(rules, parse(ticket(frm="kari@vennesla.kommune.example"))) is None
    # the party's own people, with the party's own ticket number
    assert new_ticket(rules, parse(ticket(frm="tekniker@leverandor.example"))) is not None
    person = "tekniker@leverandor.example"
    plain = make_mail(frm=person, subject="Plattformen", headers=TICKET_SYSTEM)
    assert new_ticket(rules, parse(plain)) is None  # bulk mail without a ticket: automatic
    letter = make_mail(frm=DESK, subject="Nyhetsbrev", headers={"List-Id": "<news.tellu>"})
    assert new_ticket(rules, parse(letter)) is None  # the desk's domain, but no ticket


def test_the_rules_test_path_agrees_with_the_daemon(talk, rules):
    """``gateway classify`` and ``rules test`` plan without a case log."""
    raw = ticket(number=556)
    planned = classify_bytes(raw, rules, "responssenter", dt.datetime.now(dt.UTC))
    assert (planned["decision"], planned["to"]) == ("relay", [RECEIVES]), planned
    assert talk.send(raw, mailbox="responssenter")["outcome"] == planned["decision"]


def test_a_helpdesk_acknowledging_our_mail_while_opening_tickets_loops_nowhere(talk):
    """The helpdesk answers everything we send it with an acknowledgement, and opens a
    ticket of its own too: each acknowledgement is recorded, none opens a case or goes on."""
    ref, relay = open_case(talk)
    opened = talk.send(ticket(), mailbox="responssenter")
    (_, _, receipt) = talk.outgoing()[1]
    ack = {"Auto-Submitted": "auto-replied", "Precedence": "bulk"}
    for n in range(talk.pipeline.settings.loop_limit_per_hour + 2):
        for answered in (relay, receipt):
            tag = "[Tellu #12345]" if answered is relay else "[Tellu #555]"
            mail = reply(answered, NO_REPLY, f"We have received your request ({n}).",
                         subject=f"{tag} Re: {answered['Subject']}", headers=ack)  # fmt: skip
            assert talk.send(mail)["outcome"] == "notice"
        bare = make_mail(frm=DESK, subject=f"Auto: {n}", body="Takk.", headers=ack)
        assert talk.send(bare)["outcome"] == "notice"  # an answer with no case: no ticket
    assert talk.outgoing() == []
    assert talk.db["cases"].count == 2
    # a person at the helpdesk writes into the ticket too often: the loop brake holds
    outcomes = []
    for n in range(talk.pipeline.settings.loop_limit_per_hour + 1):
        mail = reply(receipt, DESK, f"Ny informasjon {n}.", subject=f"SV: {receipt['Subject']}",
                     headers={"Precedence": "bulk"})  # fmt: skip
        outcomes.append(talk.send(mail)["outcome"])
    assert outcomes[0] == "thread" and outcomes[-1] == "hold"
    assert talk.case(ref)["id"] != opened["case_id"]


def test_a_helpdesk_reporter_never_receives_answers_go_to_the_party(talk):
    opened = talk.send(ticket(frm=NO_REPLY), mailbox="responssenter")
    case_id = opened["case_id"]
    rows = {r["address"]: r for r in talk.db["participants"].rows_where("case_id = ?", [case_id])}
    assert rows[SUPPLIER]["side"] == "reporter"
    assert NO_REPLY not in rows or rows[NO_REPLY]["role"] == "helpdesk"
    relay, _receipt = talk.outgoing()
    answer = reply(relay[2], RECEIVES, "Vi har sett på det.")
    assert talk.send(answer, mailbox="responssenter")["outcome"] == "thread"
    ((purpose, to, forwarded),) = talk.outgoing()
    assert to == [SUPPLIER] and "[Tellu #555]" in forwarded["Subject"]
    # the helpdesk writes again into its ticket: the reporter's side, relayed on
    body = "Det gjelder alle kommunene."
    more = make_mail(frm=NO_REPLY, subject="[Tellu #555] Plattformen svarer sakte",
                     body=body, headers={"Precedence": "bulk"})  # fmt: skip
    assert talk.send(more, mailbox="responssenter")["outcome"] == "thread"
    ((_, to, _),) = talk.outgoing()
    assert to == [RECEIVES]


ANSWER_MARKS = [{"Auto-Submitted": "auto-replied"}, {"X-Autoreply": "yes"},
                {"X-Autorespond": "yes"}, {"Precedence": "auto_reply"},
                {"In-Reply-To": "<relay.1@trygghet-agder.example>"},
                {"References": "<a@x.example> <relay.2@trygghet-agder.example>"}]  # fmt: skip
WORDS = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=60)


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(
    subject=WORDS,
    body=WORDS,
    marks=st.lists(st.sampled_from(ANSWER_MARKS), min_size=1, max_size=3),
    desk=st.booleans(),
)
def test_an_answer_to_our_mail_is_never_a_new_ticket(ruleset, subject, body, marks, desk):
    """Whatever its text, an automatic answer or a reply to our mail (what a helpdesk
    sends back for what we send it) never opens a case as a new ticket: no loop."""
    headers = {"Precedence": "bulk", "X-RT-Loop-Prevention": "rt.leverandor.example"}
    for mark in marks:
        headers |= mark
    subject = f"[Tellu #7] {' '.join(subject.split())}"
    raw = make_mail(frm=DESK if desk else NO_REPLY, to=CENTRE, headers=headers,
                    subject=subject, body=body or "x")  # fmt: skip
    assert new_ticket(ruleset, parse(raw)) is None


def test_the_partys_other_addresses_write_on_its_helpdesks_side(talk):
    """The ticket came from the no-reply address; the agent's own answer comes from the
    ticket system's domain: the reporter's side, not an outsider."""
    talk.send(ticket(frm=NO_REPLY), mailbox="responssenter")
    talk.outgoing()
    more = make_mail(frm=DESK, subject="Re: [Tellu #555] Plattformen svarer sakte",
                     body="Nå er det verre.", headers={"Precedence": "bulk"})  # fmt: skip
    assert talk.send(more, mailbox="responssenter")["outcome"] == "thread"
    ((_, to, _),) = talk.outgoing()
    assert to == [RECEIVES]
    outsider = make_mail(frm="noen@gmail.example", subject="Re: [Tellu #555] Plattformen")
    assert talk.send(outsider, mailbox="responssenter")["outcome"] == "hold"
