"""The ``alerts`` table: one row per condition about the gateway itself."""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import StrEnum

from gateway.store import update_where, write
from gateway.store.db import Database


class AlertState(StrEnum):
    """``ok`` -> ``failing`` (seen, not yet told) -> ``raised`` (told) -> ``ok``."""

    OK = "ok"
    FAILING = "failing"
    RAISED = "raised"


@dataclass(frozen=True)
class AlertRow:
    """One alert's row as stored."""

    key: str
    kind: str | None = None
    state: str | None = None
    since: str | None = None
    raised_at: str | None = None
    recovered_at: str | None = None
    detail: str | None = None
    updated_at: str | None = None


_COLUMNS = ", ".join(f.name for f in fields(AlertRow))


def get_alert(db: Database, key: str) -> AlertRow | None:
    row = db.execute(f"SELECT {_COLUMNS} FROM alerts WHERE key = ?", [key]).fetchone()
    return AlertRow(*row) if row else None


def save_alert(db: Database, key: str, values: dict[str, object]) -> None:
    """Create the row if new and set ``values``; in the caller's transaction."""
    db.execute("INSERT OR IGNORE INTO alerts (key) VALUES (?)", [key])
    update_where(db, "alerts", "key", key, values)


def forget_failing(db: Database) -> None:
    """A new run counts anew: alerts seen but not told go back to ``ok``."""
    with write(db):
        db.execute(
            "UPDATE alerts SET state = ? WHERE state = ?",
            [AlertState.OK.value, AlertState.FAILING.value],
        )


def unresolved_keys(db: Database) -> list[str]:
    """Keys of the alerts not ``ok``."""
    rows = db.execute("SELECT key FROM alerts WHERE state != ?", [AlertState.OK.value])
    return [key for (key,) in rows]


def end_quietly(db: Database, keys: list[str], stamp: str) -> None:
    """Set these alerts ``ok`` without telling anyone (their condition is gone)."""
    with write(db):
        for key in keys:
            values = {"state": AlertState.OK.value, "updated_at": stamp}
            update_where(db, "alerts", "key", key, values)


def open_alerts(db: Database) -> list[AlertRow]:
    """Raised alerts, then failing ones, by key (what ``gateway status`` shows)."""
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM alerts "
        "WHERE state IN ('raised', 'failing') ORDER BY state DESC, key"
    ).fetchall()
    return [AlertRow(*row) for row in rows]


def all_alerts(db: Database) -> list[AlertRow]:
    """Every alert row, by key (the metrics)."""
    rows = db.execute(f"SELECT {_COLUMNS} FROM alerts ORDER BY key").fetchall()
    return [AlertRow(*row) for row in rows]


def case_title(db: Database, case_id: int) -> tuple[str, str | None] | None:
    """(reference, subject) of a case, for a note about its mail."""
    row = db.execute("SELECT reference, subject FROM cases WHERE id = ?", [case_id]).fetchone()
    return (row[0], row[1]) if row else None
