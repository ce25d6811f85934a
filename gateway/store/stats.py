"""The read-only query behind ``gateway stats`` and the monthly report: the cases that
may touch a period, with only the columns that cannot identify anyone."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import NamedTuple

from gateway.store.db import Database


class CaseFigures(NamedTuple):
    """What a figure may read of a case: no subject, text, address or reference.
    A named tuple, as immutable as a frozen dataclass and made five times as fast
    (ten years of a large log are a million of them)."""

    flow: str | None
    kind: str | None
    status: str | None
    urgent: int | None
    receiving_party: str | None
    municipality: str | None
    received_at: str
    first_answer_at: str | None
    closed_at: str | None
    close_due: str | None
    severity: str | None = None
    category: str | None = None
    cause_given: int = 0  # whether a cause is recorded: the cause itself is never read
    # the case's id, and its durations as stored under the calendar asked (case_hours):
    # known is 1 when they are stored (an answer or closing it lacks is NULL then)
    id: int | None = None
    known: int | None = None
    answer_working: float | None = None
    answer_calendar: float | None = None
    close_working: float | None = None
    close_calendar: float | None = None


_FIGURE_FIELDS = CaseFigures._fields[: CaseFigures._fields.index("id")]
_HOURS = ("answer_working", "answer_calendar", "close_working", "close_calendar")


# cause_given is worked out in SQL, so the text of a cause never leaves the database
_EXPRESSIONS = {"cause_given": "(cause IS NOT NULL AND cause != '') AS cause_given"}
_NO_CAUSE = {"cause_given": "0 AS cause_given"}


# what every figure reads; the other columns only when a dimension groups by them
_ALWAYS = frozenset({"kind", "received_at", "first_answer_at", "closed_at", "close_due"})


def _source(
    db: Database, names: list[str], cause: bool, wanted: frozenset[str] | None = None
) -> tuple[str, str]:
    """(table, its expressions of ``names``): the narrow copy kept by triggers
    (schema.m017_i22_case_figures), or the cases themselves for whether a cause is given
    (``cause``), which the copy leaves out, and in a log without the copy (a log of an
    older version, opened read-only by ``stats --across``). A column that is neither
    always read nor ``wanted`` reads as NULL (None is no object to make, and the fewer
    values, the fewer combinations of them)."""
    found = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'case_figures'"
    ).fetchone()
    table, expressions = "cases", _EXPRESSIONS
    if found and not cause:
        table, expressions = "case_figures", _NO_CAUSE
    unread = {"cause_given": "0 AS cause_given"}

    def expression(name: str) -> str:
        if wanted is not None and name not in _ALWAYS | wanted and name in CaseFigures._fields:
            return unread.get(name, f"NULL AS {name}")
        return expressions.get(name, name)

    return table, ", ".join(map(expression, names))


def _whole_log(db: Database, table: str, lo: str) -> bool:
    """Whether every case arrived at ``lo`` or after (ten years of a log of ten years):
    then none is open throughout, and scanning the table is quicker than the indexes."""
    oldest = db.execute(f"SELECT MIN(received_at) FROM {table}").fetchone()[0]
    return oldest is not None and lo <= oldest


_THROUGHOUT = (
    "received_at < ? AND (closed_at IS NULL OR closed_at >= ?) "
    "AND (first_answer_at IS NULL OR first_answer_at < ? OR first_answer_at >= ?)"
)


def cases_touching(
    db: Database,
    received_before: str,
    open_at: str,
    throughout: tuple[str, str] | None = None,
    cause: bool = True,
    wanted: frozenset[str] | None = None,
    calendar: str | None = None,
) -> list[CaseFigures]:
    """Cases received before ``received_before`` and not closed before ``open_at``
    (ISO 8601 UTC texts, compared as text: the caller widens the bounds and checks),
    except, with ``throughout`` (lo, hi), those ``open_throughout`` counts. Without
    ``cause``, ``cause_given`` is 0: whether a cause is given is not asked. With
    ``wanted``, the columns besides times and kind that are read (see ``_source``).
    With ``calendar``, each case's id and durations stored under it (``store_hours``)."""
    table, names = _source(db, list(_FIGURE_FIELDS), cause, wanted)
    names, joined, first = _with_hours(db, table, names, calendar)
    open_then = "(closed_at IS NULL OR closed_at >= ?)"
    params = [*first, received_before, open_at]
    if throughout and _whole_log(db, table, throughout[0]):  # none is open throughout
        sql = f"SELECT {names} FROM {joined} WHERE +received_at < ? AND {open_then}"
        return list(map(CaseFigures._make, db.execute(sql, params)))
    if throughout and table == "case_figures":  # the same cases, each part from an index
        open_then = (
            "(closed_at >= ? OR (closed_at IS NULL AND received_at >= ?) "
            "OR (closed_at IS NULL AND first_answer_at >= ? AND first_answer_at < ?))"
        )
        params += [throughout[0], throughout[0], throughout[1]]
    sql = f"SELECT {names} FROM {joined} WHERE received_at < ? AND {open_then}"
    if throughout:
        sql += f" AND NOT ({_THROUGHOUT})"
        params += [throughout[0], throughout[1], throughout[0], throughout[1]]
    return list(map(CaseFigures._make, db.execute(sql, params)))


