"""The outbox against a real SMTP server (aiosmtpd on loopback): send, retry, fail, recover."""

from __future__ import annotations

import dataclasses
import json
import time

import pytest
from conftest import make_mail
from servers import free_port

from gateway.intake import accept
from gateway.outbox.sender import Sender, recover
from gateway.pipeline import Pipeline
from gateway.render import Renderer
from gateway.settings import Settings, Smarthost
from gateway.store import now


def settings_for(sink_port: int, tmp_path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        smarthost=Smarthost("127.0.0.1", sink_port, security="none", timeout=5),
        retry_base_seconds=0,  # due again at once, so the test needs no clock
    )


def queue_reports(db, ruleset, n: int = 1) -> None:
    """n reports through the pipeline: 2n outbox rows (relay + receipt)."""
    for i in range(n):
        accept(db, make_mail(subject=f"Avvik {i}"), "support", "test")
    renderer = Renderer("avviksgateway@trygghet-agder.example", "Avviksgatewayen")
    Pipeline(db, lambda: ruleset, renderer, Settings()).process_batch()


def states(db) -> list[str]:
    return [r["state"] for r in db["outbox"].rows_where(order_by="id")]


def test_relay_and_receipt_reach_the_smarthost(fresh_db, ruleset, smtp_sink, tmp_path):
    queue_reports(fresh_db, ruleset, 3)
    assert Sender(fresh_db, settings_for(smtp_sink.port, tmp_path)).deliver_due() == 6
    got = smtp_sink.wait_for(6)
    assert states(fresh_db) == ["sent"] * 6
    relays = [m for m in got if m.rcpt_tos == ["support@leverandor.example"]]
    assert len(relays) == 3
    assert all(m.mail_from == "avviksgateway@trygghet-agder.example" for m in got)
    assert {m.message["Subject"].split("] ", 1)[1] for m in relays} == {
        "Avvik 0",
        "Avvik 1",
        "Avvik 2",
    }
    assert [e["kind"] for e in fresh_db["events"].rows_where("kind = 'delivered'")] == [
        "delivered"
    ] * 6


def test_a_failure_to_tell_the_administrators_does_not_stop_the_sender(
    fresh_db, ruleset, smtp_sink, tmp_path, caplog
):
    """The delivery is recorded as failed though the alert could not be made (a broken
    template, say), and the sender goes on: left unrecorded, the failure stopped every
    later write of the sender, so it sent nothing more."""
    queue_reports(fresh_db, ruleset, 2)
    smtp_sink.fail_next(550, "5.1.1 no such user")

    def broken(db, row, err):
        db.execute("INSERT INTO events (kind, detail) VALUES ('half', 'written')")
        raise KeyError("template")

    sender = Sender(fresh_db, settings_for(smtp_sink.port, tmp_path), broken)
    assert sender.deliver_due() == 4
    assert states(fresh_db) == ["failed", "sent", "sent", "sent"]
    assert fresh_db["events"].count_where("kind = 'half'") == 0  # its writes undone
    assert "could not be told" in caplog.text
    queue_reports(fresh_db, ruleset)
    assert sender.deliver_due() == 2  # and the next batch goes


def test_temporary_failure_is_retried_and_delivered_once(fresh_db, ruleset, smtp_sink, tmp_path):
    queue_reports(fresh_db, ruleset)
    smtp_sink.fail_next(451, "4.3.0 try later")
    sender = Sender(fresh_db, settings_for(smtp_sink.port, tmp_path))
    sender.deliver_due()
    assert states(fresh_db) == ["retry", "sent"]
    assert "451" in fresh_db["outbox"].get(1)["last_error"]
    sender.deliver_due()
    assert states(fresh_db) == ["sent", "sent"]
    assert len(smtp_sink.wait_for(2)) == 2
    assert fresh_db["outbox"].get(1)["attempts"] == 2


def test_permanent_failure_marks_failed_and_tells_the_administrators(
    fresh_db, ruleset, smtp_sink, tmp_path
):
    from gateway.alerts import delivery_failed

    queue_reports(fresh_db, ruleset)
    smtp_sink.fail_next(550, "5.1.1 no such user")
    renderer = Renderer("avviksgateway@trygghet-agder.example", "Avviksgatewayen")
    sender = Sender(
        fresh_db,
        settings_for(smtp_sink.port, tmp_path),
        lambda db, row, err: delivery_failed(db, row, err, ruleset, renderer),
    )
    sender.deliver_due()
    assert states(fresh_db) == ["failed", "sent", "queued"]  # relay failed, receipt sent, alert
    sender.deliver_due()
    alert = smtp_sink.wait_for(2)[-1]
    assert alert.rcpt_tos == ["admin@trygghet-agder.example"]
    assert "Levering feilet" in alert.message["Subject"]
    assert "550" in alert.message.get_body(("plain",)).get_content()
    assert fresh_db["events"].count_where("kind = 'delivery-failed'") == 1


