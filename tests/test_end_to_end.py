"""``gateway serve`` as a real process: Dovecot and SMTP in, aiosmtpd sink out, restarts."""

from __future__ import annotations

import smtplib
import time

import pytest
from conftest import EXAMPLES, make_mail
from servers import free_port

from gateway.store.search import search_cases
from gateway.store.web import CaseFilter

pytestmark = pytest.mark.skipif(not EXAMPLES.exists(), reason="examples not beside the repo")


def settings_toml(data_dir, smtp_port: int, smarthost_port: int, dovecot=None) -> str:
    text = f"""
data_dir = "{data_dir}"
smtp_intake_port = {smtp_port}
retry_base_seconds = 0.2
retry_max_seconds = 0.5

[smarthost]
host = "127.0.0.1"
port = {smarthost_port}
security = "none"
timeout = 5
"""
    for box in ("support", "responssenter") if dovecot else ():
        text += f"""
[[imap]]
mailbox = "{box}"
host = "127.0.0.1"
port = {dovecot.port}
user = "{box}"
password_env = "TEST_IMAP_PASSWORD"
security = "none"
"""
    return text


def wait_for_log(gateway, text: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while text not in gateway.log.read_text(errors="replace"):
        assert time.monotonic() < deadline, gateway.log.read_text()[-3000:]
        time.sleep(0.02)


def test_imap_report_is_relayed_with_reference_and_receipt(
    dovecot, smtp_sink, gateway_process, monkeypatch, tmp_path
):
    monkeypatch.setenv("TEST_IMAP_PASSWORD", dovecot.users["support"])
    gateway = gateway_process(settings_toml(tmp_path / "var", free_port(), smtp_sink.port, dovecot))
    gateway.start()
    wait_for_log(gateway, "support: connected")
    wait_for_log(gateway, "responssenter: connected")

    started = time.monotonic()
    dovecot.append("support", (EXAMPLES / "013.eml").read_bytes())  # flow d, with a PDF
    got = smtp_sink.wait_for(2, timeout=30)
    elapsed = time.monotonic() - started
    dovecot.append("responssenter", (EXAMPLES / "010.eml").read_bytes())  # flow c: Vennesla
    got = smtp_sink.wait_for(4, timeout=30)

    relay_d = next(m for m in got if m.rcpt_tos == ["support@leverandor.example"])
    subject = relay_d.message["Subject"]
    assert subject.startswith("[AVVIK-2026-") and subject.endswith(
        "] Plattformen nede i 40 minutter"
    )
    reference = subject[1:16]
    assert relay_d.message["Reply-To"] == "support@trygghet-agder.example"
    # 013's logg.pdf cannot be read (no pages, no xref): held back from the supplier
    assert [a.get_filename() for a in relay_d.message.iter_attachments()] == []
    assert "Holdt tilbake: logg.pdf" in relay_d.message.get_body(("plain",)).get_content()
    receipt = next(
        m
        for m in got
        if m.rcpt_tos == ["avdelingsleder.responssenter@kristiansand.kommune.example"]
    )
    assert reference in receipt.message["Subject"]
    relay_c = next(m for m in got if m.rcpt_tos == ["kontakt.tt@vennesla.kommune.example"])
    assert "nøkkelboks" in relay_c.message["Subject"]

    db = gateway.db()
    case = next(db.query("SELECT * FROM cases WHERE reference = ?", [reference]))
    assert (case["flow"], case["status"], case["mailbox"]) == ("d", "registrert", "support")
    assert dovecot.count("support", "INBOX") == 0 and dovecot.count("support", "Processed") == 1
    assert gateway.stop() == 0
    log = gateway.log.read_text()
    assert "Mottaksplattformen" not in log  # never a message body in the log
    assert "Plattformen nede" not in log and "nøkkelboks" not in log  # nor a subject
    assert f"relay {reference} flow d" in log
    print(f"APPEND to relay in the sink: {elapsed:.3f} s")
    assert elapsed < 10


def test_smtp_intake_report_is_relayed(smtp_sink, gateway_process, tmp_path):
    port = free_port()
    gateway = gateway_process(settings_toml(tmp_path / "var", port, smtp_sink.port))
    gateway.start()
    with smtplib.SMTP("127.0.0.1", port) as client:
        client.sendmail(
            "kari.nordmann@vennesla.kommune.example",
            ["responssenter@trygghet-agder.example"],
            make_mail(),
        )
    got = smtp_sink.wait_for(2)
    assert {tuple(m.rcpt_tos) for m in got} == {
        ("avvik.responssenter@kristiansand.kommune.example",),
        ("kari.nordmann@vennesla.kommune.example",),
    }
    # its words are found once the pipeline is idle (store/indexing.py when_idle)
    db, deadline = gateway.db(), time.monotonic() + 10
    while not search_cases(db, CaseFilter(text="virker")):
        assert time.monotonic() < deadline, "the report's text never went into the index"
        time.sleep(0.05)
    assert gateway.stop() == 0


def test_restart_delivers_what_was_queued_exactly_once(smtp_sink, gateway_process, tmp_path):
    intake_port, dead_port = free_port(), free_port()
    gateway = gateway_process(
        settings_toml(tmp_path / "var", intake_port, dead_port)
    )  # the smarthost is down
    gateway.start()
    with smtplib.SMTP("127.0.0.1", intake_port) as client:
        for i in range(3):
            client.sendmail(
                "kari.nordmann@vennesla.kommune.example",
                ["support@trygghet-agder.example"],
                make_mail(subject=f"Avvik {i}"),
            )
    deadline = time.monotonic() + 10
    while gateway.db()["outbox"].count < 6:  # all three decided, six mails queued
        assert time.monotonic() < deadline, gateway.log.read_text()[-2000:]
        time.sleep(0.05)
    wait_for_log(gateway, "will be retried")
    assert gateway.stop() == 0
    db = gateway.db()
    assert db["outbox"].count == 6 and db["outbox"].count_where("state = 'sent'") == 0

    gateway.settings_file.write_text(settings_toml(tmp_path / "var", intake_port, smtp_sink.port))
    gateway.start()
    smtp_sink.wait_for(6)
    deadline = time.monotonic() + 10
    while gateway.db()["outbox"].count_where("state = 'sent'") < 6:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert gateway.stop() == 0
    subjects = sorted(m.message["Subject"] for m in smtp_sink.messages)
    assert len(subjects) == 6 and len(set(subjects)) == 6  # each relay and receipt once
    assert gateway.db()["cases"].count == 3


def test_run_command_without_settings_starts_on_embedded_defaults(gateway_process, tmp_path):
    """No settings: SQLite under var/, SMTP intake on loopback, relays into a folder."""
    port = free_port()
    gateway = gateway_process(f'data_dir = "{tmp_path / "var"}"\nsmtp_intake_port = {port}\n')
    gateway.start()
    with smtplib.SMTP("127.0.0.1", port) as client:
        client.sendmail(
            "ole@arendal.kommune.example",
            ["support@trygghet-agder.example"],
            make_mail(frm="ole@arendal.kommune.example"),
        )
    folder = tmp_path / "var" / "outbox-sent"
    deadline = time.monotonic() + 10
    while len(list(folder.glob("*.eml"))) < 2:
        assert time.monotonic() < deadline, gateway.log.read_text()[-2000:]
        time.sleep(0.05)
    assert gateway.stop() == 0
    assert "outgoing mail is written to" in gateway.log.read_text()


def test_thread_round_trip_through_dovecot(
    dovecot, smtp_sink, gateway_process, monkeypatch, tmp_path
):
    """report -> relay -> supplier answers (SV: [ref]) -> reporter gets it -> reporter answers
    with only In-Reply-To -> supplier gets it -> supplier closes with a measure -> reporter
    told -> the case is closed in the database."""
    monkeypatch.setenv("TEST_IMAP_PASSWORD", dovecot.users["support"])
    gateway = gateway_process(settings_toml(tmp_path / "var", free_port(), smtp_sink.port, dovecot))
    gateway.start()
    wait_for_log(gateway, "support: connected")
    reporter, supplier = "kari.nordmann@vennesla.kommune.example", "support@leverandor.example"

    def answer(to_msg, frm, body, subject=None, references=True):
        headers = {"In-Reply-To": to_msg["Message-ID"]}
        if references:
            headers["References"] = to_msg["Message-ID"]
        return make_mail(
            frm=frm,
            to="support@trygghet-agder.example",
            body=body,
            subject=subject or f"SV: {to_msg['Subject']}",
            headers=headers,
        )

    def next_to(address, n):
        got = smtp_sink.wait_for(n, timeout=30)
        return [m for m in got if address in m.rcpt_tos][-1].message

    dovecot.append("support", make_mail(frm=reporter, subject="Alarmen piper"))
    relay = next_to(supplier, 2)
    reference = relay["X-Avviksgateway"]

    dovecot.append("support", answer(relay, supplier, "Vi sender en tekniker i dag."))
    to_reporter = next_to(reporter, 3)
    assert reference in to_reporter["Subject"]
    assert "Vi sender en tekniker i dag." in to_reporter.get_body(("plain",)).get_content()

    dovecot.append(
        "support", answer(to_reporter, reporter, "Takk!", subject="Re: alarmen", references=False)
    )
    to_supplier = next_to(supplier, 4)
    assert "Takk!" in to_supplier.get_body(("plain",)).get_content()
    assert reference in to_supplier["Subject"]

    dovecot.append("support", answer(to_supplier, supplier, "#lukk Byttet høyttaler.\n"))
    notice = next_to(reporter, 5)
    assert "Byttet høyttaler." in notice.get_body(("plain",)).get_content()
    assert gateway.stop() == 0
    case = next(gateway.db().query("SELECT * FROM cases WHERE reference = ?", [reference]))
    assert (case["status"], case["measure"]) == ("lukket", "Byttet høyttaler.")
    assert dovecot.count("support", "INBOX") == 0
