"""End to end, the other direction (issue 18, point 6): the supplier's Request Tracker
opens a ticket to the response centre, and the gateway makes it a case.

An RT agent creates a ticket whose requestor is the gateway's intake for the response
centre and writes in it. RT's autoreply (``Auto-Submitted: auto-replied``) is recorded as
a notice; its correspondence (``Precedence: bulk``, ``X-RT-Loop-Prevention``, from a
no-reply address) is decided by the rules and relayed, with RT's number kept from the
start. The receipt and the response centre's answer go to the supplier's ``support@``,
tagged, so RT files them in its ticket; nothing goes to the no-reply address, and our
mail into RT starts no loop.
"""

from __future__ import annotations

import smtplib
import time

import pytest
import rt_helpdesk
from conftest import make_mail
from servers import free_port
from test_end_to_end import settings_toml
from test_rt_e2e import NO_REPLY, SUPPORT, RtSmarthost, _rules, _wait

pytestmark = pytest.mark.skipif(
    not rt_helpdesk.available(), reason="Request Tracker 5 is not installed (make test does it)"
)
CENTRE_INTAKE = "responssenter@trygghet-agder.example"
CENTRE = "avvik.responssenter@kristiansand.kommune.example"
RULE = (
    "  - name: supplier-to-response-centre\n"
    "    description: The supplier's helpdesk reports to the response centre.\n"
    "    if:\n      mailbox: responssenter\n      sender: supplier\n"
    "    then:\n      decision: relay\n      flow: d\n      to: [response_centre]\n\n"
)
TAG = "[rt.leverandor.example #1]"


def _with_rule(tmp_path):
    path = _rules(tmp_path)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("  - name: flow-b\n", RULE + "  - name: flow-b\n", 1))
    return path


def test_request_tracker_opens_a_case_to_the_response_centre(gateway_process, tmp_path):
    intake = free_port()
    rt = rt_helpdesk.RequestTracker(tmp_path / "rt", intake, NO_REPLY)
    with RtSmarthost() as smarthost:
        settings = settings_toml(tmp_path / "var", intake, smarthost.port)
        gateway = gateway_process(f'rules_file = "{_with_rule(tmp_path)}"\n' + settings)
        gateway.start()
        smarthost.rt = rt.start()
        try:
            _new_ticket(gateway, smarthost, rt, intake)
        finally:
            rt.stop()


def _new_ticket(gateway, smarthost: RtSmarthost, rt, port: int) -> None:
    db = gateway.db()
    text = "Vi ser treg respons fra plattformen mot responssenteret siden 10:40."
    rt._rest("ticket/new", f"id: ticket/new\nQueue: General\nRequestor: {CENTRE_INTAKE}\n"
                           "Subject: Plattformen svarer sakte\nText: Opprettet.\n")  # fmt: skip
    _wait("RT's autoreply", lambda: next(db.query(
        "SELECT * FROM messages WHERE outcome = 'notice'"), None))  # fmt: skip
    assert db["cases"].count == 0  # an acknowledgement never opens a case
    rt.correspond(1, text)

    # One case, relayed to the response centre, with RT's number from the start.
    case = _wait("the case", lambda: next(db.query("SELECT * FROM cases"), None))
    ticket = _wait("RT's number", lambda: next(db.query("SELECT * FROM case_tickets"), None))
    assert (ticket["case_id"], ticket["party"], ticket["number"]) == (case["id"], "supplier", "1")
    relay = _wait("the relay", lambda: smarthost.to(CENTRE))[-1].message
    assert text in relay.get_body(("plain",)).get_content()
    # The receipt goes to support@, tagged: RT files it in ticket 1.
    receipt = _wait("the receipt", lambda: smarthost.to(SUPPORT))[-1].message
    assert TAG in receipt["Subject"] and case["reference"] in receipt["Subject"]
    _wait("the receipt in RT", lambda: case["reference"] in rt.history(1), timeout=90)

    # The response centre answers: the answer lands in the same RT ticket.
    answer = make_mail(frm=CENTRE, to=CENTRE_INTAKE, subject=f"SV: {relay['Subject']}",
                       body="Vi har varslet kommunene.",
                       headers={"In-Reply-To": relay["Message-ID"]})  # fmt: skip
    with smtplib.SMTP("127.0.0.1", port) as client:
        client.sendmail(CENTRE, [CENTRE_INTAKE], answer)
    _wait("the answer in RT", lambda: "varslet kommunene" in rt.history(1), timeout=90)
    assert TAG in smarthost.to(SUPPORT)[-1].message["Subject"]

    # No loop: one case, one relay to the response centre, nothing to the no-reply address.
    time.sleep(2)
    assert db["cases"].count == 1 and len(smarthost.to(CENTRE)) == 1
    assert not [m for m in smarthost.messages if NO_REPLY in m.rcpt_tos]
    roles = {r["address"]: r["role"] for r in db["participants"].rows}
    assert roles.get(NO_REPLY) == "helpdesk" and roles[SUPPORT] == "party"
    events = db.query("SELECT * FROM events WHERE case_id = ? ORDER BY id", [case["id"]])
    log = "\n".join(f"{e['at'][11:19]} {e['kind']:18} {e['detail']}" for e in events)
    print(f"RT {rt_helpdesk.version()}; the case's event log:\n{log}")
