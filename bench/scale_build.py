"""A case log of many years, built fast from cases the gateway itself made.

First the gateway's own pipeline makes a seed (``seed()``): reports relayed as flow a,
most of them answered and closed by the receiver, a few triaged, with their receipts,
events, participants and outbox rows, as ``gateway serve`` writes them. Then
``multiply()`` copies the seed in SQL, each copy moved back in time, until the log holds
the wanted number of cases spread over the years; raw bytes are kept for the last year
only, as retention would have it. The seed is deterministic (bench/reports.py).
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from bench.reports import small_reports
from gateway.intake import accept
from gateway.pipeline import Pipeline
from gateway.render import Renderer
from gateway.rules.base import RuleSet
from gateway.settings import Settings
from gateway.store import indexing, open_db, write
from gateway.store.db import Database

TABLES = ("cases", "messages", "raw_messages", "events", "outbox", "participants")
YEAR = dt.timedelta(days=365.25)


def _drain(pipeline: Pipeline) -> None:
    while pipeline.process_batch(200):
        pass


def seed(db: Database, ruleset: RuleSet, n: int, close_share: float = 0.85) -> None:
    """``n`` reports through the gateway's own pipeline, the receiver's answers to most
    of them (``#lukk``), and every outgoing message marked delivered."""
    renderer = Renderer("avviksgateway@trygghet-agder.example", "Avviksgatewayen")
    pipeline = Pipeline(db, lambda: ruleset, renderer, Settings())
    for raw in small_reports(n, seed=7, tag="scale"):
        accept(db, raw, "support", "bench-scale")
    stranger = b"From: ukjent@gmail.example\r\nTo: support@trygghet-agder.example\r\n"
    for i in range(max(1, n // 20)):  # a few for triage
        accept(db, stranger + b"Subject: Hjelp %d\r\n\r\nAlarmen piper.\r\n" % i, "support", "s")
    _drain(pipeline)
    references = [r[0] for r in db.execute("SELECT reference FROM cases ORDER BY id")]
    for i, reference in enumerate(references[: int(len(references) * close_share)]):
        answer = (
            f"From: tekniker{i % 7}@leverandor.example\r\nTo: support@trygghet-agder.example\r\n"
            f"Subject: SV: [{reference}] Trygghetsalarm\r\n\r\nVi har sett på saken.\r\n"
            f"#lukk Byttet basestasjon og oppdatert programvare\r\n"
        ).encode()
        accept(db, answer, "support", "bench-scale")
    _drain(pipeline)
    with write(db):
        db.execute("UPDATE outbox SET state = 'sent', attempts = 1, sent_at = created_at")
        db.execute("UPDATE messages SET state = 'sent' WHERE direction = 'out'")


def _shift(column: str, seconds: int) -> str:
    """An ISO timestamp column moved back, in the format the gateway stores."""
    return (
        f"CASE WHEN {column} IS NULL THEN NULL ELSE "
        f"strftime('%Y-%m-%dT%H:%M:%f', {column}, '-{seconds} seconds') || '+00:00' END"
    )


def _shift_date(column: str, seconds: int) -> str:
    return f"CASE WHEN {column} IS NULL THEN NULL ELSE date({column}, '-{seconds} seconds') END"


def _columns(db: Database, table: str) -> list[str]:
    return [r[1] for r in db.execute(f"PRAGMA table_info([{table}])")]


_TIMES = {
    "cases": ("received_at", "closed_at", "updated_at", "first_answer_at", "assessed_at",
              "measures_reminded_at", "close_reminded_at", "escalated_at", "review_due_at",
              "review_done_at"),
    "messages": ("received_at",),
    "events": ("at",),
    "outbox": ("next_attempt_at", "deliver_until", "created_at", "sent_at"),
    "participants": ("added_at",),
}  # fmt: skip
_DATES = {"cases": ("measures_due", "close_due", "escalate_due")}


_IDS = {  # (table, column) -> the table whose ids the column holds
    ("cases", "id"): "cases",
    ("cases", "first_message_id"): "messages",
    ("messages", "id"): "messages",
    ("messages", "case_id"): "cases",
    ("raw_messages", "id"): "messages",
    ("events", "id"): "events",
    ("events", "case_id"): "cases",
    ("events", "message_id"): "messages",
    ("outbox", "id"): "outbox",
    ("outbox", "message_id"): "messages",
    ("outbox", "case_id"): "cases",
    ("participants", "case_id"): "cases",
}


def _value(table: str, c: str, k: int, span: dict[str, int], seconds: int) -> str:
    """The SQL for one column of a copy: ids offset, times moved, keys made unique."""
    if (table, c) in _IDS:
        return f"CASE WHEN [{c}] IS NULL THEN NULL ELSE [{c}] + {k * span[_IDS[table, c]]} END"
    if c in _TIMES.get(table, ()):
        return _shift(c, seconds)
    if c in _DATES.get(table, ()):
        return _shift_date(c, seconds)
    if (table, c) == ("cases", "reference"):
        year = f"substr({_shift('received_at', seconds)}, 1, 4)"
        return f"'AVVIK-' || {year} || printf('-%07d', id + {k * span['cases']})"
    if (table, c) == ("messages", "message_id"):
        return f"CASE WHEN message_id IS NULL THEN NULL ELSE '<c{k}.' || substr(message_id, 2) END"
    return f"[{c}]"


def _copy_sql(db: Database, table: str, k: int, span: dict[str, int], seconds: int) -> str:
    """One copy of the seed's rows of ``table``, moved back ``seconds``."""
    cols = _columns(db, table)
    values = ", ".join(_value(table, c, k, span, seconds) for c in cols)
    names = ", ".join(f"[{c}]" for c in cols)
    return f"INSERT INTO [{table}] ({names}) SELECT {values} FROM seed.[{table}]"


def multiply(path: Path, seed_path: Path, cases: int, years: float = 10.0) -> int:
    """Fill ``path`` with copies of the seed until it holds about ``cases`` cases over
    ``years``; returns the cases it holds. Raw bytes only in the copies of the last year."""
    db = open_db(path)
    db.execute(f"ATTACH DATABASE '{seed_path}' AS seed")
    per_copy = db.execute("SELECT COUNT(*) FROM seed.cases").fetchone()[0]
    copies = max(1, round(cases / per_copy))
    span = {
        t: (db.execute(f"SELECT COALESCE(MAX(id), 0) FROM seed.[{t}]").fetchone()[0] or 0) + 1
        for t in ("cases", "messages", "events", "outbox")
    }
    spacing = (years * YEAR).total_seconds() / copies
    started = time.monotonic()
    for k in range(copies):
        seconds = int(k * spacing)
        with write(db):
            for table in TABLES:
                if table == "raw_messages" and seconds > YEAR.total_seconds():
                    continue
                db.execute(_copy_sql(db, table, k, span, seconds))
        while indexing.owed(db):  # a write indexes a few chunks of what is due: the rest
            with write(db):  # now, as a running gateway's writes would have
                pass
        if k and k % 100 == 0:
            print(f"[{time.monotonic() - started:7.1f}] bench-scale: {k} of {copies} copies")
    age_open_cases(db)
    db.execute("ANALYZE")
    total = db.execute("SELECT COUNT(*) FROM cases").fetchone()[0]
    db.conn.close()
    return total


def age_open_cases(db: Database, days: int = 180, took_days: int = 20) -> int:
    """Close the cases older than ``days`` that the seed left open, ``took_days`` after
    they came: every copy of the seed has its share of open cases, but in a log of ten
    years the old ones were closed long ago. What stays open is the last half year's,
    some 7,500 at a million cases, as in the issue's own measurement. Returns how many."""
    cutoff = (dt.datetime.now(dt.UTC) - dt.timedelta(days=days)).isoformat()
    with write(db):
        cursor = db.execute(
            "UPDATE cases SET status = 'lukket', closed_at = strftime('%Y-%m-%dT%H:%M:%f', "
            f"received_at, '+{took_days} days') || '+00:00' "
            "WHERE status != 'lukket' AND received_at < ?",
            [cutoff],
        )
    return cursor.rowcount
