"""The reads that run often go through an index, not through every case (issue 22: a
log of a million cases). No timing here: the query planner's own plan for the SQL each
store function sends, on a log with enough rows that a scan would be chosen otherwise."""

from __future__ import annotations

import pytest

from gateway.health import FAILURES
from gateway.store import open_db, write
from gateway.store.followup import not_yet_in_digest, open_cases
from gateway.store.health import last_events
from gateway.store.record import open_cases_received_by


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    db = open_db(tmp_path_factory.mktemp("plans") / "caselog.db")
    with write(db):  # mostly closed, as a log of years is; a few open
        for i in range(1, 3001):
            status = "registrert" if i % 100 == 0 else "lukket"
            db.execute(
                "INSERT INTO cases (id, reference, status, receiving_party, received_at, urgent) "
                "VALUES (?, ?, ?, 'supplier', ?, 0)",
                [i, f"AVVIK-2020-{i:05}", status, f"2020-01-01T00:00:{i % 60:02}.000+00:00"],
            )
            db.execute("INSERT INTO events (at, kind, case_id) VALUES ('2020', 'decided', ?)", [i])
    db.execute("ANALYZE")
    return db


def plans(db, call) -> list[str]:
    """The query plan of every statement ``call`` sends."""
    sent: list[str] = []
    db.conn.set_trace_callback(sent.append)
    try:
        call()
    finally:
        db.conn.set_trace_callback(None)
    out = []
    for sql in (s for s in sent if s.lstrip().upper().startswith("SELECT")):
        out += [row[3] for row in db.conn.execute("EXPLAIN QUERY PLAN " + sql)]
    return out


@pytest.mark.parametrize(
    "call, index",
    [
        (lambda db: open_cases_received_by(db, "supplier"), "idx_cases_open"),
        (lambda db: open_cases(db), "idx_cases_open"),
        (lambda db: not_yet_in_digest(db, "2026-01-01T00:00:00+00:00"), "idx_cases_received_at"),
        (lambda db: last_events(db, FAILURES), "idx_events_kind"),
    ],
)
def test_the_frequent_reads_use_their_index(db, call, index):
    steps = plans(db, lambda: call(db))
    assert any(index in step for step in steps), steps
    assert not any(step.startswith("SCAN cases") and "INDEX" not in step for step in steps)


def test_participants_are_read_by_their_case_and_indexed_by_it_alone(db):
    """Every read of the participants names the case and probes the primary key; so the
    log keeps no index of them by address, which each new participant would write a leaf
    of (m017_i22_participants_by_case_only)."""
    from gateway.store import cases as store_cases
    from gateway.store.record import open_cases_of
    from gateway.store.web import CaseFilter, case_page, informed
    from gateway.web.access import Scope

    with write(db):
        for i in range(1, 3001, 7):
            store_cases.add_participant(db, i, f"person{i}@kommune.example", "reporter", "reporter")
    db.execute("ANALYZE")
    person = "person8@kommune.example"
    scope = Scope(parties=("supplier",), addresses=(person,))
    calls = [
        lambda: open_cases_of(db, person, None),
        lambda: store_cases.participant(db, 8, person),
        lambda: store_cases.participant_addresses(db, 8, "reporter"),
        lambda: store_cases.writers(db, 8),
        lambda: informed(db, 8, (person,)),
        lambda: case_page(db, scope, CaseFilter()),
    ]
    for call in calls:
        steps = [s for s in plans(db, call) if " p " in f" {s} " or "participants" in s]
        assert steps and all("sqlite_autoindex_participants_1" in s for s in steps), steps
    indexes = db.execute("SELECT name FROM pragma_index_list('participants')").fetchall()
    assert indexes == [("sqlite_autoindex_participants_1",)]


