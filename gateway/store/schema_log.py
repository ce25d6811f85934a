"""The case log's migrations m001-m011: its tables, threads, retention, follow-up, the
tallies, the web view's indexes and its first text search (``schema.py``).
"""

from __future__ import annotations

from sqlite_utils import Database

from gateway.store.schema_base import migrations


@migrations()
def m001_initial(db: Database) -> None:
    """The first tables: messages, cases, events, outbox, reference numbers, mailboxes."""
    _messages(db)
    _cases(db)
    _events(db)
    _outbox(db)
    db["reference_numbers"].create({"prefix": str, "year": int, "last": int}, pk=("prefix", "year"))
    db["mailboxes"].create(
        {"name": str, "uidvalidity": int, "last_uid": int, "updated_at": str}, pk="name"
    )


def _messages(db: Database) -> None:
    db["messages"].create(
        {
            "id": int,
            "direction": str,
            "mailbox": str,
            "source": str,
            "received_at": str,
            "state": str,
            "outcome": str,
            "reason": str,
            "case_id": int,
            "message_id": str,
            "in_reply_to": str,
            "refs": str,
            "from_addr": str,
            "to_addrs": str,
            "subject": str,
            "sha256": str,
            "size": int,
            "defects": str,
            "attempts": int,
            "raw": bytes,
        },
        pk="id",
        defaults={"attempts": 0},
    )
    db["messages"].create_index(["state"])
    db["messages"].create_index(["message_id"])
    db["messages"].create_index(["sha256"])


def _cases(db: Database) -> None:
    db["cases"].create(
        {
            "id": int,
            "reference": str,
            "flow": str,
            "kind": str,
            "status": str,
            "severity": str,
            "urgent": int,
            "reporting_party": str,
            "reporter_address": str,
            "receiving_party": str,
            "municipality": str,
            "mailbox": str,
            "subject": str,
            "received_at": str,
            "measures_due": str,
            "close_due": str,
            "external_ref": str,
            "rule_hits": str,
            "rule_misses": str,
            "first_message_id": int,
        },
        pk="id",
    )
    db["cases"].create_index(["reference"], unique=True)


def _events(db: Database) -> None:
    db["events"].create(
        {
            "id": int,
            "at": str,
            "case_id": int,
            "message_id": int,
            "kind": str,
            "detail": str,
            "rules": str,
        },
        pk="id",
    )
    db["events"].create_index(["case_id"])


def _outbox(db: Database) -> None:
    db["outbox"].create(
        {
            "id": int,
            "message_id": int,
            "case_id": int,
            "purpose": str,
            "mail_from": str,
            "recipients": str,
            "state": str,
            "attempts": int,
            "next_attempt_at": str,
            "deliver_until": str,
            "last_error": str,
            "created_at": str,
            "sent_at": str,
        },
        pk="id",
        defaults={"attempts": 0},
    )
    db["outbox"].create_index(["state", "next_attempt_at"])


@migrations()
def m002_threads(db: Database) -> None:
    """Threads: who takes part in a case, the measure that closed it, new text of replies."""
    db["cases"].add_column("measure", str)
    db["cases"].add_column("closed_at", str)
    db["cases"].add_column("updated_at", str)
    db["cases"].add_column("related_reference", str)  # the closed case a new one follows up
    db["messages"].add_column("new_text", str)  # a reply without its quoted history
    db["participants"].create(
        {"case_id": int, "address": str, "side": str, "role": str, "added_at": str},
        pk=("case_id", "address"),
    )


@migrations()
def m003_retention(db: Database) -> None:
    """When a case's texts were purged after its retention time."""
    db["cases"].add_column("purged_at", str)
    db["messages"].create_index(["case_id"])
    db["messages"].create_index(["received_at"])


@migrations()
def m004_mailbox_health(db: Database) -> None:
    """What ``gateway status`` shows per mailbox: connected, last fetch, last error."""
    db["mailboxes"].add_column("connected", int)
    db["mailboxes"].add_column("last_fetch_at", str)
    db["mailboxes"].add_column("last_error", str)
    db["mailboxes"].add_column("last_error_at", str)


