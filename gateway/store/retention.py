"""What retention purges: closed cases past their time, and their messages' texts."""

from __future__ import annotations

from gateway.store import drop_raw, now
from gateway.store.db import Database


def closed_before(db: Database, cutoff: str) -> list[int]:
    """Ids of the cases closed before ``cutoff`` and not purged yet."""
    rows = db.execute(
        "SELECT id FROM cases WHERE status = 'lukket' AND closed_at < ? AND purged_at IS NULL",
        [cutoff],
    )
    return [r[0] for r in rows]


def _scope(cases: list[int], cutoff: str) -> tuple[str, list]:
    """The messages of these cases, and those of no case decided before ``cutoff``."""
    marks = ",".join("?" * len(cases))
    where = (
        f"(case_id IN ({marks}) OR (case_id IS NULL AND received_at < ? "
        f"AND state NOT IN ('received')))"
    )
    return where, [*cases, cutoff]


def purgeable(db: Database, cases: list[int], cutoff: str) -> tuple[int, int]:
    """(messages with text or bytes still kept, their raw bytes in all) in the scope."""
    where, params = _scope(cases, cutoff)
    messages, size = db.execute(
        "SELECT COUNT(*), COALESCE(SUM(LENGTH(r.raw)), 0) FROM messages "
        f"LEFT JOIN raw_messages r ON r.id = messages.id WHERE {where} "
        "AND (r.raw IS NOT NULL OR subject IS NOT NULL OR new_text IS NOT NULL)",
        params,
    ).fetchone()
    return messages, size


def purge_texts(db: Database, cases: list[int], cutoff: str) -> None:
    """Remove the texts and raw bytes in the scope, and mark the cases purged; in the
    caller's transaction."""
    where, params = _scope(cases, cutoff)
    db.execute(f"UPDATE messages SET subject = NULL, new_text = NULL WHERE {where}", params)
    drop_raw(db, where, params)
    for case_id in cases:
        db["cases"].update(case_id, {"subject": None, "measure": None, "purged_at": now()})
