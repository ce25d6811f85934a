"""The common ticket systems' mail, as their public documentation and source write it
(issue 18): each fixture names its source. For each system the supplier's helpdesk is
set up with that system's number format; then its automatic acknowledgement is recorded
in the case (not relayed), its number kept, and an agent's answer that carries only the
system's number still finds the case and reaches the reporter."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from conftest import ROOT, make_mail
from test_threads import REPORTER, Conversation, open_case

from gateway.rules.loader import load_rules
from gateway.store import tickets


@dataclass(frozen=True)
class System:
    name: str
    source: str  # where the format and the wording come from
    pattern: str  # ticket_reference pattern (one group)
    format: str
    desk: str  # the address it writes from
    number: str
    ack_subject: str
    ack_body: str
    answer_subject: str  # an agent's answer: the system's number, not our reference
    kind: str = "acknowledgement"


SYSTEMS = [
    System(
        "Zendesk",
        "Zendesk's default trigger 'Notify requester of received request' (API fixture in "
        "github.com/nukosuke/go-zendesk: 'Your request ({{ticket.id}}) has been received and "
        "is being reviewed by our support staff.'); an admin adds (#{{ticket.id}}) to subjects",
        r"(?:request \(|\(#)(\d+)\)",
        "(#{number})",
        "support@tellu.zendesk.example",
        "12345",
        "[Request received] Trygghetsalarm uten kontakt",
        "Your request (12345) has been received and is being reviewed by our support staff.\n\n"
        "To add additional comments, reply to this email.",
        "[Tellu] Re: Trygghetsalarm uten kontakt (#12345)",
    ),
    System(
        "Jira Service Management",
        "Atlassian, 'Managing service project notifications' (confluence.atlassian.com): "
        "customer notifications name the request by its key (SUP-123)",
        r"\b(SUP-\d+)\b",
        "{number}",
        "jira@tellu.atlassian.example",
        "SUP-123",
        "SUP-123 Trygghetsalarm uten kontakt",
        "We've received your request and will get back to you.\n\nReply above this line.",
        "RE: SUP-123 Trygghetsalarm uten kontakt",
    ),
    System(
        "TOPdesk",
        "TOPdesk, 'How to change your prefix in TOPdesk with minimal impact' (topdesk.com): "
        "incident numbers with a prefix in the subject, imported by TOPdesk's mail import",
        r"\b(I\s?\d{4}\s\d{3,})\b",
        "{number}",
        "topdesk@leverandor.example",
        "I 2312 045",
        "Melding I 2312 045 registrert",
        "Vi har mottatt din henvendelse og registrert den som I 2312 045.",
        "SV: I 2312 045 Trygghetsalarm",
    ),
    System(
        "Freshdesk",
        "Freshdesk, 'Overview of Email channel' (support.freshdesk.com): replies thread by "
        "the ticket ID in the subject, [#12345]",
        r"\[#(\d+)\]",
        "[#{number}]",
        "support@tellu.freshdesk.example",
        "4711",
        "Ticket Received - Trygghetsalarm uten kontakt [#4711]",
        "We would like to acknowledge that we have received your request and a ticket has "
        "been created.",
        "Re: Trygghetsalarm uten kontakt [#4711]",
    ),
    System(
        "ServiceNow",
        "ServiceNow docs: 'Update the resolved incident notification template' "
        "(incident.ess.resolve) and 'Watermarks on notification emails' (Ref:MSG...)",
        r"\b(INC\d{7,})\b",
        "{number}",
        "instance@service-now.example",
        "INC0010001",
        "Incident INC0010001 has been resolved",
        "Your incident INC0010001 has been resolved.\n\nRef:MSG0000123_a1b2c3",
        "Re: INC0010001 Trygghetsalarm uten kontakt",
        "solved",
    ),
    System(
        "osTicket",
        "osTicket source, include/i18n/en_US/templates/email/ticket.autoresp.yaml: "
        "'Support Ticket Opened [#%{ticket.number}]'",
        r"\[#(\d{6})\]",
        "[#{number}]",
        "support@osticket.leverandor.example",
        "123456",
        "Support Ticket Opened [#123456]",
        "A request for support has been created and assigned #123456. A representative will "
        "follow-up with you as soon as possible.",
        "Re: Trygghetsalarm uten kontakt [#123456]",
    ),
    System(
        "Zammad",
        "Zammad docs: trigger 'auto reply' ('Your follow-up for (#{config.ticket_hook}"
        "#{ticket.number}) has been received and will be reviewed by our support staff.') "
        "and Ticket Hook settings ('Some Subject [Ticket#12345]')",
        r"\[Ticket#(\d+)\]",
        "[Ticket#{number}]",
        "support@zammad.leverandor.example",
        "31001",
        "Thanks for your follow-up (Trygghetsalarm uten kontakt) [Ticket#31001]",
        "Your follow-up for (Ticket#31001) has been received and will be reviewed by our "
        "support staff.",
        "RE: Trygghetsalarm uten kontakt [Ticket#31001]",
    ),
    System(
        "FreeScout",
        "FreeScout source, resources/views/emails/customer/auto_reply.blade.php (the "
        "mailbox's auto reply, with {%conversation.number%} in its subject)",
        r"\[#(\d+)\]",
        "[#{number}]",
        "help@freescout.leverandor.example",
        "88",
        "Re: Trygghetsalarm uten kontakt [#88]",
        "We have received your email and will get back to you shortly.",
        "Re: Trygghetsalarm uten kontakt [#88]",
    ),
]


def _ruleset(tmp_path, system: System):
    text = (ROOT / "rules.yaml").read_text(encoding="utf-8")
    text = text.replace("pattern: '\\[Tellu #(\\d+)\\]'", f"pattern: '{system.pattern}'")
    text = text.replace("format: '[Tellu #{number}]'", f"format: '{system.format}'")
    domain = system.desk.rpartition("@")[2]
    text = text.replace('addresses: ["*@tellu.zendesk.example"]', f'addresses: ["*@{domain}"]')
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    return load_rules(path)  # check-rules accepts the system's pattern


@pytest.mark.parametrize("system", SYSTEMS, ids=[s.name for s in SYSTEMS])
def test_a_ticket_system_in_the_thread(tmp_path, fresh_db, system):
    talk = Conversation(fresh_db, _ruleset(tmp_path, system))
    ref, relay = open_case(talk)
    # Its automatic mail answers our relay (In-Reply-To): recorded, never relayed.
    ack = make_mail(frm=system.desk, subject=system.ack_subject, body=system.ack_body,
                    headers={"In-Reply-To": relay["Message-ID"]})  # fmt: skip
    msg = talk.send(ack)
    assert (msg["outcome"], msg["case_id"]) == ("notice", talk.case(ref)["id"]), msg["reason"]
    assert system.kind in talk.events("helpdesk-notice")[-1]["detail"]
    assert talk.outgoing() == []
    (ticket,) = tickets.of_case(talk.db, msg["case_id"])
    assert ticket.number == system.number
    # An agent answers with only the system's number: found, relayed to the reporter.
    answer = make_mail(frm=system.desk, subject=system.answer_subject,
                       body="Vi har byttet SIM-kortet i alarmen.")  # fmt: skip
    msg = talk.send(answer)
    assert msg["outcome"] == "thread" and msg["case_id"] == ticket.case_id, msg["reason"]
    ((_, to, relayed),) = talk.outgoing()
    assert to == [REPORTER]
    # The reporter's answer reaches the supplier with the system's number in the subject.
    talk.send(make_mail(frm=REPORTER, subject=f"SV: {relayed['Subject']}", body="Takk."))
    ((_, to, forwarded),) = talk.outgoing()
    assert system.format.format(number=system.number) in forwarded["Subject"]
    assert system.source  # every fixture names where its format comes from
