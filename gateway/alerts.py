"""Messages to the administrators about the gateway itself (not about a case).

A failed delivery and a mailbox or login alert go through the outbox like any mail. An
alert that the outbox itself is failing cannot: ``send_direct`` takes another way.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from gateway.i18n import phrases
from gateway.models import Outgoing
from gateway.outbox.queue import enqueue
from gateway.outbox.transport import PermanentError, SmtpTransport, TemporaryError
from gateway.render import Renderer
from gateway.rules.base import RuleSet
from gateway.settings import Settings
from gateway.store.alerts import case_title
from gateway.store.db import Database
from gateway.store.outbox import OutboxItem

log = logging.getLogger("gateway.alerts")


def delivery_failed(
    db: Database, item: OutboxItem, error: str, ruleset: RuleSet, renderer: Renderer
) -> None:
    """Tell the administrators once that an outbox row failed for good."""
    case = case_title(db, item.case_id) if item.case_id else None
    admins = list(ruleset.directory[ruleset.triage_party].receivers)
    alert = renderer.message(
        "delivery_failed.txt.j2",
        {
            "reference": case[0] if case else None,
            "subject": case[1] if case else item.purpose,
            "purpose": item.purpose,
            "recipients": list(item.recipients),
            "attempts": item.attempts,
            "error": error,
            "outbox_id": item.id,
        },
        purpose="alert",
        to=admins,
        case_id=item.case_id,
    )
    enqueue(db, alert)


@dataclass(frozen=True)
class Alert:
    """One alert about the gateway itself, raised or recovered (see gateway/monitor.py)."""

    key: str  # mailbox:support, login:support, outbox
    kind: str  # mailbox, login or outbox
    name: str | None  # the mailbox, for mailbox and login alerts
    since: dt.datetime  # when the trouble began
    at: dt.datetime  # when it was raised, or recovered
    detail: str  # the last error, as the gateway saw it
    waiting: int = 0  # deliveries waiting in the outbox (outbox alerts)
    recovered: bool = False


def alert_mail(alert: Alert, ruleset: RuleSet, renderer: Renderer, settings: Settings) -> Outgoing:
    """The administrators' note for ``alert``, in the deployment's language, times in the
    local zone."""
    zone = ZoneInfo(settings.timezone)
    say = phrases(ruleset.language)
    return renderer.message(
        "alert_recovered.txt.j2" if alert.recovered else "alert.txt.j2",
        {
            "kind": alert.kind,
            "name": alert.name,
            "since": say("alerts.moment", at=alert.since.astimezone(zone)),
            "at": say("alerts.moment", at=alert.at.astimezone(zone)),
            "detail": alert.detail,
            "waiting": alert.waiting,
            "minutes": settings.alert_after_minutes,  # the template writes the number
        },
        purpose="alert",
        to=list(ruleset.directory[ruleset.triage_party].receivers),
    )


def send_direct(alert: Alert, out: Outgoing, settings: Settings) -> Path:
    """Tell the administrators without the outbox, which is what is broken.

    Three ways, so that nothing is lost: the journal at CRITICAL, an .eml file in
    ``data_dir/alerts/``, and one attempt over a fresh SMTP connection to the
    ``alert_smarthost`` (else the smarthost: a refused connection may be one that the
    outbox's batch could not get). No retry: the next note is the recovery.
    """
    what = "recovered" if alert.recovered else "raised"
    log.critical(
        "alert %s: %s since %s: %s (%d waiting in the outbox)",
        what,
        alert.key,
        alert.since.isoformat(timespec="seconds"),
        alert.detail,
        alert.waiting,
    )
    path = _write_eml(settings.data_dir / "alerts", alert, what, out)
    host = settings.alert_smarthost or settings.smarthost
    if host is None:
        return path
    transport = SmtpTransport(host)
    try:
        transport.send(out.mail_from, list(out.recipients), out.raw)
        log.info("alert %s sent to %s via %s:%s", alert.key, ", ".join(out.recipients),
                 host.host, host.port)  # fmt: skip
    except (TemporaryError, PermanentError) as exc:
        log.error("alert %s not sent via %s:%s (%s); it is in %s", alert.key, host.host,
                  host.port, exc, path)  # fmt: skip
    finally:
        transport.close()
    return path


def _write_eml(folder: Path, alert: Alert, what: str, out: Outgoing) -> Path:
    """The note as a file only the gateway's user can read; written whole or not at all."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    stamp = alert.at.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S")
    path = folder / f"{stamp}-{alert.key.replace(':', '-')}-{what}.eml"
    tmp = path.with_suffix(".tmp")
    envelope = f"X-Envelope-To: {', '.join(out.recipients)}\r\n".encode()
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as fh:
        fh.write(envelope + out.raw)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path