def test_smarthost_down_keeps_mail_queued_until_it_returns(fresh_db, ruleset, tmp_path):
    from servers import SmtpSink

    port = free_port()
    queue_reports(fresh_db, ruleset)
    sender = Sender(fresh_db, settings_for(port, tmp_path))
    sender.deliver_due()
    assert states(fresh_db) == ["retry", "retry"]
    with SmtpSink() as sink:  # the smarthost is back (the settings now point at it)
        Sender(fresh_db, settings_for(sink.port, tmp_path)).deliver_due()
        assert len(sink.wait_for(2)) == 2
    assert states(fresh_db) == ["sent", "sent"]


def test_interrupted_deliveries_are_due_again_after_a_restart(
    fresh_db, ruleset, smtp_sink, tmp_path
):
    queue_reports(fresh_db, ruleset)
    fresh_db.execute("UPDATE outbox SET state = 'sending'")  # as a crash mid-batch leaves it
    sender = Sender(fresh_db, settings_for(smtp_sink.port, tmp_path))
    assert sender.deliver_due() == 0
    assert recover(fresh_db) == 2  # what the daemon does at start, before any sender
    sender.deliver_due()
    assert len(smtp_sink.wait_for(2)) == 2 and states(fresh_db) == ["sent", "sent"]


def test_without_a_smarthost_mail_is_written_to_the_outbox_folder(fresh_db, ruleset, tmp_path):
    queue_reports(fresh_db, ruleset)
    folder = tmp_path / "outbox-sent"
    Sender(fresh_db, Settings(outbox_dir=folder)).deliver_due()
    files = sorted(folder.glob("*.eml"))
    assert [f.name for f in files] == ["000001-relay.eml", "000002-receipt.eml"]
    assert b"X-Envelope-To: support@leverandor.example" in files[0].read_bytes()
    assert states(fresh_db) == ["sent", "sent"]


@pytest.mark.parametrize("recipients", [["support@leverandor.example"]])
def test_recipients_come_from_the_rules_not_the_message(fresh_db, ruleset, recipients):
    raw = make_mail(headers={"Cc": "evil@evil.example", "Bcc": "spy@evil.example"})
    accept(fresh_db, raw, "support", "test")
    renderer = Renderer("avviksgateway@trygghet-agder.example", "Avviksgatewayen")
    Pipeline(fresh_db, lambda: ruleset, renderer, Settings()).process_batch()
    relay = fresh_db["outbox"].get(1)
    assert json.loads(relay["recipients"]) == recipients


@pytest.mark.parametrize(
    "body",
    [
        b"Hei\r\nvanlig tekst\r\n",  # clean CRLF: straight to the socket
        b"Hei\r\n.linje med punktum foerst\r\n..to\r\n",  # dot-stuffing needed: smtplib does it
        b"Hei\nbare LF\n.punktum\n",  # bare LF: smtplib fixes the line endings
    ],
)
def test_what_the_server_receives_is_what_was_queued(smtp_sink, body):
    from gateway.outbox.transport import SmtpTransport

    raw = b"Subject: test\r\nMessage-ID: <t@x>\r\n\r\n" + body
    transport = SmtpTransport(Smarthost("127.0.0.1", smtp_sink.port, security="none"))
    assert transport.send("a@trygghet-agder.example", ["b@leverandor.example"], raw) == ""
    transport.close()
    (got,) = smtp_sink.wait_for(1)
    assert got.data.replace(b"\r\n", b"\n").rstrip() == raw.replace(b"\r\n", b"\n").rstrip()


