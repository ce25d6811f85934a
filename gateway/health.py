"""What ``gateway status`` shows: mailboxes, what waits, the outbox, the last failures,
and the alerts (gateway/monitor.py) not yet recovered."""

from __future__ import annotations

from dataclasses import asdict

from gateway.store import health
from gateway.store.alerts import open_alerts
from gateway.store.db import Database
from gateway.store.intake import mailbox_health
from gateway.store.outbox import counts_by_state
from gateway.store.states import OutboxState

FAILURES = ("delivery-failed", "quarantined", "bounce", "held")
ALERT_COLUMNS = ("key", "kind", "state", "since", "raised_at", "detail")


def status(db: Database) -> dict:
    """The gateway's state as recorded in the case log (the running daemon keeps it), as
    plain values: ``gateway status --json`` prints it as it is."""
    outbox = counts_by_state(db)
    return {
        "mailboxes": [asdict(box) for box in mailbox_health(db)],
        "waiting": health.waiting_count(db),
        "triage": health.triage_count(db),
        "quarantined": health.quarantined_count(db),
        "outbox": {state.value: outbox.get(state, 0) for state in _SHOWN},
        "last_failures": [asdict(line) for line in health.last_events(db, FAILURES)],
        # raised: the administrators were told; failing: seen, not yet for long enough
        "alerts": [
            {column: getattr(alert, column) for column in ALERT_COLUMNS}
            for alert in open_alerts(db)
        ],
    }


_SHOWN = (
    OutboxState.QUEUED,
    OutboxState.SENDING,
    OutboxState.RETRY,
    OutboxState.FAILED,
    OutboxState.SENT,
)
