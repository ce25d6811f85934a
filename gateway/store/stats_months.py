"""The kept figures of finished months (``stats_months``, schema.m017_i22_stats_months):
read, written, and the cases whose months are never kept (``STATS_APART``)."""

from __future__ import annotations

import sqlite3
from typing import NamedTuple

from gateway.store.db import Database
from gateway.store.schema import STATS_APART


class KeptMonth(NamedTuple):
    """One month's cells as kept: JSON of each cell's key and counts, and the hours of
    every answer and closing of them, packed (array of doubles)."""

    month: str
    cells: str
    hours: bytes


def kept_months(db: Database, calendar: str, months: list[str]) -> dict[str, KeptMonth]:
    """The months of ``months`` kept under ``calendar``; none in a log without the table
    (another deployment's, opened read-only by ``stats --across``)."""
    if not months or not has_months(db):
        return {}
    marks = ", ".join("?" for _ in months)
    rows = db.execute(
        f"SELECT month, cells, hours FROM stats_months WHERE calendar = ? AND month IN ({marks})",
        [calendar, *months],
    )
    return {r[0]: KeptMonth(*r) for r in rows}


def keep_months(db: Database, calendar: str, months: list[tuple[str, str, str, bytes]]) -> int:
    """Keep (month, ends, cells, hours) under ``calendar``, one short transaction each,
    and forget the months of any other calendar (a change of the service hours, or of
    the holidays package, leaves them unread for good). Only a cache: nothing is kept
    in a log opened read-only, inside a transaction the caller holds, or while another
    writer holds the log. How many were kept."""
    from gateway.store import write  # the store's package imports this module's siblings

    if db.conn.in_transaction or not has_months(db):
        return 0
    kept = 0
    try:
        for month, ends, cells, hours in months:
            with write(db):
                if not kept:  # only one calendar's months are kept
                    db.execute("DELETE FROM stats_months WHERE calendar != ?", [calendar])
                db.execute(
                    "REPLACE INTO stats_months (calendar, month, ends, cells, hours) "
                    "VALUES (?, ?, ?, ?, ?)",
                    [calendar, month, ends, cells, hours],
                )
            kept += 1
    except sqlite3.OperationalError:  # read-only or locked: worked out again next time
        return kept
    return kept


def apart_times(db: Database) -> list[tuple[str, str | None, str | None]]:
    """(received, first answer, closed) of each case of ``STATS_APART``: a handful in a
    log, read through the partial index that holds just them."""
    if not has_months(db):
        return []
    sql = f"SELECT received_at, first_answer_at, closed_at FROM case_figures WHERE {STATS_APART}"
    return [tuple(r) for r in db.execute(sql)]


def has_months(db: Database) -> bool:
    """Whether the log keeps months (not one of an older version, opened read-only)."""
    found = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'stats_months'"
    ).fetchone()
    return found is not None