def test_envelope_addresses_as_smtplib_would_send_them(smtp_sink, monkeypatch):
    """MAIL FROM and RCPT TO: a bare address goes out without smtplib's address parser
    (it would send the same), anything else still through it."""
    import email.utils
    import random
    import smtplib

    from gateway.outbox import transport as t

    rng = random.Random(5)
    alphabet = "abcxyz019.-_+=%!#$&'*/?^`{|}~æø"
    for _ in range(2000):
        local = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))
        domain = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))
        address = f"{local}@{domain}"
        assert t._BARE_ADDRESS.fullmatch(address)
        if address.isascii():
            assert smtplib.quoteaddr(address) == f"<{address}>", address

    parsed = []
    real = email.utils.parseaddr
    monkeypatch.setattr(email.utils, "parseaddr", lambda a, **k: parsed.append(a) or real(a))
    transport = t.SmtpTransport(Smarthost("127.0.0.1", smtp_sink.port, security="none"))
    raw = b"Subject: test\r\nMessage-ID: <e@x>\r\n\r\nHei\r\n"
    to = ["b@leverandor.example", "Kari Nordmann <kari@arendal.kommune.example>"]
    assert transport.send("a@trygghet-agder.example", to, raw) == ""
    transport.close()
    (got,) = smtp_sink.wait_for(1)
    assert got.mail_from == "a@trygghet-agder.example"
    assert got.rcpt_tos == ["b@leverandor.example", "kari@arendal.kommune.example"]
    assert parsed == ["Kari Nordmann <kari@arendal.kommune.example>"]  # only the named one