def test_the_oldest_waiting_message_is_found_among_the_waiting_ones(db):
    """A scrape and ``gateway status`` ask when the oldest undecided message arrived,
    whenever one waits: read through the index of states, among the few waiting, not
    along the index of arrival times from the oldest message of the log (2 s warm, a
    minute and more cold, on a log of a million cases)."""
    from gateway.store.health import waiting_and_oldest

    with write(db):
        for i in range(1, 3001):
            state = "received" if i in (2500, 2900) else "done"
            db.execute(
                "INSERT INTO messages (direction, mailbox, received_at, state) "
                "VALUES ('in', 'support', ?, ?)",
                [f"2020-01-01T00:{i // 60 % 60:02}:{i % 60:02}.000+00:00", state],
            )
    db.execute("ANALYZE")
    count, oldest = waiting_and_oldest(db)
    assert count == 2 and oldest == "2020-01-01T00:41:40.000+00:00"
    steps = plans(db, lambda: waiting_and_oldest(db))
    assert any("idx_messages_state" in step for step in steps), steps
    assert not any("idx_messages_received_at" in step for step in steps), steps


def test_the_undecided_messages_are_listed_from_an_index_of_them_alone(db):
    """The triage list (``gateway triage list``, the web view's triage page) reads the
    triaged and held messages no one has decided through an index of those only, not by
    scanning every message of the log; and m006's index of direction, mailbox, state
    and outcome, which only a migration read, is gone (every message wrote to it)."""
    from gateway.store.messages import waiting

    with write(db):
        for i, outcome in enumerate(["relayed"] * 2000 + ["triage", "hold", "relayed"]):
            db.execute(
                "INSERT INTO messages (direction, mailbox, received_at, state, outcome) "
                "VALUES ('in', 'support', ?, 'done', ?)",
                [f"2021-01-01T00:00:{i % 60:02}.000+00:00", outcome],
            )
    db.execute("ANALYZE")
    assert [w.outcome for w in waiting(db)] == ["triage", "hold"]
    steps = plans(db, lambda: waiting(db))
    assert any("idx_messages_undecided" in step for step in steps), steps
    assert not any(step == "SCAN messages" for step in steps), steps  # every message
    names = {row[0] for row in db.execute("SELECT name FROM pragma_index_list('messages')")}
    assert "idx_messages_direction_mailbox_state_outcome" not in names


# What ANALYZE wrote for the cases on the benchmark's log of a million cases, of which
# 69,000 were urgent closed cases with a review not held (a real log has far fewer).
MILLION_CASES_STATS = [
    ("idx_cases_reviews", "69000 1 1 1"), ("idx_cases_received_at", "1000000 6"),
    ("idx_cases_open", "7500 7500 1"), ("idx_cases_to_purge", "992500 2"),
    ("idx_cases_close_due", "1000000 1000"), ("idx_cases_status", "1000000 500000"),
    ("idx_cases_reference", "1000000 1"),
]  # fmt: skip


@pytest.mark.parametrize("reminded", [False, True])
def test_the_reviews_not_held_are_read_from_the_index_of_reviews(tmp_path, reminded):
    """The reminders and the overdue list read the closed urgent cases whose review is due
    through the index of those cases, not by reading every case, as the planner chose
    with the statistics of the benchmark's log of a million cases."""
    from gateway.store.record import reviews_not_held

    db = open_db(tmp_path / "caselog.db")
    with write(db):
        for i in range(1, 301):
            due = "2020-02-01" if i % 100 == 0 else None
            db.execute(
                "INSERT INTO cases (id, reference, status, review_due_at, review_reminded_at) "
                "VALUES (?, ?, 'lukket', ?, ?)",
                [i, f"AVVIK-2020-{i:05}", due, "2020-02-02" if due and reminded else None],
            )
    db.execute("ANALYZE")
    db.execute("DELETE FROM sqlite_stat1 WHERE tbl = 'cases'")
    db.conn.executemany(
        "INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ('cases', ?, ?)", MILLION_CASES_STATS
    )
    db.conn.commit()
    db.execute("ANALYZE sqlite_schema")  # the statistics read again
    assert [c.id for c in reviews_not_held(db, reminded)] == [100, 200, 300]
    steps = plans(db, lambda: reviews_not_held(db, reminded))
    assert any("idx_cases_reviews" in step for step in steps), steps
