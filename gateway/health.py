"""What ``gateway status`` shows: mailboxes, what waits, the outbox, the last failures,
and the alerts (gateway/monitor.py) not yet recovered."""

from __future__ import annotations

from sqlite_utils import Database

FAILURES = ("delivery-failed", "quarantined", "bounce", "held")


def status(db: Database) -> dict:
    """The gateway's state as recorded in the case log (the running daemon keeps it)."""
    outbox = dict(db.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state").fetchall())
    return {
        "mailboxes": list(
            db.query(
                "SELECT name, connected, last_fetch_at, last_error, last_error_at, last_uid "
                "FROM mailboxes ORDER BY name"
            )
        ),
        "waiting": db.execute(
            "SELECT COUNT(*) FROM messages WHERE direction = 'in' AND state = 'received'"
        ).fetchone()[0],
        "triage": db.execute(
            "SELECT COUNT(*) FROM messages WHERE direction = 'in' AND outcome IN ('triage', 'hold')"
        ).fetchone()[0],
        "quarantined": db.execute(
            "SELECT COUNT(*) FROM messages WHERE state = 'quarantined'"
        ).fetchone()[0],
        "outbox": {
            state: outbox.get(state, 0)
            for state in ("queued", "sending", "retry", "failed", "sent")
        },
        "last_failures": list(
            db.query(
                f"SELECT at, kind, detail FROM events WHERE kind IN "
                f"({','.join('?' * len(FAILURES))}) ORDER BY id DESC LIMIT 5",
                FAILURES,
            )
        ),
        # raised: the administrators were told; failing: seen, not yet for long enough
        "alerts": list(
            db.query(
                "SELECT key, kind, state, since, raised_at, detail FROM alerts "
                "WHERE state IN ('raised', 'failing') ORDER BY state DESC, key"
            )
        ),
    }