@migrations()
def m005_follow_up(db: Database) -> None:
    """Follow-up after the relay: scheduled job runs, alerts, reviews and reminders.

    ``job_runs`` has one row per job and due time: a gateway claims a run by inserting
    it, so a restart neither misses nor repeats one, and two gateways never both run it.
    ``alerts`` has one row per condition (a mailbox unreachable, a login refused, the
    outbox failing): raised once, recovered once, whatever the retries in between.
    """
    db["job_runs"].create(
        {
            "job": str,
            "due_at": str,
            "started_at": str,
            "finished_at": str,
            "result": str,
            "detail": str,
            "host": str,
        },
        pk=("job", "due_at"),
    )
    db["alerts"].create(
        {
            "key": str,
            "kind": str,
            "state": str,
            "since": str,
            "raised_at": str,
            "recovered_at": str,
            "detail": str,
            "updated_at": str,
        },
        pk="key",
    )
    for column in (
        "first_answer_at",  # the receiving side's first message in the case
        "assessed_at",  # the on-call duty's last #vurdert
        "measures_reminded_at",
        "close_reminded_at",
        "escalate_due",  # a date: escalated when still open then (cooperation)
        "escalated_at",
        "review_due_at",  # post-incident review of an urgent case, opened when it closed
        "review_done_at",
    ):
        db["cases"].add_column(column, str)


@migrations()
def m006_indexes_for_status_and_metrics(db: Database) -> None:
    """``gateway status``, the metrics scrape and the follow-up jobs count by these."""
    db["messages"].create_index(["direction", "mailbox", "state", "outcome"])
    db["events"].create_index(["kind"])
    db["cases"].create_index(["status"])


@migrations()
def m007_raw_apart(db: Database) -> None:
    """The raw bytes in a table of their own, ``raw_messages`` (same id as ``messages``).

    SQLite rewrites a whole row on every UPDATE, blob included: counting an attempt or
    writing a message's end state rewrote its megabytes each time. Apart, the state
    changes touch small rows, and ``messages`` reads well in any SQLite browser.
    """
    db["raw_messages"].create({"id": int, "raw": bytes}, pk="id")
    db.execute(
        "INSERT INTO raw_messages (id, raw) SELECT id, raw FROM messages WHERE raw IS NOT NULL"
    )
    db["messages"].transform(drop={"raw"})


@migrations(transactional=False)
def m008_incremental_vacuum(db: Database) -> None:
    """Free pages go back to the file system in small steps after a purge, instead of the
    file keeping its largest size for ever. Switching an existing case log over takes one
    full VACUUM here, once (about a minute per 10 GB, with the database locked)."""
    db.execute("PRAGMA auto_vacuum = INCREMENTAL")
    db.execute("VACUUM")


_TALLY = (
    "INSERT INTO tallies (what, a, b, n) VALUES ({what}, {a}, {b}, {n}) "
    "ON CONFLICT (what, a, b) DO UPDATE SET n = n + excluded.n;"
)
_DECIDED = "COALESCE({m}.outcome, {m}.state, '')"


def _tally(what: str, a: str, b: str, n: int) -> str:
    return _TALLY.format(what=f"'{what}'", a=a, b=b, n=n)


@migrations()
def m009_tallies(db: Database) -> None:
    """Counts the metrics, ``gateway status`` and the alerts read at every scrape, kept by
    triggers in the same transaction as each change: incoming messages per mailbox (all,
    by state, and decided by outcome or state) and outbox rows per purpose and state.
    A scrape then reads a few dozen rows instead of grouping millions."""
    db.execute(
        "CREATE TABLE tallies (what TEXT NOT NULL, a TEXT NOT NULL, b TEXT NOT NULL, "
        "n INTEGER NOT NULL, PRIMARY KEY (what, a, b))"
    )
    box = "COALESCE({m}.mailbox, '')"
    db.execute(
        "CREATE TRIGGER tally_message_in AFTER INSERT ON messages WHEN NEW.direction = 'in' "
        "BEGIN "
        + _tally("received", box.format(m="NEW"), "''", 1)
        + _tally("state", box.format(m="NEW"), "COALESCE(NEW.state, '')", 1)
        + " INSERT INTO tallies (what, a, b, n) SELECT 'decided', "
        + box.format(m="NEW")
        + ", "
        + _DECIDED.format(m="NEW")
        + ", 1 "
        "WHERE NEW.state != 'received' AND true "
        "ON CONFLICT (what, a, b) DO UPDATE SET n = n + 1; END"
    )
    db.execute(
        "CREATE TRIGGER tally_message_change AFTER UPDATE OF state, outcome, mailbox ON messages "
        "WHEN NEW.direction = 'in' BEGIN "
        "UPDATE tallies SET n = n - 1 WHERE what = 'state' "
        "AND a = "
        + box.format(m="OLD")
        + " AND b = COALESCE(OLD.state, ''); "
        + _tally("state", box.format(m="NEW"), "COALESCE(NEW.state, '')", 1)
        + " UPDATE tallies SET n = n - 1 WHERE what = 'decided' AND OLD.state != 'received' "
        "AND a = " + box.format(m="OLD") + " AND b = " + _DECIDED.format(m="OLD") + "; "
        "INSERT INTO tallies (what, a, b, n) SELECT 'decided', "
        + box.format(m="NEW")
        + ", "
        + _DECIDED.format(m="NEW")
        + ", 1 "
        "WHERE NEW.state != 'received' AND true "
        "ON CONFLICT (what, a, b) DO UPDATE SET n = n + 1; END"
    )
    db.execute(
        "CREATE TRIGGER tally_outbox_in AFTER INSERT ON outbox BEGIN "
        + _tally("outbox", "COALESCE(NEW.purpose, '')", "COALESCE(NEW.state, '')", 1)
        + " END"
    )
    db.execute(
        "CREATE TRIGGER tally_outbox_change AFTER UPDATE OF state, purpose ON outbox BEGIN "
        "UPDATE tallies SET n = n - 1 WHERE what = 'outbox' "
        "AND a = COALESCE(OLD.purpose, '') AND b = COALESCE(OLD.state, ''); "
        + _tally("outbox", "COALESCE(NEW.purpose, '')", "COALESCE(NEW.state, '')", 1)
        + " END"
    )
    _count_what_is_there(db)


