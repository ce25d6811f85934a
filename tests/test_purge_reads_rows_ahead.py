"""A purge reads each batch's rows (cases, messages' texts, outbox rows, the events'
index) before its write transaction, so that the write does not wait for the disk with
the database held (issue 22: cold, 300 ms of a 40-case write at a million cases was
reading, 35 ms CPU)."""

from __future__ import annotations

from purge_helpers import NOW, OLD, closed_cases

from gateway import retention
from gateway.store import insert, open_db, write
from gateway.store import retention as rows


def logged(monkeypatch, calls: list, name: str, kind: str) -> None:
    real = getattr(rows, name)

    def spying(database, ids, *rest):
        calls.append((kind, sorted(ids), database.conn.in_transaction))
        return real(database, ids, *rest)

    monkeypatch.setattr(rows, name, spying)


def test_each_batch_is_read_before_its_write(monkeypatch):
    db = open_db(None)
    closed_cases(db, 12, "emne", "tekst")
    with write(db):
        for _ in range(7):
            insert(db, "messages", {"direction": "in", "state": "done", "subject": "x",
                   "received_at": OLD})  # fmt: skip
    calls: list = []
    logged(monkeypatch, calls, "read_cases_ahead", "read cases")
    logged(monkeypatch, calls, "purge_cases", "purge cases")
    logged(monkeypatch, calls, "read_loose_ahead", "read loose")
    report = retention.purge(db, 365, today=NOW, batch=4)
    assert (report.cases, report.messages) == (12, 19)
    cases = [c for c in calls if "cases" in c[0]]
    assert len(cases) >= 6 and len(cases) % 2 == 0
    for read, purged in zip(cases[::2], cases[1::2], strict=True):
        assert read[0] == "read cases" and not read[2]
        assert purged[0] == "purge cases" and purged[2] and purged[1] == read[1]
    loose = [c for c in calls if c[0] == "read loose" and not c[2]]
    assert sum(len(c[1]) for c in loose) >= 12 + 7  # the cases' messages, then the loose
    db.close()


def test_reading_ahead_changes_nothing():
    db = open_db(None)
    with write(db):
        case = insert(db, "cases", {"reference": "AVVIK-2024-0001", "subject": "emne"})
        insert(db, "messages", {"direction": "in", "case_id": case, "new_text": "tekst"})
    before = db.conn.total_changes
    assert rows.read_cases_ahead(db, [case]) == 1
    assert db.conn.total_changes == before and not db.conn.in_transaction
    db.close()
