"""Intake: SMTP/LMTP through aiosmtpd, IMAP against a real Dovecot. Stored before acknowledged."""

from __future__ import annotations

import smtplib
import threading
import time

import pytest
from conftest import make_mail
from servers import free_port

from gateway.intake import message_id_of
from gateway.intake import smtp as smtp_intake
from gateway.intake.imap import ImapIntake
from gateway.settings import ImapMailbox
from gateway.store import get_raw, open_db


def test_message_id_is_read_from_the_header_block_only():
    raw = b"Subject: x\r\nMessage-ID:\r\n <abc@example>\r\n\r\nMessage-ID: <body@x>\r\n"
    assert message_id_of(raw) == "<abc@example>"
    assert message_id_of(b"Subject: x\n\nMessage-ID: <body@x>\n") == ""


@pytest.fixture
def smtp_listener(db_path, ruleset):
    handler = smtp_intake.IntakeHandler(db_path, ruleset.mailbox_for)
    controller = smtp_intake.start(handler, "127.0.0.1", free_port())
    yield controller
    controller.stop()
    handler.close()


def test_smtp_intake_stores_before_answering_250(smtp_listener, db_path):
    raw = make_mail(to="support@trygghet-agder.example")
    with smtplib.SMTP(smtp_listener.hostname, smtp_listener.port) as client:
        refused = client.sendmail(
            "kari.nordmann@vennesla.kommune.example",
            ["Support+AVVIK-2026-0001@trygghet-agder.example"],
            raw,
        )
    assert refused == {}
    db = open_db(db_path)
    (row,) = list(db["messages"].rows)
    assert (row["mailbox"], row["state"], row["direction"]) == ("support", "received", "in")
    stored = get_raw(db, row["id"])
    assert stored.startswith(b"Return-Path: <kari.nordmann@vennesla.kommune.example>\r\n")
    assert row["message_id"] == message_id_of(raw) != ""
    assert b"Alarmen virker ikke." in stored


def test_smtp_intake_refuses_addresses_that_are_no_mailbox(smtp_listener, db_path):
    with smtplib.SMTP(smtp_listener.hostname, smtp_listener.port) as client:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as err:
            client.sendmail("x@gmail.example", ["someone@trygghet-agder.example"], make_mail())
    assert err.value.recipients["someone@trygghet-agder.example"][0] == 550
    assert open_db(db_path)["messages"].count == 0


