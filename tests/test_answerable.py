"""Issue 17: every mail the gateway sends can be answered with Reply, and says it is
automatic. An administrator answers a triage note as a mail client does (To: the
Reply-To, else the From; "SV: " and the subject), through Dovecot and the SMTP intake."""

from __future__ import annotations

import email
import email.policy
import smtplib
import time
from email.message import EmailMessage

from conftest import make_mail
from servers import free_port
from test_end_to_end import settings_toml, wait_for_log

from gateway.rules.loader import load_rules
from gateway.settings import load as load_settings

ADMIN = "admin@trygghet-agder.example"


def client_reply(note: EmailMessage, frm: str, body: str) -> tuple[str, bytes]:
    """(the address Reply writes to, the reply) as an ordinary mail client makes it."""
    to = email.utils.parseaddr(str(note["Reply-To"] or note["From"]))[1]
    reply = make_mail(frm=frm, to=to, subject=f"SV: {note['Subject']}", body=body,
                      headers={"In-Reply-To": note["Message-ID"]})  # fmt: skip
    return to, reply


def wait_outcome(db, row_id: int, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    while True:
        row = db.execute("SELECT outcome, reason FROM messages WHERE id = ?", [row_id]).fetchone()
        if row and row[0]:
            return row
        assert time.monotonic() < deadline, f"message {row_id} not decided"
        time.sleep(0.05)


def last_in(db) -> int:
    return db.execute("SELECT max(id) FROM messages WHERE direction = 'in'").fetchone()[0] or 0


def new_in(db, after: int, timeout: float = 20) -> int:
    deadline = time.monotonic() + timeout
    while last_in(db) <= after:
        assert time.monotonic() < deadline, "nothing arrived"
        time.sleep(0.05)
    return last_in(db)


def test_reply_to_a_triage_note_reaches_the_gateway(
    dovecot, smtp_sink, gateway_process, monkeypatch, tmp_path
):
    monkeypatch.setenv("TEST_IMAP_PASSWORD", dovecot.users["support"])
    port = free_port()
    gateway = gateway_process(settings_toml(tmp_path / "var", port, smtp_sink.port, dovecot))
    gateway.start()
    wait_for_log(gateway, "support: connected")
    ruleset = load_rules(load_settings(gateway.settings_file).rules_file)
    db = gateway.db()
    for n, via in enumerate(("smtp", "imap")):
        report = make_mail(frm=f"ny.ansatt{n}@gmail.example", subject=f"Alarm {n}")
        seen = last_in(db)
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            smtp.sendmail("x@gmail.example", ["support@trygghet-agder.example"], report)
        assert wait_outcome(db, new_in(db, seen))[0] == "triage"
        note = smtp_sink.wait_for(n * 2 + 1)[-1].message
        assert note["Auto-Submitted"] == "auto-generated"
        assert "#send ADRESSE" in note.get_body().get_content()
        to, reply = client_reply(note, ADMIN, "#sak AVVIK-1999-0001\n")
        mailbox = ruleset.mailbox_for(to)
        assert mailbox, f"Reply goes to {to}, which is no intake mailbox"
        seen = last_in(db)
        if via == "smtp":
            with smtplib.SMTP("127.0.0.1", port) as smtp:  # refused before: 550 5.1.1
                smtp.sendmail(ADMIN, [to], reply)
        else:
            dovecot.append(mailbox, reply)
        outcome, reason = wait_outcome(db, new_in(db, seen))
        assert outcome == "admin-answer" and "AVVIK-1999-0001" in reason, reason
        # the refusal is answerable in the same way: its Reply names the same message
        refusal = smtp_sink.wait_for(n * 2 + 2)[-1].message
        assert refusal["Auto-Submitted"] == "auto-replied"
        to, reply = client_reply(refusal, ADMIN, "#ignorer testmelding\n")
        seen = last_in(db)
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            smtp.sendmail(ADMIN, [to], reply)
        outcome, reason = wait_outcome(db, new_in(db, seen))
        assert outcome == "admin-answer" and "ignorert" in reason, reason
    db.close()


def test_every_purpose_says_whether_it_is_automatic():
    """RFC 3834: every notice carries Auto-Submitted; what a person wrote, relayed,
    carries X-Auto-Response-Suppress (no OOF loops) and no Auto-Submitted."""
    import re
    from pathlib import Path

    from gateway.render import RELAYED, automatic_headers

    source = "\n".join(p.read_text() for p in Path("gateway").rglob("*.py"))
    purposes = set(re.findall(r'purpose="([a-z-]+)"', source))
    purposes |= {"reply", "status", "command-error"}  # given by position (threads/)
    assert {"relay", "reply", "receipt", "triage", "digest", "alert", "notice"} <= purposes
    for purpose in purposes:
        headers = automatic_headers(purpose)
        assert headers["X-Auto-Response-Suppress"] == "OOF, AutoReply"
        if purpose in RELAYED:
            assert "Auto-Submitted" not in headers
        else:
            assert headers["Auto-Submitted"] in ("auto-generated", "auto-replied"), purpose


def test_a_quoted_footer_is_not_an_answer(fresh_db, ruleset):
    """Outlook quotes without '>': the note's own answer lines must not decide."""
    from test_triage import outbox, run

    from gateway.intake import accept

    accept(fresh_db, make_mail(frm="x@gmail.example", subject="Alarm"), "support", "t")
    run(fresh_db, ruleset)
    ((_, note),) = outbox(fresh_db, "triage")
    assert note["Reply-To"] == "support@trygghet-agder.example"
    quoted = note.get_body().get_content()
    row = accept(fresh_db, make_mail(frm=ADMIN, subject=f"SV: {note['Subject']}",
                                     body=f"Takk.\n\n{quoted}"), "support", "t")  # fmt: skip
    run(fresh_db, ruleset)
    got = fresh_db["messages"].get(row)
    assert got["outcome"] == "admin-answer" and "fant ingen kommando" in got["reason"]
