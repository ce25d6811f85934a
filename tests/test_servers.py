"""The test servers themselves work: real Dovecot IMAP and a real aiosmtpd sink on loopback."""

from __future__ import annotations

import smtplib
import socket
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from servers import Dovecot, SmtpSink, _group_members, find_dovecot, free_port

needs_dovecot = pytest.mark.skipif(
    find_dovecot() is None,
    reason="dovecot is not installed (scripts/install-dovecot.sh installs Debian's package)",
)


def _mail(subject: str, to: str = "support@example.test") -> bytes:
    msg = EmailMessage()
    msg["From"] = "kari@vennesla.example"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{time.monotonic_ns()}@test.example>"
    msg.set_content("Hei,\n\nAlarmen virker ikke. Æøå.\n")
    return msg.as_bytes()


@pytest.fixture
def imap_server(tmp_path: Path) -> Iterator[Dovecot]:
    with Dovecot(tmp_path / "dovecot") as server:
        yield server


def test_free_port_is_bindable_on_loopback() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


@needs_dovecot
def test_dovecot_append_and_read_back(imap_server: Dovecot) -> None:
    assert imap_server.host == "127.0.0.1"
    raw = _mail("Første melding")
    imap_server.append("support", raw)

    assert imap_server.count("support") == 1
    assert imap_server.count("responssenter") == 0
    with imap_server.client("support") as imap:
        imap.select_folder("INBOX")
        uids = imap.search(["SUBJECT", "Første"], charset="UTF-8")
        assert len(uids) == 1
        data = imap.fetch(uids, [b"RFC822", b"FLAGS"])[uids[0]]
    assert data[b"RFC822"].replace(b"\r\n", b"\n") == raw.replace(b"\r\n", b"\n")
    assert [m.replace(b"\r\n", b"\n") for m in imap_server.fetch_all("support", "INBOX")] == [
        raw.replace(b"\r\n", b"\n")
    ]


@needs_dovecot
def test_dovecot_rejects_wrong_password_quickly(imap_server: Dovecot) -> None:
    from imapclient import IMAPClient
    from imapclient.exceptions import LoginError

    started = time.monotonic()
    with IMAPClient(imap_server.host, port=imap_server.port, ssl=False, timeout=5) as imap:
        with pytest.raises(LoginError):
            imap.login("support", "wrong")
    with imap_server.client("support") as imap:
        imap.noop()
    assert time.monotonic() - started < 3


@needs_dovecot
def test_dovecot_idle_sees_append_from_another_connection(imap_server: Dovecot) -> None:
    with imap_server.client("support") as watcher:
        watcher.select_folder("INBOX")
        watcher.idle()
        try:
            imap_server.append("support", _mail("Ny sak"))
            deadline = time.monotonic() + 5
            seen: list = []
            while time.monotonic() < deadline and not any(b"EXISTS" in r for r in seen):
                seen += watcher.idle_check(timeout=max(0.1, deadline - time.monotonic()))
        finally:
            watcher.idle_done()
    assert (1, b"EXISTS") in seen


@needs_dovecot
def test_dovecot_create_folder_and_move(imap_server: Dovecot) -> None:
    imap_server.append("support", _mail("Flyttes"))
    with imap_server.client("support") as imap:
        imap.create_folder("Processed")
        imap.select_folder("INBOX")
        imap.move(imap.search("ALL"), "Processed")
    assert "Processed" in imap_server.folders("support")
    assert imap_server.count("support", "INBOX") == 0
    assert imap_server.count("support", "Processed") == 1
    # append() creates a missing folder; nested folders use "/" as separator.
    imap_server.append("responssenter", _mail("Arkiv"), folder="Arkiv/2026")
    assert imap_server.count("responssenter", "Arkiv/2026") == 1


@needs_dovecot
def test_dovecot_restart_keeps_mail_and_stop_leaves_no_process(tmp_path: Path) -> None:
    server = Dovecot(tmp_path / "dovecot", users={"support": "pw"})
    try:
        server.start()
        pgid = server.proc.pid  # type: ignore[union-attr]
        server.append("support", _mail("Overlever omstart"))
        server.stop()
        assert _group_members(pgid) == set()
        server.start()
        assert server.count("support") == 1
    finally:
        server.cleanup()
    assert not server.root.exists()


@needs_dovecot
def test_dovecot_start_failure_reports_log(tmp_path: Path) -> None:
    first = Dovecot(tmp_path / "a", users={"support": "pw"}).start()
    try:
        clash = Dovecot(tmp_path / "b", users={"support": "pw"}, port=first.port)
        with pytest.raises(RuntimeError, match="dovecot"):
            clash.start(timeout=5)
        clash.cleanup()
    finally:
        first.cleanup()


def _send(sink: SmtpSink, subject: str) -> None:
    with smtplib.SMTP(sink.host, sink.port, timeout=10) as smtp:
        smtp.send_message(
            _as_message(subject),
            from_addr="gateway@example.test",
            to_addrs=["leverandor@example.test", "kopi@example.test"],
        )


def _as_message(subject: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "gateway@example.test"
    msg["To"] = "leverandor@example.test"
    msg["Subject"] = subject
    msg.set_content("Videresendt avvik.\n")
    return msg


def test_smtp_sink_receives_message() -> None:
    with SmtpSink() as sink:
        assert sink.host == "127.0.0.1" and sink.port > 0
        _send(sink, "Avvik 1")
        (received,) = sink.wait_for(1)
    assert received.mail_from == "gateway@example.test"
    assert received.rcpt_tos == ["leverandor@example.test", "kopi@example.test"]
    assert received.message["Subject"] == "Avvik 1"
    assert b"Videresendt avvik." in received.data


def test_smtp_sink_fail_next_data_then_success() -> None:
    with SmtpSink() as sink:
        sink.fail_next(451, "4.3.0 Try again later")
        with pytest.raises(smtplib.SMTPResponseException) as failure:
            _send(sink, "Avvik 2")
        assert failure.value.smtp_code == 451
        assert isinstance(failure.value, smtplib.SMTPDataError)
        assert sink.messages == []
        _send(sink, "Avvik 2")
        assert [m.message["Subject"] for m in sink.wait_for(1)] == ["Avvik 2"]
        assert sink.rejected == [("DATA", "451 4.3.0 Try again later")]


def test_smtp_sink_fail_next_rcpt_permanent() -> None:
    with SmtpSink() as sink:
        sink.fail_next(550, "5.1.1 No such user", count=2, stage="RCPT")
        with pytest.raises(smtplib.SMTPRecipientsRefused) as failure:
            _send(sink, "Avvik 3")
        codes = {code for code, _text in failure.value.recipients.values()}
        assert codes == {550}
        _send(sink, "Avvik 3")
        assert len(sink.wait_for(1)) == 1


def test_smtp_sink_wait_for_times_out_with_details() -> None:
    with SmtpSink() as sink:
        _send(sink, "Bare en")
        with pytest.raises(AssertionError, match="expected 2 message.*Bare en"):
            sink.wait_for(2, timeout=0.5)
