"""The Prometheus endpoint: counted from the case log, served on loopback, scraped over HTTP."""

from __future__ import annotations

import datetime as dt
import smtplib
import time
import urllib.request

import pytest
from conftest import make_mail
from prometheus_client.parser import text_string_to_metric_families
from servers import free_port

from gateway import metrics
from gateway.intake import accept
from gateway.outbox.sender import Sender
from gateway.pipeline import Pipeline
from gateway.render import Renderer
from gateway.settings import Settings, Smarthost
from gateway.store import open_db, write

SUPPLIER = "support@leverandor.example"


def scrape(port: int) -> dict[tuple[str, frozenset], float]:
    """Every sample of one scrape, by name and labels."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


def ago(seconds: float) -> str:
    moment = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=seconds)
    return moment.isoformat(timespec="milliseconds")


@pytest.fixture
def served(db_path):
    """The endpoint on a free loopback port; yields the port, shuts down after."""
    open_db(db_path).close()
    port = free_port()
    server = metrics.serve(db_path, "127.0.0.1", port)
    yield port, server
    server.shutdown()
    server.server_close()


def test_metrics_count_what_the_gateway_did(db_path, ruleset, smtp_sink, served, tmp_path):
    port, server = served
    assert server.server_address[0] == "127.0.0.1"  # loopback only
    db = open_db(db_path)
    settings = Settings(
        data_dir=tmp_path, smarthost=Smarthost("127.0.0.1", smtp_sink.port, security="none")
    )
    renderer = Renderer(settings.gateway_address, settings.gateway_name)
    accept(db, make_mail(subject="Alarmen er død"), "support", "test")  # flow a: a relay
    accept(db, make_mail(frm="ukjent@gmail.example"), "support", "test")  # nobody: triage
    accept(db, make_mail(to="responssenter@trygghet-agder.example"), "responssenter", "test")
    assert Pipeline(db, lambda: ruleset, renderer, settings).process_batch() == 3
    smtp_sink.fail_next(550, "No such user", stage="RCPT")  # the first delivery refused
    assert Sender(db, settings).deliver_due() == 5  # two relays, two receipts, one triage
    waiting = accept(db, make_mail(), "support", "test")
    with write(db):
        db.execute("UPDATE messages SET received_at = ? WHERE id = ?", [ago(120), waiting])
        db.execute("INSERT INTO mailboxes (name, connected, last_fetch_at) VALUES (?, 1, ?)",
                   ["support", ago(30)])  # fmt: skip
        db.execute("INSERT INTO alerts (key, kind, state) VALUES ('login:support', 'login', "
                   "'raised'), ('outbox', 'outbox', 'ok')")  # fmt: skip

    got = scrape(port)
    received = "avviksgateway_messages_received_total"
    assert value(got, received, mailbox="support") == 3
    assert value(got, received, mailbox="responssenter") == 1
    decided = "avviksgateway_messages_decided_total"
    assert value(got, decided, mailbox="support", decision="relay") == 1
    assert value(got, decided, mailbox="support", decision="triage") == 1
    assert value(got, decided, mailbox="responssenter", decision="relay") == 1
    deliveries = "avviksgateway_deliveries_total"
    assert value(got, deliveries, purpose="relay", result="failed") == 1
    assert value(got, deliveries, purpose="relay", result="sent") == 1
    assert value(got, deliveries, purpose="receipt", result="sent") == 2
    assert [value(got, "avviksgateway_outbox_queue", state=s) for s in metrics.QUEUE_STATES] == [
        0,
        0,
        0,
        1,
    ]
    assert value(got, "avviksgateway_intake_waiting") == 1
    assert value(got, "avviksgateway_search_texts_waiting") == 0  # indexed at each write here
    assert 120 <= value(got, "avviksgateway_intake_oldest_waiting_seconds") < 180
    assert value(got, "avviksgateway_mailbox_connected", mailbox="support") == 1
    assert 30 <= value(got, "avviksgateway_mailbox_last_fetch_age_seconds", mailbox="support") < 90
    assert value(got, "avviksgateway_alert_raised", key="login:support", kind="login") == 1
    assert value(got, "avviksgateway_alert_raised", key="outbox", kind="outbox") == 0
    assert value(got, "process_resident_memory_bytes") > 0

    # The next scrape reads the log again: what happened since is counted, nothing lost.
    assert Pipeline(db, lambda: ruleset, renderer, settings).process_batch() == 1
    again = scrape(port)
    assert value(again, received, mailbox="support") == 3
    assert value(again, decided, mailbox="support", decision="relay") == 2
    assert value(again, "avviksgateway_intake_oldest_waiting_seconds") == 0
    assert value(again, "avviksgateway_outbox_queue", state="queued") == 2


def test_gateway_serves_metrics_when_configured(gateway_process, tmp_path):
    intake, port = free_port(), free_port()
    gateway = gateway_process(
        f'data_dir = "{tmp_path / "var"}"\nsmtp_intake_port = {intake}\nmetrics_port = {port}\n'
    )
    gateway.start()
    assert f"metrics on http://127.0.0.1:{port}/metrics" in gateway.log.read_text()
    with smtplib.SMTP("127.0.0.1", intake) as client:
        client.sendmail("kari.nordmann@vennesla.kommune.example",
                        ["support@trygghet-agder.example"], make_mail())  # fmt: skip
    deadline = time.monotonic() + 15
    sent = (
        "avviksgateway_deliveries_total",
        frozenset({"purpose": "relay", "result": "sent"}.items()),
    )
    while scrape(port).get(sent) != 1:  # the relay, written to the outbox folder
        assert time.monotonic() < deadline, gateway.log.read_text()[-2000:]
        time.sleep(0.1)
    assert gateway.stop() == 0
    with pytest.raises(OSError):  # stopped with the gateway
        scrape(port)
