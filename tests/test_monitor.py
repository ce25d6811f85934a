"""Alerts: one note when trouble lasts, one when it is over, never one per retry.

The state machine runs with an injected clock on an in-memory case log; the outage, the
revoked token and the failing outbox run the real daemon against Dovecot, the token
server and aiosmtpd sinks on loopback.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import logging
import smtplib
import time
import uuid
from collections.abc import Callable

import pytest
from click.testing import CliRunner
from conftest import make_mail
from servers import Dovecot, SmtpSink, free_port

from gateway import alerts
from gateway.cli import cli
from gateway.intake.imap import LOGIN_REFUSED
from gateway.monitor import Monitor, Observation, step
from gateway.render import Renderer
from gateway.settings import ImapMailbox, Settings, SettingsError, Smarthost, load
from gateway.store import insert, open_db, write
from gateway.store.alerts import AlertRow

T0 = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)
ADMIN = "admin@trygghet-agder.example"
RAISED_SUBJECT = "Varsel: postkassen support kan ikke leses"
RECOVERED_SUBJECT = "I orden igjen: postkassen support leses"
LOGIN_SUBJECT = "Varsel: påloggingen til postkassen support blir avvist"
LOGIN_RECOVERED = "I orden igjen: påloggingen til postkassen support virker"


def minutes(n: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=n)


def iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


@pytest.fixture
def monitor(db_path, ruleset, tmp_path):
    settings = Settings(
        data_dir=tmp_path / "var",
        imap=(ImapMailbox("support", "imap.example", "support"),),
        alert_after_minutes=15,
    )
    renderer = Renderer(settings.gateway_address, settings.gateway_name)
    return Monitor(open_db(db_path), settings, lambda: ruleset, renderer, started=minutes(-60))


def set_mailbox(db, connected: bool, error: str = "cannot connect to imap.example: refused"):
    db.execute("INSERT OR IGNORE INTO mailboxes (name) VALUES ('support')")
    db["mailboxes"].update("support", {"connected": int(connected), "last_error": error})


def notes(db) -> list[tuple[str, str]]:
    """(subject, recipients) of every alert queued in the outbox."""
    return [
        (r["subject"], r["to_addrs"])
        for r in db.query("SELECT subject, to_addrs FROM messages WHERE outcome = 'alert'")
    ]


def body(raw: bytes) -> str:
    """The text of a note, decoded (its transfer encoding may break lines anywhere)."""
    return email.message_from_bytes(raw, policy=email.policy.default).get_content()


def test_flapping_within_the_limit_raises_nothing(monitor):
    db = monitor.db
    for minute in range(0, 120):  # down 10 minutes, up 1, again and again, checked twice a minute
        for half in (0, 0.5):
            set_mailbox(db, connected=minute % 11 == 10)
            assert monitor.check(minutes(minute + half)) == []
    assert notes(db) == []
    assert db["alerts"].get("mailbox:support")["raised_at"] is None


def test_a_long_outage_raises_once_and_recovers_once(monitor, db_path):
    db = monitor.db
    set_mailbox(db, connected=False)
    told = []
    for check in range(0, 121):  # an hour of checks every 30 s, intake retrying all along
        told += [(check / 2, *t) for t in monitor.check(minutes(check / 2))]
    assert told == [(15.0, "mailbox:support", "raised")]
    assert notes(db) == [(RAISED_SUBJECT, ADMIN)]

    shown = CliRunner().invoke(cli, ["status", "--database", str(db_path)])
    assert (
        "ALERT mailbox:support" in shown.output and "raised 2026-03-10 10:15 CET" in shown.output
    )  # local

    set_mailbox(db, connected=True)
    told = [t for check in range(10) for t in monitor.check(minutes(61 + check))]
    assert told == [("mailbox:support", "recovered")]
    assert notes(db) == [(RAISED_SUBJECT, ADMIN), (RECOVERED_SUBJECT, ADMIN)]
    raw = db.execute(
        "SELECT r.raw FROM messages m JOIN raw_messages r ON r.id = m.id "
        "WHERE m.outcome = 'alert' ORDER BY m.id"
    ).fetchall()
    assert "siden 10.03.2026 kl. 10:00:00" in body(raw[0][0])  # Oslo time, in Norwegian
    assert "fra 10.03.2026 kl. 10:00:00 til 10.03.2026 kl. 11:01:00" in body(raw[1][0])
    assert b"Auto-Submitted: auto-generated" in raw[0][0]
    shown = CliRunner().invoke(cli, ["status", "--database", str(db_path)])
    assert "alerts: none raised" in shown.output


def test_a_refused_login_is_told_at_once_and_only_as_a_login_alert(monitor):
    db = monitor.db
    set_mailbox(db, connected=False, error=f"{LOGIN_REFUSED} by imap.example: invalid_client")
    told = [t for check in range(120) for t in monitor.check(minutes(check / 2))]
    assert told == [("login:support", "raised")]  # an hour, and no mailbox alert besides
    set_mailbox(db, connected=False)  # then the network as well: not a recovery
    assert monitor.check(minutes(61)) == []
    set_mailbox(db, connected=True)
    assert monitor.check(minutes(62)) == [("login:support", "recovered")]
    assert [s for s, _ in notes(db)] == [LOGIN_SUBJECT, LOGIN_RECOVERED]


def test_a_restart_counts_anew_but_what_was_told_stays_told(monitor, ruleset):
    db = monitor.db
    set_mailbox(db, connected=False)
    monitor.check(minutes(0))
    assert db["alerts"].get("mailbox:support")["state"] == "failing"
    again = Monitor(db, monitor.settings, lambda: ruleset, monitor.renderer, started=minutes(60))
    assert again.check(minutes(60)) == []  # not raised at once for the time before
    assert again.check(minutes(75)) == [("mailbox:support", "raised")]
    third = Monitor(db, monitor.settings, lambda: ruleset, monitor.renderer, started=minutes(80))
    set_mailbox(db, connected=True)
    assert third.check(minutes(80)) == [("mailbox:support", "recovered")]


def test_monitoring_settings_from_toml_and_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ./gateway.toml here, for load(None)
    path = tmp_path / "monitoring.toml"
    path.write_text(
        'alert_after_minutes = 5\nmetrics_port = 9464\n[alert_smarthost]\nhost = "mta.local"\n'
        'port = 25\nsecurity = "none"\nuser = "gw"\npassword_env = "ALERT_PW"\n'
    )
    s = load(path, environ={"ALERT_PW": "s3cret", "AVVIK_METRICS_HOST": "::1"})
    assert (s.alert_after_minutes, s.monitor_interval) == (5, 30.0)
    assert (s.metrics_host, s.metrics_port) == ("::1", 9464)
    assert s.alert_smarthost.password == "s3cret" and "s3cret" not in repr(s)
    assert s.smarthost is None and Settings().metrics_port is None
    env = {"AVVIK_ALERT_SMARTHOST": "127.0.0.1:2526", "AVVIK_ALERT_SMARTHOST_SECURITY": "none"}
    assert load(path, environ={**env, "ALERT_PW": "x"}).alert_smarthost.port == 2526
    path.write_text('[alert_smarthost]\nhost = "mta.local"\npassword = "literal"\n')
    with pytest.raises(SettingsError, match="password_env"):
        load(path, environ={})
    with pytest.raises(SettingsError, match="more than 0"):
        load(None, environ={"AVVIK_ALERT_AFTER_MINUTES": "0"})


def test_state_machine_unknown_keeps_the_state():
    limit = dt.timedelta(minutes=15)
    row = AlertRow("k", state="raised", since=iso(T0), detail="x")
    assert step(row, Observation("k", "mailbox", None), minutes(99), limit).values is None
    assert step(None, Observation("k", "mailbox", False), T0, limit).values is None


def delivery(db, kind: str, at: dt.datetime, error: str = "451 Try again later") -> None:
    """An outbox row and the event the sender writes for one attempt."""
    state = {"delivered": "sent", "delivery-retry": "retry"}[kind]
    with write(db):
        message = insert(db, "messages", {"direction": "out", "state": "queued"})
        insert(db, "outbox", {"message_id": message, "purpose": "relay", "state": state,
                              "last_error": error if state == "retry" else None,
                              "next_attempt_at": iso(at + dt.timedelta(hours=1))})  # fmt: skip
        insert(db, "events", {"at": iso(at), "kind": kind, "message_id": message})


def test_a_failing_outbox_is_told_past_the_outbox(monitor, caplog):
    db = monitor.db
    delivery(db, "delivered", minutes(-5))
    for minute in range(0, 14):
        delivery(db, "delivery-retry", minutes(minute), error=f"451 attempt {minute}")
        assert monitor.check(minutes(minute)) == []
    with caplog.at_level(logging.CRITICAL, logger="gateway.alerts"):
        assert monitor.check(minutes(15)) == [("outbox", "raised")]
        assert monitor.check(minutes(16)) == []
    assert "alert raised: outbox since 2026-03-10T09:00:00+00:00: 451 attempt 13" in caplog.text
    folder = monitor.settings.data_dir / "alerts"
    (raised,) = folder.glob("*.eml")
    assert raised.name == "20260310T091500-outbox-raised.eml"
    assert raised.stat().st_mode & 0o777 == 0o600
    text = raised.read_bytes()
    assert text.startswith(b"X-Envelope-To: " + ADMIN.encode()) and b"\r\nTo: " in text
    assert "14 melding(er) venter" in body(text) and "451 attempt 13" in body(text)
    assert notes(db) == []  # not queued behind the very thing that fails

    delivery(db, "delivered", minutes(20))
    assert monitor.check(minutes(20)) == [("outbox", "recovered")]
    assert monitor.check(minutes(21)) == []
    assert len(list(folder.glob("*-outbox-recovered.eml"))) == 1


def test_direct_alert_takes_one_fresh_connection_to_the_smarthost(ruleset, tmp_path, caplog):
    renderer = Renderer("avviksgateway@trygghet-agder.example", "Avviksgatewayen")
    alert = alerts.Alert("outbox", "outbox", None, T0, minutes(15), "451 Try again later", 3)
    with SmtpSink() as sink:
        settings = Settings(data_dir=tmp_path, smarthost=Smarthost("127.0.0.1", sink.port,
                                                                   security="none"))  # fmt: skip
        alerts.send_direct(alert, alerts.alert_mail(alert, ruleset, renderer, settings), settings)
        (got,) = sink.wait_for(1)
    assert got.rcpt_tos == [ADMIN]
    assert got.message["Subject"] == "Varsel: avviksgatewayen får ikke levert e-post"
    dead = Settings(data_dir=tmp_path / "b", smarthost=Smarthost("127.0.0.1", free_port(),
                                                                 security="none"))  # fmt: skip
    path = alerts.send_direct(alert, alerts.alert_mail(alert, ruleset, renderer, dead), dead)
    assert path.exists() and "not sent via 127.0.0.1" in caplog.text  # kept, nothing raised


# --- the real daemon -----------------------------------------------------------------------


def daemon_toml(
    tmp_path, smarthost: int, intake: int | None = None, extra: str = "", limit: float = 0.05
) -> str:
    return f"""