def open_throughout(
    db: Database, lo: str, hi: str, cause: bool = True, wanted: frozenset[str] | None = None
) -> list[tuple[CaseFigures, int]]:
    """The cases received before ``lo``, neither answered nor closed in [lo, hi), and not
    closed before ``hi``, counted by all they have but their times: open at the end of
    every period inside, and adding nothing else to it (a year's figures of a large log
    meet a backlog of cases that stay open for years, the same for each month)."""
    times = {"received_at": "'' AS received_at", "first_answer_at": "NULL AS first_answer_at",
             "closed_at": "NULL AS closed_at"}  # fmt: skip  # not read, so not kept
    table, names = _source(db, [times.get(f, f) for f in _FIGURE_FIELDS], cause, wanted)
    groups = ", ".join(str(i + 1) for i, f in enumerate(_FIGURE_FIELDS) if f not in times)
    names += ", NULL" * (len(CaseFigures._fields) - len(_FIGURE_FIELDS))  # no id, no hours
    where, params = _THROUGHOUT, [lo, hi, lo, hi]
    if table == "case_figures":  # the same, from the index of closing (+: not of arrival)
        where = (
            "((closed_at IS NULL AND +received_at < ?) OR (closed_at >= ? AND +received_at < ?)) "
            "AND (first_answer_at IS NULL OR first_answer_at < ? OR first_answer_at >= ?)"
        )
        params = [lo, hi, lo, lo, hi]
    sql = f"SELECT {names}, COUNT(*) FROM {table} WHERE {where} GROUP BY {groups}"
    return [(CaseFigures._make(r[:-1]), r[-1]) for r in db.execute(sql, params)]


def _with_hours(db: Database, table: str, names: str, calendar: str | None) -> tuple:
    """(the columns, the table, its parameters) with each case's id and its durations stored under
    ``calendar`` joined: NULL without a calendar, and in a log without ``case_hours``."""
    found = (
        calendar is not None
        and db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'case_hours'"
        ).fetchone()
    )
    if not found:
        return names + ", NULL" * (len(CaseFigures._fields) - len(_FIGURE_FIELDS)), table, []
    hours = ", ".join(f"h.{name}" for name in _HOURS)
    joined = f"{table} LEFT JOIN case_hours h ON h.id = {table}.id AND h.calendar = ?"
    return f"{names}, {table}.id, h.id IS NOT NULL, {hours}", joined, [calendar]


def store_hours(db: Database, calendar: str, rows: list[tuple], batch: int = 2_000) -> int:
    """Keep the durations of cases (id, answer working, answer calendar, close working,
    close calendar hours) under ``calendar``, in short transactions of ``batch`` rows
    each (a few ms), so that intake never waits long for them. Only a cache: nothing is kept in a
    log opened read-only, inside a transaction the caller holds, or while another
    writer holds the log (they are worked out again next time). How many were kept."""
    from gateway.store import write  # the store's package imports this module's siblings

    if db.conn.in_transaction or not rows:
        return 0
    # by id, so that each transaction writes neighbouring pages: 2,000 rows of random ids
    # of a million took 70 ms, of ids in order 4 ms
    rows = sorted(rows)
    kept = 0
    try:
        for at in range(0, len(rows), batch):
            part = rows[at : at + batch]
            with write(db):
                db.conn.executemany(
                    "REPLACE INTO case_hours (id, calendar, answer_working, answer_calendar, "
                    "close_working, close_calendar) VALUES (?, ?, ?, ?, ?, ?)",
                    [(r[0], calendar, *r[1:]) for r in part],
                )
            kept += len(part)
    except sqlite3.OperationalError:  # read-only, no such table, or locked: next time
        return kept
    return kept


def open_figures_only(path: Path | str) -> Database:
    """Another deployment's case log, opened read-only (no migration, no write, no
    journal): ``gateway stats --across`` reads through ``cases_touching`` only, so of
    that log it sees the columns of CaseFigures and nothing else."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no case log at {path}")
    return Database(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True))