def _count_what_is_there(db: Database) -> None:
    """The tallies of an existing case log, counted once."""
    db.execute(
        "INSERT INTO tallies (what, a, b, n) SELECT 'state', COALESCE(mailbox, ''), "
        "COALESCE(state, ''), COUNT(*) FROM messages WHERE direction = 'in' GROUP BY 2, 3"
    )
    db.execute(
        "INSERT INTO tallies (what, a, b, n) SELECT 'received', COALESCE(mailbox, ''), '', "
        "COUNT(*) FROM messages WHERE direction = 'in' GROUP BY 2"
    )
    db.execute(
        "INSERT INTO tallies (what, a, b, n) SELECT 'decided', COALESCE(mailbox, ''), "
        "COALESCE(outcome, state, ''), COUNT(*) FROM messages "
        "WHERE direction = 'in' AND state != 'received' GROUP BY 2, 3"
    )
    db.execute(
        "INSERT INTO tallies (what, a, b, n) SELECT 'outbox', COALESCE(purpose, ''), "
        "COALESCE(state, ''), COUNT(*) FROM outbox GROUP BY 2, 3"
    )


@migrations()
def m010_indexes_for_the_web_view(db: Database) -> None:
    """The web view's case list filters by party, municipality, flow and deadline, and
    finds a person's cases by address."""
    for column in ("reporting_party", "receiving_party", "municipality", "flow", "close_due"):
        db["cases"].create_index([column], if_not_exists=True)
    db["participants"].create_index(["address"], if_not_exists=True)


@migrations()
def m011_case_text_search(db: Database) -> None:
    """A full-text index (SQLite FTS5) of the new text of every message in a case, for the
    web view's search: a LIKE over every message read them all. Triggers keep it in step
    in the same transaction as each change, so a purged text leaves the index with it."""
    db.execute(
        "CREATE VIRTUAL TABLE case_text USING fts5(body, case_id UNINDEXED, tokenize = 'unicode61')"
    )
    db.execute(
        "CREATE TRIGGER case_text_in AFTER INSERT ON messages "
        "WHEN NEW.case_id IS NOT NULL AND NEW.new_text IS NOT NULL BEGIN "
        "INSERT INTO case_text (rowid, body, case_id) VALUES (NEW.id, NEW.new_text, NEW.case_id); "
        "END"
    )
    db.execute(
        "CREATE TRIGGER case_text_change AFTER UPDATE OF new_text, case_id ON messages BEGIN "
        "DELETE FROM case_text WHERE rowid = OLD.id; "
        "INSERT INTO case_text (rowid, body, case_id) SELECT NEW.id, NEW.new_text, NEW.case_id "
        "WHERE NEW.case_id IS NOT NULL AND NEW.new_text IS NOT NULL; END"
    )
    db.execute(
        "INSERT INTO case_text (rowid, body, case_id) SELECT id, new_text, case_id "
        "FROM messages WHERE case_id IS NOT NULL AND new_text IS NOT NULL"
    )