data_dir = "{tmp_path / "var"}"
smtp_intake_port = {intake or free_port()}
retry_base_seconds = 0.2
retry_max_seconds = 0.5
alert_after_minutes = {limit}
monitor_interval = 0.2
{extra}
[smarthost]
host = "127.0.0.1"
port = {smarthost}
security = "none"
timeout = 5
"""


def imap_toml(server: Dovecot, auth: str) -> str:
    return f"""
[[imap]]
mailbox = "support"
host = "127.0.0.1"
port = {server.port}
user = "support"
security = "none"
{auth}
"""


def wait_until(condition: Callable[[], object], gateway, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, gateway.log.read_text()[-3000:]
        time.sleep(0.05)


def subjects(sink: SmtpSink) -> list[str]:
    return [m.message["Subject"] for m in sink.messages if m.rcpt_tos == [ADMIN]]


def log_count(gateway, text: str) -> int:
    return gateway.log.read_text(errors="replace").count(text)


def test_dovecot_outage_one_alert_and_one_recovery(
    dovecot, smtp_sink, gateway_process, monkeypatch, tmp_path
):
    monkeypatch.setenv("TEST_IMAP_PASSWORD", dovecot.users["support"])
    settings = daemon_toml(tmp_path, smtp_sink.port) + imap_toml(
        dovecot, 'password_env = "TEST_IMAP_PASSWORD"'
    )
    gateway = gateway_process(settings)
    gateway.start()
    wait_until(lambda: log_count(gateway, "support: connected"), gateway)
    dovecot.stop()
    wait_until(lambda: RAISED_SUBJECT in subjects(smtp_sink), gateway)
    # The intake goes on retrying; the monitor (every 0.2 s) stays quiet meanwhile.
    wait_until(lambda: log_count(gateway, "imap: support: cannot connect to") >= 3, gateway)
    dovecot.start()
    wait_until(lambda: RECOVERED_SUBJECT in subjects(smtp_sink), gateway)
    assert gateway.stop() == 0
    assert subjects(smtp_sink) == [RAISED_SUBJECT, RECOVERED_SUBJECT]
    assert notes(gateway.db()) == [(RAISED_SUBJECT, ADMIN), (RECOVERED_SUBJECT, ADMIN)]


@pytest.fixture
def oauth_imap(tmp_path):
    from conftest import dovecot_available
    from oauth_server import OAuthServer

    if not dovecot_available():
        pytest.skip("dovecot is not installed")
    with OAuthServer(tmp_path / "oauth") as oauth:
        try:
            server = Dovecot(tmp_path / "dovecot", {"support": "secret"},
                             oauth2_introspection_url=oauth.introspection_url)  # fmt: skip
        except NotImplementedError as exc:
            pytest.skip(str(exc))
        with server:
            yield oauth, server


def test_revoked_token_one_alert_and_intake_resumes_with_a_new_secret(
    oauth_imap, smtp_sink, gateway_process, tmp_path
):
    oauth, imap = oauth_imap
    tenant, client = f"tenant-{uuid.uuid4().hex[:8]}", f"client-{uuid.uuid4().hex[:8]}"
    oauth.add_microsoft_app(tenant, client, "support", secret="first-s3cret-value")
    secret = tmp_path / "entra.secret"
    secret.write_text("first-s3cret-value\n")
    auth = f"""auth = "oauth2-microsoft"