def test_smtp_intake_answers_451_when_it_cannot_store(ruleset, tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    handler = smtp_intake.IntakeHandler(blocked / "gateway.db", ruleset.mailbox_for)
    controller = smtp_intake.start(handler, "127.0.0.1", free_port())
    try:
        with smtplib.SMTP(controller.hostname, controller.port) as client:
            with pytest.raises(smtplib.SMTPDataError) as err:
                client.sendmail(
                    "x@vennesla.kommune.example", ["support@trygghet-agder.example"], make_mail()
                )
        assert err.value.smtp_code == 451  # the sender keeps it and tries again
    finally:
        controller.stop()


def test_lmtp_intake_stores_too(db_path, ruleset):
    handler = smtp_intake.IntakeHandler(db_path, ruleset.mailbox_for)
    controller = smtp_intake.start(handler, "127.0.0.1", free_port(), lmtp=True)
    try:
        with smtplib.LMTP(controller.hostname, controller.port) as client:
            client.sendmail(
                "kari@vennesla.kommune.example",
                ["responssenter@trygghet-agder.example"],
                make_mail(),
            )
    finally:
        controller.stop()
        handler.close()
    assert open_db(db_path)["messages"].get(1)["mailbox"] == "responssenter"


def imap_config(dovecot, **kw) -> ImapMailbox:
    return ImapMailbox(
        mailbox="support",
        host=dovecot.host,
        port=dovecot.port,
        user="support",
        password=dovecot.users["support"],
        security="none",
        **kw,
    )


def test_imap_fetches_in_batches_stores_then_moves(dovecot, db_path):
    for i in range(7):
        dovecot.append("support", make_mail(subject=f"Avvik {i}"))
    db = open_db(db_path)
    intake = ImapIntake(imap_config(dovecot, batch_size=3), db, threading.Event())
    client = intake._create_client()
    assert intake.poll_once(client) == 7
    client.logout()
    rows = list(db["messages"].rows_where(order_by="id"))
    assert [r["state"] for r in rows] == ["received"] * 7
    assert rows[0]["source"] == "imap support uid 1"
    assert dovecot.count("support", "INBOX") == 0
    assert dovecot.count("support", "Processed") == 7
    state = db["mailboxes"].get("support")
    assert state["last_uid"] == 7


def test_imap_moves_leftovers_stored_before_a_crash_and_does_not_store_twice(dovecot, db_path):
    dovecot.append("support", make_mail(subject="Avvik"))
    db = open_db(db_path)
    intake = ImapIntake(imap_config(dovecot), db, threading.Event())
    client = intake._create_client()
    intake._move = lambda client, uids: None  # the crash: stored, never moved
    intake.poll_once(client)
    assert dovecot.count("support", "INBOX") == 1
    del intake._move  # restart
    assert intake.poll_once(client) == 0
    client.logout()
    assert db["messages"].count == 1
    assert dovecot.count("support", "INBOX") == 0


def test_imap_a_new_uidvalidity_reads_the_mailbox_again(dovecot, db_path):
    db = open_db(db_path)
    db["mailboxes"].insert({"name": "support", "uidvalidity": 1, "last_uid": 99})
    dovecot.append("support", make_mail())
    intake = ImapIntake(imap_config(dovecot), db, threading.Event())
    client = intake._create_client()
    assert intake.poll_once(client) == 1
    assert db["mailboxes"].get("support")["uidvalidity"] != 1
    client.logout()


def test_imap_idle_picks_up_a_new_message_and_reconnects(dovecot, db_path):
    stop = threading.Event()
    stored = threading.Event()
    intake = ImapIntake(imap_config(dovecot, poll_interval=30), open_db(db_path), stop, stored.set)
    thread = threading.Thread(target=intake.run, daemon=True)
    thread.start()
    try:
        dovecot.append("support", make_mail(subject="første"))
        assert stored.wait(10), "IDLE did not report the new message"
        stored.clear()
        dovecot.stop()  # the server goes away...
        dovecot.start()  # ...and comes back: intake reconnects by itself
        dovecot.append("support", make_mail(subject="andre"))
        # Within the login time-out even if the first try hits the old server's last breath.
        assert stored.wait(40), "intake did not reconnect"
    finally:
        stop.set()
        thread.join(10)
    assert open_db(db_path)["messages"].count == 2


def test_imap_a_message_arriving_during_the_fetch_is_not_left_for_the_next_idle(dovecot, db_path):
    """The server announces it in the answer to FETCH, not again in IDLE: without a look
    at what it said meanwhile, the message would wait 25 minutes for the IDLE renewal."""
    stop, stored = threading.Event(), threading.Event()
    intake = ImapIntake(imap_config(dovecot, poll_interval=300), open_db(db_path), stop, stored.set)
    create, raced = intake._create_client, []

    def client_whose_first_search_races_a_new_message():
        client = create()
        search = client.search

        def racing_search(criteria):
            found = search(criteria)
            if not raced:
                raced.append(True)
                dovecot.append("support", make_mail(subject="under henting"))
            return found

        client.search = racing_search
        return client

    intake._create_client = client_whose_first_search_races_a_new_message
    dovecot.append("support", make_mail(subject="først"))
    thread = threading.Thread(target=intake.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while open_db(db_path)["messages"].count < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert open_db(db_path)["messages"].count == 2, "the second message waited for IDLE"
    finally:
        stop.set()
        thread.join(10)


class _DeadIdleClient:
    """A connection the server closed: idle_check returns nothing, at once (imapclient)."""

    def idle(self):
        pass

    def idle_check(self, timeout):
        return []

    def idle_done(self):
        raise AssertionError("IDLE is not ended on a dead connection")


def test_idle_on_a_closed_connection_raises_so_that_intake_reconnects(db_path):
    intake = ImapIntake(ImapMailbox("support", "h", "u"), open_db(db_path), threading.Event())
    with pytest.raises(ConnectionError, match="closed the connection during IDLE"):
        intake._idle(_DeadIdleClient())


def test_imap_leaves_mail_on_the_server_while_the_database_is_locked(dovecot, db_path):
    import sqlite3

    dovecot.append("support", make_mail())
    db = open_db(db_path)
    db.execute("PRAGMA busy_timeout = 100")
    locker = sqlite3.connect(db_path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")  # another process holds the database (or the disk is full)
    intake = ImapIntake(imap_config(dovecot), db, threading.Event())
    client = intake._create_client()
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        intake.poll_once(client)
    assert dovecot.count("support", "INBOX") == 1  # not acknowledged: still on the server
    locker.execute("ROLLBACK")
    assert intake.poll_once(client) == 1
    assert dovecot.count("support", "INBOX") == 0
    client.logout()


def test_imap_intake_waits_and_retries_when_it_cannot_store(dovecot, db_path, caplog):
    import sqlite3

    dovecot.append("support", make_mail())
    db = open_db(db_path)
    db.execute("PRAGMA busy_timeout = 50")
    locker = sqlite3.connect(db_path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    stop, stored = threading.Event(), threading.Event()
    intake = ImapIntake(imap_config(dovecot), db, stop, stored.set)
    thread = threading.Thread(target=intake.run, daemon=True)
    with caplog.at_level("ERROR", logger="gateway.intake.imap"):
        thread.start()
        deadline = time.monotonic() + 10
        while "they stay on the server" not in caplog.text:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        locker.execute("ROLLBACK")
        assert stored.wait(15)
    stop.set()
    thread.join(10)
    assert caplog.text.count("they stay on the server") <= 4  # backoff, not a busy loop
    assert dovecot.count("support", "INBOX") == 0


def test_status_shows_the_mailbox_connected_then_lost(dovecot, db_path):
    from click.testing import CliRunner

    from gateway.cli import cli

    stop, stored = threading.Event(), threading.Event()
    intake = ImapIntake(imap_config(dovecot), open_db(db_path), stop, stored.set)
    thread = threading.Thread(target=intake.run, daemon=True)
    thread.start()
    try:
        dovecot.append("support", make_mail())
        assert stored.wait(10)
        shown = CliRunner().invoke(cli, ["status", "--database", str(db_path)])
        assert "mailbox support" in shown.output and " connected " in shown.output
        assert "waiting to be decided: 1" in shown.output
        dovecot.stop()
        deadline = time.monotonic() + 15
        while open_db(db_path)["mailboxes"].get("support")["connected"]:
            assert time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        stop.set()
        thread.join(10)
    box = open_db(db_path)["mailboxes"].get("support")
    assert box["last_fetch_at"] and box["last_error"]
    shown = CliRunner().invoke(cli, ["status", "--database", str(db_path)])
    assert "NOT connected" in shown.output and "last error" in shown.output