def test_two_connections_deliver_every_message_once(db_path, ruleset, smtp_sink, tmp_path):
    """Deliveries run over several connections at once (smarthost ``connections``); each
    sender claims its own rows, so nothing goes out twice and nothing is left."""
    import threading

    from gateway.store import open_db

    queue_reports(open_db(db_path), ruleset, 20)
    settings = settings_for(smtp_sink.port, tmp_path)
    started = threading.Barrier(2)

    def connection() -> None:
        sender = Sender(open_db(db_path), settings)
        started.wait(5)
        while sender.deliver_due():
            pass

    workers = [threading.Thread(target=connection) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    received = smtp_sink.wait_for(40)
    ids = [m.message["Message-ID"] for m in received]
    assert len(ids) == len(set(ids)) == 40
    assert set(states(open_db(db_path))) == {"sent"}


def test_each_connection_takes_its_share_of_a_burst(fresh_db, ruleset, smtp_sink, tmp_path):
    """With two connections one sender claims half a batch, leaving the rest of a burst
    to the other, instead of taking everything that is due."""
    queue_reports(fresh_db, ruleset, 20)  # 40 due
    base = settings_for(smtp_sink.port, tmp_path)
    two = dataclasses.replace(base, smarthost=dataclasses.replace(base.smarthost, connections=2))
    assert Sender(fresh_db, two).deliver_due() == 25  # half of send_batch_size (50)
    assert Sender(fresh_db, base).deliver_due() == 15  # one connection: all the rest


def test_a_crash_with_a_batch_sent_but_not_recorded_sends_it_again_and_loses_none(
    db_path, ruleset, smtp_sink, tmp_path
):
    """The window that the late records open: the sender went on sending while another
    thread held the write lock, and the process died before its next write. At the next
    start every one of those deliveries is due again (``recover``) and goes out again
    with the same Message-ID; none is lost, and each is recorded once."""
    import collections
    import threading

    from gateway.store import open_db, write

    queue_reports(open_db(db_path), ruleset, 3)  # 6 rows
    first = Sender(open_db(db_path), settings_for(smtp_sink.port, tmp_path))
    held, crashed = threading.Event(), threading.Event()

    def pipeline() -> None:  # takes the write lock after the first delivery, for good
        with write(open_db(db_path)):
            held.set()
            crashed.wait(10)

    holder = threading.Thread(target=pipeline)
    send = first._send

    def sending(item):
        result = send(item)
        if holder.ident is None:  # after the first delivery only
            holder.start()
            assert held.wait(5)
        return result

    first._send = sending
    assert first.deliver_due() == 6  # all six sent, none recorded: the lock is taken
    assert len(first.unrecorded) == 6
    smtp_sink.wait_for(6, timeout=5)
    crashed.set()  # the process dies here: nothing flushed, the rows left 'sending'
    holder.join(10)
    assert states(open_db(db_path)) == ["sending"] * 6

    assert recover(open_db(db_path)) == 6  # the next start
    second = Sender(open_db(db_path), settings_for(smtp_sink.port, tmp_path))
    assert second.deliver_due() == 6
    second.close()
    got = smtp_sink.wait_for(12, timeout=5)
    counts = collections.Counter(m.message["Message-ID"] for m in got)
    assert len(counts) == 6 and set(counts.values()) == {2}  # each twice, the same id
    db = open_db(db_path)
    assert states(db) == ["sent"] * 6
    assert db["events"].count_where("kind = 'delivered'") == 6  # each recorded once


def test_deliveries_go_on_while_the_pipeline_writes_and_are_recorded_after(
    db_path, ruleset, smtp_sink, tmp_path
):
    """The sender does not wait for the write lock after each message: while another
    thread of the gateway holds it (the pipeline's group), it goes on sending, and
    records what the server took with its next write. Before, it waited for the lock
    after the first message, and the rest waited with it."""
    import threading

    from gateway.store import open_db, write

    queue_reports(open_db(db_path), ruleset, 3)  # 6 rows
    sender = Sender(open_db(db_path), settings_for(smtp_sink.port, tmp_path))
    held, all_sent = threading.Event(), threading.Event()

    def pipeline() -> None:  # takes the write lock after the first delivery
        with write(open_db(db_path)):
            held.set()
            all_sent.wait(10)

    send = sender._send

    def sending(item):
        result = send(item)
        if not held.is_set():
            threading.Thread(target=pipeline).start()
            held.wait(5)
        return result

    sender._send = sending
    done = threading.Thread(target=lambda: sender.deliver_due())
    done.start()
    smtp_sink.wait_for(6, timeout=5)  # all six while the lock was held
    assert "sent" not in states(open_db(db_path))[1:]  # those wait for the sender's write
    time.sleep(0.05)
    released = now()
    all_sent.set()
    done.join(10)
    assert sender.deliver_due() == 0  # its next claim records them
    assert states(open_db(db_path)) == ["sent"] * 6
    db = open_db(db_path)
    delivered = [e["at"] for e in db["events"].rows_where("kind = 'delivered'")]
    assert len(delivered) == 6
    sent_at = [r["sent_at"] for r in db["outbox"].rows_where(order_by="id")]
    assert max(delivered + sent_at) < released  # when they were sent, not recorded
    assert len(smtp_sink.wait_for(6)) == 6  # each once


def test_a_burst_goes_over_one_connection_closed_when_none_is_due(
    fresh_db, ruleset, smtp_sink, tmp_path
):
    """Batches that follow one another share the connection, as an MTA keeps one to a
    destination while mail for it waits; it is closed once nothing more is due."""
    queue_reports(fresh_db, ruleset, 30)  # 60 rows: three batches of 25 at most
    sender = Sender(fresh_db, settings_for(smtp_sink.port, tmp_path))
    opened = []
    open_ = sender.transport.open
    sender.transport.open = lambda: (opened.append(1), open_())[1]
    handled = []
    while n := sender.deliver_due():
        handled.append(n)
    assert handled == [25, 25, 10] and len(opened) == 1
    assert sender.transport.conn is None  # closed with the claim that found none
    assert len(smtp_sink.wait_for(60)) == 60


def test_a_kept_connection_the_server_let_go_is_opened_anew(fresh_db, ruleset, smtp_sink, tmp_path):
    """A connection kept from the last batch is tried (NOOP) before the next: one the
    server has closed is opened anew, and no message waits for a retry."""
    import socket

    queue_reports(fresh_db, ruleset, 13)  # 26 rows: 25, then 1
    sender = Sender(fresh_db, settings_for(smtp_sink.port, tmp_path))
    assert sender.deliver_due() == 25
    sender.transport.conn.sock.shutdown(socket.SHUT_RDWR)  # as when the server times out
    assert sender.deliver_due() == 1
    assert set(states(fresh_db)) == {"sent"}
    assert fresh_db["events"].count_where("kind = 'delivery-retry'") == 0


def test_a_connection_is_not_kept_past_its_time_nor_while_the_log_cannot_be_written(
    fresh_db, ruleset, smtp_sink, tmp_path, monkeypatch
):
    """Kept at most REUSE_SECONDS (a login of hours may outlive its token), and closed
    when the claim of the next batch fails (the sender then waits and tries again)."""
    import sqlite3

    from gateway.outbox import transport
    from gateway.store import outbox as rows

    queue_reports(fresh_db, ruleset, 13)  # 26 rows: 25, then 1
    sender = Sender(fresh_db, settings_for(smtp_sink.port, tmp_path))
    assert sender.deliver_due() == 25
    kept = sender.transport.conn
    monkeypatch.setattr(transport, "REUSE_SECONDS", 0)
    assert sender.deliver_due() == 1
    assert sender.transport.conn is not kept  # opened anew for the last one
    queue_reports(fresh_db, ruleset, 13)
    monkeypatch.setattr(transport, "REUSE_SECONDS", 300)
    assert sender.deliver_due() == 25 and sender.transport.conn is not None

    def locked(db, limit):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(rows, "claim_due", locked)
    with pytest.raises(sqlite3.OperationalError):
        sender.deliver_due()
    assert sender.transport.conn is None