tenant_id = "{tenant}"
client_id = "{client}"
client_secret_file = "{secret}"
authority_url = "{oauth.authority_url}"
ca_file = "{oauth.ca_file}"
"""
    settings = daemon_toml(tmp_path, smtp_sink.port, limit=0.1) + imap_toml(imap, auth)
    gateway = gateway_process(settings)
    gateway.start()
    wait_until(lambda: log_count(gateway, "support: connected"), gateway)

    oauth.set_secret("second-s3cret-value", client)  # the old secret expired ...
    oauth.revoke_all()  # ... and the tokens with it
    imap.stop()  # a reconnect (servers drop IMAP sessions now and then)
    imap.start()
    wait_until(lambda: LOGIN_SUBJECT in subjects(smtp_sink), gateway)
    wait_until(lambda: log_count(gateway, f"imap: support: {LOGIN_REFUSED} by") >= 2, gateway)

    # The administrator writes the new secret to its file; no restart: the gateway reads
    # its settings again after a refused login and logs in with it.
    secret.write_text("second-s3cret-value\n")
    wait_until(lambda: LOGIN_RECOVERED in subjects(smtp_sink), gateway)
    assert log_count(gateway, "support: new credentials in the settings") == 1
    imap.append("support", make_mail(subject="Etter ny hemmelighet"))
    wait_until(lambda: len(smtp_sink.messages) >= 4, gateway)  # relay and receipt as well
    assert gateway.stop() == 0
    assert subjects(smtp_sink) == [LOGIN_SUBJECT, LOGIN_RECOVERED]
    assert len(notes(gateway.db())) == 2
    assert "s3cret" not in gateway.log.read_text()


def test_failing_outbox_one_alert_past_it_and_one_recovery(smtp_sink, gateway_process, tmp_path):
    smtp_sink.fail_next(451, "Try again later", count=10_000)  # the smarthost in trouble
    with SmtpSink() as alert_sink:
        extra = (
            f'[alert_smarthost]\nhost = "127.0.0.1"\nport = {alert_sink.port}\nsecurity = "none"'
        )
        port = free_port()
        gateway = gateway_process(daemon_toml(tmp_path, smtp_sink.port, port, extra))
        gateway.start()
        with smtplib.SMTP("127.0.0.1", port) as client:
            client.sendmail("kari.nordmann@vennesla.kommune.example",
                            ["support@trygghet-agder.example"], make_mail())  # fmt: skip
        alert_sink.wait_for(1, timeout=20)
        wait_until(lambda: len(smtp_sink.rejected) >= 20, gateway)  # retried all along
        assert len(alert_sink.messages) == 1
        smtp_sink.clear()  # the smarthost takes mail again
        alert_sink.wait_for(2, timeout=20)
        smtp_sink.wait_for(2)  # the relay and the receipt
        assert gateway.stop() == 0
    assert [m.message["Subject"] for m in alert_sink.messages] == [
        "Varsel: avviksgatewayen får ikke levert e-post",
        "I orden igjen: avviksgatewayen leverer e-post",
    ]
    files = sorted(p.name.split("-", 1)[1] for p in (tmp_path / "var" / "alerts").glob("*.eml"))
    assert files == ["outbox-raised.eml", "outbox-recovered.eml"]
    log = gateway.log.read_text()
    assert log.count("CRITICAL gateway.alerts: alert raised: outbox") == 1
    assert log.count("CRITICAL gateway.alerts: alert recovered: outbox") == 1
    assert all(m.rcpt_tos != [ADMIN] for m in smtp_sink.messages)  # not via the outbox
