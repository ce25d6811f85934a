"""The tallies the metrics and ``gateway status`` read equal counting the rows themselves,
whatever happened to the messages and the outbox (they are kept by triggers)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.store import health, open_db
from gateway.store.outbox import counts_by_state, delivery_counts

MAILBOXES = st.sampled_from(["support", "responssenter", None])
STATES = st.sampled_from(["received", "done", "quarantined", "dropped"])  # intake sets one
OUTCOMES = st.sampled_from([None, "relay", "triage", "hold", "ignore", "duplicate", "too-large"])
OUT_STATES = st.sampled_from(["queued", "sending", "retry", "sent", "failed", None])
PURPOSES = st.sampled_from(["relay", "receipt", "triage", None])

operations = st.lists(
    st.one_of(
        st.tuples(st.just("in"), MAILBOXES, STATES, OUTCOMES),
        st.tuples(st.just("out"), MAILBOXES, st.just("queued"), PURPOSES),
        st.tuples(st.just("change"), st.integers(0, 30), STATES, OUTCOMES),
        st.tuples(st.just("outbox"), PURPOSES, OUT_STATES, st.none()),
        st.tuples(st.just("deliver"), st.integers(0, 30), OUT_STATES, st.none()),
    ),
    max_size=40,
)


def apply(db, op) -> None:
    kind, a, b, c = op
    if kind in ("in", "change") and b == "received":
        c = None  # a message waiting to be decided has no outcome (intake, release)
    if kind in ("in", "out"):
        db.execute("INSERT INTO messages (direction, mailbox, state, outcome) VALUES (?,?,?,?)",
                   [kind, a, b, c if kind == "in" else c])  # fmt: skip
    elif kind == "change":
        db.execute("UPDATE messages SET state = ?, outcome = ? WHERE id = ?", [b, c, a])
    elif kind == "outbox":
        db.execute("INSERT INTO outbox (purpose, state) VALUES (?, ?)", [a, b])
    else:
        db.execute("UPDATE outbox SET state = ? WHERE id = ?", [b, a])


def counted(db) -> dict:
    """What the tallies stand for, counted from the rows."""
    q = db.execute
    return {
        "received": sorted(q("SELECT mailbox, COUNT(*) FROM messages WHERE direction = 'in' "
                             "GROUP BY 1").fetchall(), key=repr),
        "decided": sorted(q("SELECT mailbox, COALESCE(outcome, state), COUNT(*) FROM messages "
                            "WHERE direction = 'in' AND state != 'received' GROUP BY 1, 2")
                          .fetchall(), key=repr),
        "waiting": q("SELECT COUNT(*) FROM messages WHERE direction = 'in' AND state = 'received'")
        .fetchone()[0],
        "triage": q("SELECT COUNT(*) FROM messages WHERE direction = 'in' "
                    "AND outcome IN ('triage', 'hold')").fetchone()[0],
        "quarantined": q("SELECT COUNT(*) FROM messages WHERE state = 'quarantined'").fetchone()[0],
        "outbox": dict(q("SELECT state, COUNT(*) FROM outbox GROUP BY 1").fetchall()),
        "delivered": sorted(q("SELECT purpose, state, COUNT(*) FROM outbox "
                              "WHERE state IN ('sent', 'failed') GROUP BY 1, 2").fetchall(),
                            key=repr),
    }  # fmt: skip


def tallied(db) -> dict:
    return {
        "received": sorted(health.received_by_mailbox(db), key=repr),
        "decided": sorted(health.decided_by_mailbox(db), key=repr),
        "waiting": health.waiting_count(db),
        "triage": health.triage_count(db),
        "quarantined": health.quarantined_count(db),
        "outbox": counts_by_state(db),
        "delivered": sorted(delivery_counts(db), key=repr),
    }


@settings(max_examples=60, deadline=None, derandomize=True)
@given(ops=operations)
def test_tallies_equal_the_rows(ops):
    db = open_db(None)
    for op in ops:
        apply(db, op)
    assert tallied(db) == counted(db)


def test_an_existing_case_log_is_counted_when_the_tallies_arrive(tmp_path):
    """The migration counts what a case log of before it holds."""
    from gateway.store.schema import migrations

    db = open_db(tmp_path / "g.db")
    for op in [("in", "support", "done", "relay"), ("in", None, "received", None),
               ("outbox", "relay", "sent", None)]:  # fmt: skip
        apply(db, op)
    db.execute("DELETE FROM tallies")
    db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm009_tallies'")
    for name in ("tally_message_in", "tally_message_change", "tally_outbox_in",
                 "tally_outbox_change"):  # fmt: skip
        db.execute(f"DROP TRIGGER {name}")
    db.execute("DROP TABLE tallies")
    migrations.apply(db)
    assert tallied(db) == counted(db)
