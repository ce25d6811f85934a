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


ORIGINALS = {
    "7bit": make_mail(subject="Alarm", body="Alarmen virker ikke.\n"),
    "8bit": make_mail(subject="Feil på alarm", body="Alarmen på Hægebostad virker ikke.\n")
    .replace(b"Content-Transfer-Encoding: quoted-printable", b"Content-Transfer-Encoding: 8bit")
    .replace(b"Alarmen p=C3=A5 H=C3=A6gebostad", "Alarmen på Hægebostad".encode()),
    "binary": make_mail(subject="Lang linje", body="x" * 2000 + "\n").replace(
        b"Content-Transfer-Encoding: quoted-printable", b"Content-Transfer-Encoding: 8bit"
    ),
}


def test_the_original_is_attached_as_a_message(fresh_db, ruleset):
    """RFC 2046 §5.2.1: message/rfc822 in 7bit, 8bit or binary, never base64, so that
    mail clients and Python's parser open it as a message; its bytes unchanged."""
    import pytest

    from gateway.render import Renderer, identity_encoding

    renderer = Renderer("gw@trygghet-agder.example", "GW")
    for want, raw in ORIGINALS.items():
        if want == "binary":
            raw = raw.replace(b"x" * 76 + b"=\n", b"x" * 76)  # one line of 2000 octets
        crlf = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        assert identity_encoding(crlf) == want
        out = renderer.message("triage_error.txt.j2", {"number": 1, "error": "x"},
                               purpose="notice", to=[ADMIN], attach_original=raw)  # fmt: skip
        note = email.message_from_bytes(out.raw, policy=email.policy.default)
        (part,) = note.iter_attachments()
        assert part.get_content_type() == "message/rfc822"
        assert part["Content-Transfer-Encoding"] == want
        inner = part.get_content()
        assert (
            inner["Subject"]
            == email.message_from_bytes(raw, policy=email.policy.default)["Subject"]
        )
        assert crlf in out.raw
    if ORIGINALS["8bit"] == ORIGINALS["7bit"]:
        pytest.fail("the 8bit original is not 8bit")


def test_send_infers_the_flow_from_the_parties(fresh_db, ruleset):
    """#send infers the flow when the rules give exactly one between the sender's party
    and the receiver's; otherwise the answer is refused with a question for the flow."""
    from test_triage import answer, outbox, run, triaged

    from gateway.intake import accept

    # The response centre naming no municipality: triaged; to Vennesla it is flow c.
    centre = "operator.responssenter@kristiansand.kommune.example"
    accept(fresh_db, make_mail(frm=centre, subject="Alarm"), "responssenter", "t")
    run(fresh_db, ruleset)
    ((_, note),) = outbox(fresh_db, "triage")
    got = answer(fresh_db, ruleset, note, "#send kontakt.tt@vennesla.kommune.example")
    assert got["outcome"] == "admin-answer" and "sendt videre" in got["reason"], got["reason"]
    case = next(fresh_db.query("SELECT * FROM cases"))
    assert case["flow"] == "c" and case["municipality"] == "Vennesla"
    ((_, relay),) = outbox(fresh_db, "relay")
    assert "ikke avgjort" not in relay.get_body().get_content()
    # An unknown sender to the supplier: flows a and d go there; the answer asks which.
    _, note = triaged(fresh_db, ruleset, frm="ukjent@gmail.example", subject="Hei")
    got = answer(fresh_db, ruleset, note, "#send support@leverandor.example")
    assert "oppgi flyten (a, d)" in got["reason"], got["reason"]
    got = answer(fresh_db, ruleset, note, "#send support@leverandor.example d")
    assert "sendt videre" in got["reason"]
    assert [r["flow"] for r in fresh_db.query("SELECT flow FROM cases ORDER BY id")] == ["c", "d"]


def test_cli_send_asks_for_the_flow_and_takes_it(db_path, ruleset):
    from click.testing import CliRunner
    from conftest import ROOT
    from test_triage import outbox, triaged

    from gateway.cli import cli
    from gateway.store import open_db

    db = open_db(db_path)
    row, _ = triaged(db, ruleset, frm="x@gmail.example")
    opts = ["--database", str(db_path), "--rules", str(ROOT / "rules.yaml")]
    send = ["triage", "decide", str(row), "--send", "support@leverandor.example"]
    asked = CliRunner().invoke(cli, [*send, *opts])
    assert asked.exit_code == 1 and "oppgi flyten (a, d)" in asked.output
    done = CliRunner().invoke(cli, [*send, "--flow", "a", *opts])
    assert done.exit_code == 0 and "sendt videre som AVVIK-" in done.output, done.output
    assert db.execute("SELECT flow FROM cases").fetchone()[0] == "a"
    assert len(outbox(db, "relay")) == 1
