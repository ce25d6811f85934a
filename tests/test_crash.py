"""Crash matrix: SIGKILL the daemon at each fault point, restart it, count what was relayed."""

from __future__ import annotations

import smtplib
import time

import pytest
from conftest import make_mail
from servers import free_port
from test_end_to_end import settings_toml

from gateway.faults import POINTS


def send(port: int, raw: bytes) -> bool:
    """Deliver as an MTA would; False when the gateway died before answering."""
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.sendmail(
                "kari.nordmann@vennesla.kommune.example", ["support@trygghet-agder.example"], raw
            )
        return True
    except (smtplib.SMTPException, OSError):
        return False


@pytest.mark.parametrize("workers", [1, 3])  # all in the pipeline thread; two worker processes
@pytest.mark.parametrize("point", POINTS)
def test_kill_at_each_fault_point_and_restart(
    point, workers, smtp_sink, gateway_process, monkeypatch, tmp_path
):
    port = free_port()
    settings = settings_toml(tmp_path / "var", port, smtp_sink.port)
    gateway = gateway_process(f"pipeline_workers = {workers}\n" + settings)
    monkeypatch.setenv("AVVIK_FAULT", point)
    gateway.start()
    raw = make_mail(subject=f"Avvik ved {point}")
    answered = send(port, raw)
    assert gateway.proc.wait(timeout=20) == -9, "the fault point killed the process"
    gateway.proc = None
    assert answered is (point != "after-store")  # stored, but the 250 never went out

    monkeypatch.delenv("AVVIK_FAULT")
    gateway.start()
    if not answered:
        assert send(port, raw)  # the sending MTA tries again: a duplicate, dropped
    smtp_sink.wait_for(2, timeout=15)
    deadline = time.monotonic() + 10
    while gateway.db()["outbox"].count_where("state = 'sent'") < 2 or gateway.db()[
        "messages"
    ].count_where("state = 'received'"):  # the resend too
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert gateway.stop() == 0

    db = gateway.db()
    ids = [m.message["Message-ID"] for m in smtp_sink.messages]
    assert db["cases"].count == 1
    assert len(set(ids)) == 2  # one relay and one receipt, each with its own Message-ID
    if point == "after-send":
        # What was sent but not yet recorded when the power went (here the first
        # message) may arrive twice, with the same Message-ID (a client that
        # de-duplicates shows it once); nothing else is repeated.
        assert len(ids) <= 3
    else:
        assert len(ids) == 2
    states = {r["state"] for r in db["messages"].rows_where("direction = 'in'")}
    assert states == {"done"}
    if not answered:
        assert db["messages"].count_where("outcome = 'duplicate'") == 1


def test_a_message_that_kills_its_worker_every_time_is_quarantined(
    smtp_sink, gateway_process, monkeypatch, tmp_path
):
    """AVVIK_FAULT=prepare: every worker dies on its message. The gateway stays up, the
    message is tried alone once more and then quarantined with the reason."""
    port = free_port()
    settings = settings_toml(tmp_path / "var", port, smtp_sink.port)
    gateway = gateway_process("pipeline_workers = 2\n" + settings)
    monkeypatch.setenv("AVVIK_FAULT", "prepare")
    gateway.start()
    assert send(port, make_mail(subject="Avvik som dreper arbeideren"))
    deadline = time.monotonic() + 20
    while not gateway.db()["messages"].count_where("state = 'quarantined'"):
        assert time.monotonic() < deadline and gateway.proc.poll() is None
        time.sleep(0.05)
    assert gateway.stop() == 0
    (row,) = gateway.db()["messages"].rows_where("direction = 'in'")
    assert row["reason"] == "a pipeline worker process died preparing it, twice"
    assert row["attempts"] == 1 and not smtp_sink.messages
