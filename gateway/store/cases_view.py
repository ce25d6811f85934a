"""Read-only views of the case log for people: the rows behind ``gateway cases``,
``gateway quarantine list/show`` and ``gateway status``, as frozen dataclasses.

Nothing here writes; the commands that change a row go through their own modules
(``gateway.quarantine``, ``gateway.caselog``) and ``store.write()``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from gateway.store.db import Database
from gateway.store.states import Direction, MessageState, OutboxState

WAITING_OUTCOMES = ("triage", "hold")  # decided to wait for an administrator
FAILURE_EVENTS = ("delivery-failed", "quarantined", "bounce", "held")
OPEN_ALERTS = ("raised", "failing")  # raised: administrators told; failing: not yet
OUTBOX_ORDER = (
    OutboxState.QUEUED,
    OutboxState.SENDING,
    OutboxState.RETRY,
    OutboxState.FAILED,
    OutboxState.SENT,
)


def _columns(cls: type) -> str:
    return ", ".join(f.name for f in fields(cls) if f.init and f.name not in cls.NOT_COLUMNS)


@dataclass(frozen=True)
class CaseLine:
    """One case in ``gateway cases list``."""

    NOT_COLUMNS = ()
    reference: str
    flow: str | None
    kind: str | None
    status: str
    urgent: int | None
    municipality: str | None
    receiving_party: str | None
    received_at: str
    close_due: str | None


@dataclass(frozen=True)
class CaseMessage:
    """A message of a case, without its raw bytes."""

    NOT_COLUMNS = ()
    id: int
    direction: str
    outcome: str | None
    received_at: str
    from_addr: str | None
    to_addrs: str | None
    subject: str | None
    new_text: str | None
    state: str | None


@dataclass(frozen=True)
class CaseEvent:
    NOT_COLUMNS = ()
    at: str
    kind: str
    detail: str | None


@dataclass(frozen=True)
class CaseDetail:
    """A case as ``gateway cases show`` prints it: its fields, messages and events."""

    NOT_COLUMNS = ("messages", "events")
    id: int
    reference: str
    flow: str | None
    kind: str | None
    status: str | None
    severity: str | None
    urgent: int | None
    reporting_party: str | None
    receiving_party: str | None
    municipality: str | None
    subject: str | None
    received_at: str | None
    measures_due: str | None
    close_due: str | None
    external_ref: str | None
    measure: str | None
    related_reference: str | None
    messages: tuple[CaseMessage, ...] = ()
    events: tuple[CaseEvent, ...] = ()


def list_cases(db: Database, status: str | None = None, limit: int = 50) -> list[CaseLine]:
    """The newest cases first, all or those with ``status``."""
    where, params = ("WHERE status = ?", [status]) if status else ("", [])
    sql = f"SELECT {_columns(CaseLine)} FROM cases {where} ORDER BY id DESC LIMIT ?"
    return [CaseLine(**r) for r in db.query(sql, [*params, limit])]


def get_case(db: Database, reference: str) -> CaseDetail | None:
    """The case with ``reference`` (any case), its messages and events oldest first."""
    sql = f"SELECT {_columns(CaseDetail)} FROM cases WHERE reference = ?"
    rows = list(db.query(sql, [reference.upper()]))
    if not rows:
        return None
    case_id = rows[0]["id"]
    messages = db.query(
        f"SELECT {_columns(CaseMessage)} FROM messages WHERE case_id = ? ORDER BY id", [case_id]
    )
    events = db.query(
        f"SELECT {_columns(CaseEvent)} FROM events WHERE case_id = ? ORDER BY id", [case_id]
    )
    return CaseDetail(
        **rows[0],
        messages=tuple(CaseMessage(**m) for m in messages),
        events=tuple(CaseEvent(**e) for e in events),
    )


@dataclass(frozen=True)
class QuarantinedMessage:
    """A message parked for a human, with the reason (its raw bytes: ``store.get_raw``)."""

    NOT_COLUMNS = ()
    id: int
    received_at: str
    mailbox: str | None
    source: str | None
    from_addr: str | None
    subject: str | None
    size: int | None
    reason: str | None


def list_quarantined(db: Database) -> list[QuarantinedMessage]:
    sql = f"SELECT {_columns(QuarantinedMessage)} FROM messages WHERE state = ? ORDER BY id"
    return [QuarantinedMessage(**r) for r in db.query(sql, [MessageState.QUARANTINED])]


def get_quarantined(db: Database, row_id: int) -> QuarantinedMessage | None:
    sql = f"SELECT {_columns(QuarantinedMessage)} FROM messages WHERE id = ? AND state = ?"
    rows = list(db.query(sql, [row_id, MessageState.QUARANTINED]))
    return QuarantinedMessage(**rows[0]) if rows else None


@dataclass(frozen=True)
class MailboxHealth:
    NOT_COLUMNS = ()
    name: str
    connected: int | None
    last_fetch_at: str | None
    last_error: str | None
    last_error_at: str | None
    last_uid: int | None


@dataclass(frozen=True)
class Failure:
    NOT_COLUMNS = ()
    at: str
    kind: str
    detail: str | None


@dataclass(frozen=True)
class OpenAlert:
    NOT_COLUMNS = ()
    key: str
    kind: str | None
    state: str
    since: str | None
    raised_at: str | None
    detail: str | None


@dataclass(frozen=True)
class Status:
    """The gateway's state as the running daemon records it in the case log."""

    mailboxes: tuple[MailboxHealth, ...]
    waiting: int  # stored, not decided yet
    triage: int  # triaged or held for an administrator
    quarantined: int
    outbox: dict[str, int]  # every OutboxState, in order, with its count
    last_failures: tuple[Failure, ...]  # the newest five
    alerts: tuple[OpenAlert, ...]  # raised first, then failing


def _count(db: Database, sql: str, params: list) -> int:
    return db.execute(sql, params).fetchone()[0]


def _outbox(db: Database) -> dict[str, int]:
    counts = dict(db.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state").fetchall())
    return {str(state): counts.get(state, 0) for state in OUTBOX_ORDER}


def _rows(db: Database, cls: type, sql: str, params: list | tuple = ()) -> tuple:
    return tuple(cls(**r) for r in db.query(sql.format(columns=_columns(cls)), params))


def status(db: Database) -> Status:
    """What ``gateway status`` shows: mailboxes, what waits, the outbox, failures, alerts."""
    marks = ",".join("?" * len(FAILURE_EVENTS))
    in_ = "SELECT COUNT(*) FROM messages WHERE direction = ? AND "
    return Status(
        mailboxes=_rows(db, MailboxHealth, "SELECT {columns} FROM mailboxes ORDER BY name"),
        waiting=_count(db, in_ + "state = ?", [Direction.IN, MessageState.RECEIVED]),
        triage=_count(db, in_ + "outcome IN (?, ?)", [Direction.IN, *WAITING_OUTCOMES]),
        quarantined=_count(
            db, "SELECT COUNT(*) FROM messages WHERE state = ?", [MessageState.QUARANTINED]
        ),
        outbox=_outbox(db),
        last_failures=_rows(
            db,
            Failure,
            f"SELECT {{columns}} FROM events WHERE kind IN ({marks}) ORDER BY id DESC LIMIT 5",
            FAILURE_EVENTS,
        ),
        alerts=_rows(
            db,
            OpenAlert,
            "SELECT {columns} FROM alerts WHERE state IN (?, ?) ORDER BY state DESC, key",
            OPEN_ALERTS,
        ),
    )
