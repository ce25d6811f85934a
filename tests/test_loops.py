"""A mail loop through the real daemon: auto-responders that answer every message stop."""

from __future__ import annotations

import smtplib
import threading
import time

from conftest import make_mail
from servers import free_port
from test_end_to_end import settings_toml

LIMIT = 3  # loop_limit_per_hour for this test, to keep it short


def test_auto_responders_on_both_sides_stop_at_the_loop_brake(smtp_sink, gateway_process, tmp_path):
    port = free_port()
    settings = settings_toml(tmp_path / "var", port, smtp_sink.port)
    limit = f"loop_limit_per_hour = {LIMIT}\n"
    gateway = gateway_process(settings.replace("retry_base_seconds", limit + "retry_base_seconds"))
    gateway.start()
    stop, answered = threading.Event(), [0]

    def responders():
        """Both parties answer every message they get, with no automatic-mail headers."""
        seen = 0
        while not stop.is_set() and answered[0] < 100:  # bounded, whatever happens
            messages = list(smtp_sink.messages)
            for got in messages[seen:]:
                to = got.rcpt_tos[0]
                if to.endswith("@leverandor.example") or to.startswith("kari."):
                    reply = make_mail(
                        frm=to,
                        subject=f"SV: {got.message['Subject']}",
                        body="Jeg er på kurs og svarer så snart jeg kan.",
                        headers={"In-Reply-To": got.message["Message-ID"]},
                    )
                    with smtplib.SMTP("127.0.0.1", port) as client:
                        client.sendmail(to, ["support@trygghet-agder.example"], reply)
                    answered[0] += 1
            seen = len(messages)
            time.sleep(0.05)

    thread = threading.Thread(target=responders, daemon=True)
    thread.start()
    with smtplib.SMTP("127.0.0.1", port) as client:
        client.sendmail(
            "kari.nordmann@vennesla.kommune.example",
            ["support@trygghet-agder.example"],
            make_mail(subject="Alarm"),
        )
    # Wait until the exchange has been quiet for two seconds.
    last, quiet_since = -1, time.monotonic()
    while time.monotonic() - quiet_since < 2:
        assert time.monotonic() - quiet_since < 60
        if len(smtp_sink.messages) != last:
            last, quiet_since = len(smtp_sink.messages), time.monotonic()
        time.sleep(0.1)
    stop.set()
    thread.join(5)
    assert gateway.stop() == 0

    db = gateway.db()
    threads = db["messages"].count_where("outcome = 'thread'")
    held = db["messages"].count_where("outcome = 'hold'")
    assert threads <= 2 * LIMIT  # each responder got LIMIT replies through into the case
    assert held >= 1 and answered[0] < 100  # the rest were held: the loop stopped
    assert db["cases"].count == 1
