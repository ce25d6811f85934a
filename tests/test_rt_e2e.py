"""End to end with a real helpdesk (issue 18): the gateway, Request Tracker 5 and back.

The supplier's support address is RT: the test smarthost hands the supplier's mail to
``rt-mailgate``, RT's own mail comes back to the gateway's SMTP intake from a no-reply
address, and an agent answers through RT's REST interface. ``make test`` installs RT
from Debian's packages when it is missing (scripts/install-rt.sh).
"""

from __future__ import annotations

import smtplib
import time

import pytest
import rt_helpdesk
from conftest import ROOT, make_mail
from servers import SmtpSink, free_port
from test_end_to_end import settings_toml

pytestmark = pytest.mark.skipif(
    not rt_helpdesk.available(), reason="Request Tracker 5 is not installed (make test does it)"
)
REPORTER = "kari.nordmann@vennesla.kommune.example"
SUPPORT = "support@leverandor.example"
NO_REPLY = "no-reply@leverandor.example"
INTAKE = "support@trygghet-agder.example"


class RtSmarthost(SmtpSink):
    """The smarthost: records everything, and delivers the supplier's mail into RT."""

    rt: rt_helpdesk.RequestTracker | None = None

    def _record(self, envelope) -> None:
        if self.rt is not None and SUPPORT in envelope.rcpt_tos:
            self.rt.mailgate(envelope.original_content)
        super()._record(envelope)

    def to(self, address: str) -> list:
        return [m for m in self.messages if address in m.rcpt_tos]


def _rules(tmp_path):
    """The shipped rules, with the supplier's helpdesk writing RT's tags."""
    text = (ROOT / "rules.yaml").read_text(encoding="utf-8")
    text = text.replace(
        "pattern: '\\[Tellu #(\\d+)\\]'\n          format: '[Tellu #{number}]'",
        "pattern: '\\[rt\\.leverandor\\.example #(\\d+)\\]'\n"
        "          format: '[rt.leverandor.example #{number}]'",
    ).replace("- name: Tellu\n", "- name: RT\n")
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _wait(what, check, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
    return found


def _reply_to(received, frm: str, body: str) -> bytes:
    msg = received.message
    return make_mail(frm=frm, to=INTAKE, subject=f"SV: {msg['Subject']}", body=body,
                     headers={"In-Reply-To": msg["Message-ID"],
                              "References": msg["Message-ID"]})  # fmt: skip


def test_a_case_through_request_tracker_and_back(gateway_process, tmp_path):
    intake = free_port()
    rt = rt_helpdesk.RequestTracker(tmp_path / "rt", intake, NO_REPLY)
    with RtSmarthost() as smarthost:
        settings = settings_toml(tmp_path / "var", intake, smarthost.port)
        gateway = gateway_process(f'rules_file = "{_rules(tmp_path)}"\n' + settings)
        gateway.start()
        smarthost.rt = rt.start()
        try:
            _round_trip(gateway, smarthost, rt, intake)
        finally:
            rt.stop()
            print(f"RT {rt_helpdesk.version()}; its server log:\n"
                  + (rt.folder / "server.log").read_text(errors="replace")[-1500:])  # fmt: skip


def _send(port: int, raw: bytes) -> None:
    with smtplib.SMTP("127.0.0.1", port) as client:
        client.sendmail(REPORTER, [INTAKE], raw)


def _round_trip(gateway, smarthost: RtSmarthost, rt, port: int) -> None:
    db = gateway.db()
    _send(port, make_mail(frm=REPORTER, subject="Trygghetsalarm uten kontakt"))

    # One case; RT opened ticket 1, its autoreply is recorded in the case, not relayed.
    case = _wait("the case", lambda: next(db.query("SELECT * FROM cases"), None))
    ticket = _wait("RT's number", lambda: next(db.query("SELECT * FROM case_tickets"), None))
    assert (ticket["case_id"], ticket["party"], ticket["number"]) == (case["id"], "supplier", "1")
    notice = _wait("the autoreply", lambda: next(db.query(
        "SELECT * FROM messages WHERE outcome = 'notice'"), None))  # fmt: skip
    assert notice["case_id"] == case["id"] and "AutoReply" in notice["subject"]
    assert [m.message["Subject"] for m in smarthost.to(REPORTER)] == [  # the receipt only
        m.message["Subject"] for m in smarthost.to(REPORTER) if "Mottatt" in m.message["Subject"]
    ]
    reporter_mail = len(smarthost.to(REPORTER))

    # The agent answers in RT: the answer reaches the reporter.
    rt.correspond(1, "Vi har byttet SIM-kortet i alarmen.")
    answer = _wait("the relayed answer", lambda: len(smarthost.to(REPORTER)) > reporter_mail
                   and smarthost.to(REPORTER)[-1])  # fmt: skip
    assert "Vi har byttet SIM-kortet" in answer.message.get_body(("plain",)).get_content()
    assert case["reference"] in answer.message["Subject"]

    # The reporter answers: it lands in the same RT ticket, read back from RT.
    _send(port, _reply_to(answer, REPORTER, "Takk, alarmen virker igjen."))
    _wait("the answer in RT", lambda: "alarmen virker igjen" in rt.history(1), timeout=90)
    forwarded = smarthost.to(SUPPORT)[-1].message
    assert "[rt.leverandor.example #1]" in forwarded["Subject"]
    reporter_mail = len(smarthost.to(REPORTER))

    # Resolving in RT: its notice is recorded; the case is not reopened, nobody is spammed.
    rt.resolve(1)
    _wait("RT's resolved notice", lambda: db.execute(
        "SELECT COUNT(*) FROM messages WHERE outcome = 'notice'").fetchone()[0] >= 2)  # fmt: skip
    time.sleep(1)
    assert len(smarthost.to(REPORTER)) == reporter_mail
    assert not list(db.query("SELECT * FROM events WHERE kind = 'reopened'"))
    assert db["cases"].count == 1
    # Nothing ever to a no-reply address; it never became a participant.
    assert not [m for m in smarthost.messages if NO_REPLY in m.rcpt_tos]
    assert NO_REPLY not in {r["address"] for r in db["participants"].rows}
    events = db.query("SELECT * FROM events WHERE case_id = ? ORDER BY id", [case["id"]])
    log = "\n".join(f"{e['at'][11:19]} {e['kind']:18} {e['detail']}" for e in events)
    print(f"--- the case's event log:\n{log}")
