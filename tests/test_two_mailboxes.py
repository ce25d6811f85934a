"""One report sent to both intake mailboxes: one report, and when the two mailboxes would
give it different flows, the administrators decide, whichever copy is read first."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from conftest import make_mail
from servers import free_port
from test_end_to_end import settings_toml, wait_for_log

from gateway.decide.classify import classify_bytes

AT = dt.datetime(2026, 3, 10, 10, 0, tzinfo=dt.UTC)
BOTH = make_mail(
    frm="kari.nordmann@vennesla.kommune.example",
    to="support@trygghet-agder.example",
    subject="Trygghetsalarm uten kontakt",
    headers={"Cc": "responssenter@trygghet-agder.example"},
)


def test_classify_triages_it_from_either_mailbox(ruleset):
    for mailbox in ("support", "responssenter"):
        got = classify_bytes(BOTH, ruleset, mailbox, AT)
        assert got["decision"] == "triage" and got["chain"][-1] == "two-mailboxes"
        assert "både responssenter og support, som gir ulik flyt (a og b)" in got["explanation"]


def test_the_same_flow_from_both_mailboxes_is_decided_as_usual(ruleset):
    supplier = make_mail(frm="tekniker@leverandor.example", headers={
        "Cc": "responssenter@trygghet-agder.example"})  # fmt: skip
    got = classify_bytes(supplier, ruleset, "support", AT)  # triage in both: no difference
    assert got["chain"][-1] == "rules-yaml"


@pytest.mark.parametrize("first", ["support", "responssenter"])
def test_both_copies_through_dovecot_make_one_triage(
    first, dovecot, smtp_sink, gateway_process, monkeypatch, tmp_path
):
    monkeypatch.setenv("TEST_IMAP_PASSWORD", dovecot.users["support"])
    gateway = gateway_process(settings_toml(tmp_path / "var", free_port(), smtp_sink.port, dovecot))
    gateway.start()
    wait_for_log(gateway, "support: connected")
    wait_for_log(gateway, "responssenter: connected")
    second = "responssenter" if first == "support" else "support"
    dovecot.append(first, BOTH)
    wait_for_log(gateway, "(two-mailboxes)")
    dovecot.append(second, BOTH)
    wait_for_log(gateway, "duplicate of message")
    time.sleep(0.5)  # anything more would have been sent by now
    sent = smtp_sink.wait_for(1, timeout=10)
    assert [m.rcpt_tos for m in sent] == [["admin@trygghet-agder.example"]]  # one triage note
    db = gateway.db()
    outcomes = [r[0] for r in db.execute(
        "SELECT outcome FROM messages WHERE direction = 'in' ORDER BY id")]  # fmt: skip
    assert outcomes == ["triage", "duplicate"]
