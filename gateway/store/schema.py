"""The schema of the case log, as sqlite-utils migrations: one function per change.

A migration runs once per database, in order, and is never edited after it shipped:
a change to the schema is a new function at the end.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("avviksgateway")


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


@migrations()
def m012_i22_case_words(db: Database) -> None:
    """The search index again, keyed so that it is in case order: rowid = case id << 32 |
    message id. A search then reads case ids straight from the index, with no lookup per
    hit (the old index looked up each hit's case id: 0.7 s for a word in every case of
    100,000), and can be read from the newest case down. Contentless: the texts are in
    ``messages`` already; the triggers hand the old text back when a row changes or goes."""
    db.execute("DROP TRIGGER IF EXISTS case_text_in")
    db.execute("DROP TRIGGER IF EXISTS case_text_change")
    db.execute("DROP TABLE IF EXISTS case_text")
    db.execute("CREATE VIRTUAL TABLE case_words USING fts5(body, content = '')")
    key, old_key = "(NEW.case_id << 32) + NEW.id", "(OLD.case_id << 32) + OLD.id"
    forget = (
        f"INSERT INTO case_words (case_words, rowid, body) SELECT 'delete', {old_key}, "
        "OLD.new_text WHERE OLD.case_id IS NOT NULL AND OLD.new_text IS NOT NULL; "
    )
    db.execute(
        "CREATE TRIGGER case_words_in AFTER INSERT ON messages "
        "WHEN NEW.case_id IS NOT NULL AND NEW.new_text IS NOT NULL BEGIN "
        f"INSERT INTO case_words (rowid, body) VALUES ({key}, NEW.new_text); END"
    )
    db.execute(
        "CREATE TRIGGER case_words_change AFTER UPDATE OF new_text, case_id ON messages BEGIN "
        + forget
        + f"INSERT INTO case_words (rowid, body) SELECT {key}, NEW.new_text "
        "WHERE NEW.case_id IS NOT NULL AND NEW.new_text IS NOT NULL; END"
    )
    db.execute(f"CREATE TRIGGER case_words_out AFTER DELETE ON messages BEGIN {forget}END")
    db.execute(
        "INSERT INTO case_words (rowid, body) SELECT (case_id << 32) + id, new_text "
        "FROM messages WHERE case_id IS NOT NULL AND new_text IS NOT NULL"
    )


@migrations()
def m013_i22_case_titles(db: Database) -> None:
    """A trigram index of each case's reference and subject (rowid = case id), so that the
    case list's search for a part of them need not read every case (a LIKE over 100,000
    rows: 30-90 ms). The LIKE still decides; the index only narrows to the candidates."""
    db.execute(
        "CREATE VIRTUAL TABLE case_titles USING fts5(reference, subject, content = '', "
        "tokenize = 'trigram')"
    )
    forget = (
        "INSERT INTO case_titles (case_titles, rowid, reference, subject) "
        "VALUES ('delete', OLD.id, OLD.reference, OLD.subject); "
    )
    remember = (
        "INSERT INTO case_titles (rowid, reference, subject) "
        "VALUES (NEW.id, NEW.reference, NEW.subject); "
    )
    db.execute(f"CREATE TRIGGER case_titles_in AFTER INSERT ON cases BEGIN {remember}END")
    db.execute(
        "CREATE TRIGGER case_titles_change AFTER UPDATE OF reference, subject ON cases "
        f"BEGIN {forget}{remember}END"
    )
    db.execute(f"CREATE TRIGGER case_titles_out AFTER DELETE ON cases BEGIN {forget}END")
    db.execute(
        "INSERT INTO case_titles (rowid, reference, subject) SELECT id, reference, subject "
        "FROM cases"
    )


@migrations()
def m012_i19_record_fields(db: Database) -> None:
    """The deviation record (issue 19): the date of the event, a category, the immediate
    measure, the cause; the closing step (asked for, by whom, why without measures,
    reminded); the escalation step reached. Corrective measures are rows of their own,
    ``case_measures``, numbered per case, each planned or done."""
    for column in (
        "event_date",  # a date: when it happened, not when the mail came
        "category",  # a key of rules.yaml record: categories
        "immediate_measure",  # strakstiltak
        "cause",  # årsak
        "close_requested_at",  # #lukk gave "til lukking"; confirmed with #bekreft
        "close_requested_by",
        "closed_without_measures",  # the reason given with #lukk uten tiltak
        "confirm_reminded_at",
    ):
        db["cases"].add_column(column, str)
    db["cases"].add_column("escalation_step", int)
    db["case_measures"].create(
        {
            "case_id": int,
            "number": int,  # 1, 2, ... per case: #tiltak utført 2
            "text": str,
            "state": str,  # planned | done
            "due": str,  # a date, or NULL
            "owner": str,  # an address, or NULL
            "added_at": str,
            "added_by": str,
            "done_at": str,
        },
        pk=("case_id", "number"),
    )


@migrations()
def m014_i22_bounded_growth(db: Database) -> None:
    """An event that repeats each run (a case on the overdue list every working day) is
    kept once per case, kind and detail, with how many runs saw it and the last one's
    time: 1.85M rows a year at a million cases, before. Existing repeats are folded.
    The purge finds a message's outbox row by its message (store/growth.py), and its
    next cases by a partial index of the closed cases not yet purged."""
    db["events"].add_column("repeats", int)
    db["events"].add_column("last_at", str)
    db["outbox"].create_index(["message_id"], if_not_exists=True)
    db.execute(  # the purge's next cases: not the status index, where 99% are closed
        "CREATE INDEX IF NOT EXISTS idx_cases_to_purge ON cases (closed_at) "
        "WHERE purged_at IS NULL AND status = 'lukket'"
    )
    db.execute(
        "CREATE TEMP TABLE folded AS SELECT MIN(id) AS id, COUNT(*) AS n, MAX(at) AS last "
        "FROM events WHERE kind = 'overdue' GROUP BY case_id, detail HAVING COUNT(*) > 1"
    )
    db.execute(
        "UPDATE events SET repeats = (SELECT n FROM folded f WHERE f.id = events.id), "
        "last_at = (SELECT last FROM folded f WHERE f.id = events.id) "
        "WHERE id IN (SELECT id FROM folded)"
    )
    db.execute(
        "DELETE FROM events WHERE kind = 'overdue' AND id NOT IN "
        "(SELECT MIN(id) FROM events WHERE kind = 'overdue' GROUP BY case_id, detail)"
    )
    db.execute("DROP TABLE folded")


@migrations()
def m012_i18_helpdesk_tickets(db: Database) -> None:
    """A party's own ticket number for a case (its helpdesk's ``[Tellu #12345]``): one
    row per case and party, since several parties can each have one; found again by
    party and number when a helpdesk answers with only its own number."""
    db["case_tickets"].create(
        {
            "case_id": int,
            "party": str,
            "name": str,
            "number": str,
            "tag": str,
            "recorded_at": str,
            "message_id": int,
        },
        pk=("case_id", "party"),
    )
    db["case_tickets"].create_index(["party", "number"])


@migrations()
def m013_i19_review_reminders(db: Database) -> None:
    """When the on-call duty and the administrators were reminded of a post-incident
    review not held (issue 19): once per case, then it is on the overdue list."""
    db["cases"].add_column("review_reminded_at", str)


@migrations()
def m015_i21_confidential(db: Database) -> None:
    """A confidential reporter (issue 21, ``#konfidensiell``): the case remembers it, so
    that later replies are relayed without the reporter's name and address too, and keeps
    the name the report was signed with (the address is ``reporter_address``); both are
    shown only to the readers the profile names."""
    db["cases"].add_column("confidential", int, not_null_default=0)
    db["cases"].add_column("reporter_name", str)


@migrations()
def m016_i21_clock_stopped(db: Database) -> None:
    """When the receiver said a data deviation is no personal-data breach
    (``#ikkje-personopplysningar``): its 72-hour clock stops (followup/clock.py)."""
    db["cases"].add_column("clock_stopped_at", str)


@migrations()
def m017_i22_open_cases(db: Database) -> None:
    """The open cases by receiver, and the cases by arrival (issue 22). The follow-up
    jobs and the weekly lists read only open cases, a few thousand of a million; through
    the status or party index they read every closed case of a party too (ten seconds
    at a million). The queries say ``status != 'lukket'`` literally, so this partial
    index applies. The review digest reads the cases that came since its last run."""
    db.execute(
        "CREATE INDEX IF NOT EXISTS idx_cases_open ON cases (receiving_party, id) "
        "WHERE status != 'lukket'"
    )
    # the review digest's cases since its last run (a day of a million, not all of them)
    db.execute("CREATE INDEX IF NOT EXISTS idx_cases_received_at ON cases (received_at)")


_FIGURES = (  # what a statistic may read of a case (store/stats.py CaseFigures), in order
    "received_at", "first_answer_at", "closed_at", "close_due", "flow", "kind", "status",
    "urgent", "receiving_party", "municipality", "severity", "category",
)  # fmt: skip


@migrations()
def m017_i22_case_figures(db: Database) -> None:
    """A narrow copy of what ``gateway stats`` reads of each case (no subject, text,
    address or cause), kept by triggers in the same transaction as each change to a
    case, with indexes on arrival and closing: a year's statistics of a million cases
    then read tens of megabytes, not the whole case table (575 MB)."""
    names = ", ".join(_FIGURES)
    db.execute(f"CREATE TABLE case_figures (id INTEGER PRIMARY KEY, {names})")
    new = ", ".join(f"NEW.{name}" for name in _FIGURES)
    copy = f"REPLACE INTO case_figures (id, {names}) VALUES (NEW.id, {new});"
    db.execute(f"CREATE TRIGGER case_figures_in AFTER INSERT ON cases BEGIN {copy} END")
    db.execute(
        f"CREATE TRIGGER case_figures_change AFTER UPDATE OF id, {names} ON cases BEGIN "
        f"DELETE FROM case_figures WHERE id = OLD.id AND OLD.id != NEW.id; {copy} END"
    )
    db.execute(
        "CREATE TRIGGER case_figures_out AFTER DELETE ON cases BEGIN "
        "DELETE FROM case_figures WHERE id = OLD.id; END"
    )
    db.execute(f"INSERT INTO case_figures (id, {names}) SELECT id, {names} FROM cases")
    db.execute("CREATE INDEX idx_case_figures_received ON case_figures (received_at)")
    # closed (or not) and arrived: holding every column, the cases a period meets and
    # those open throughout it are read from the index alone (store/stats.py)
    db.execute(f"CREATE INDEX idx_case_figures_closed ON case_figures (closed_at, {names})")
    db.execute(
        "CREATE INDEX idx_case_figures_answered ON case_figures (closed_at, first_answer_at)"
    )


SEARCH_AUTOMERGE = 16  # segments a level of a search index holds before they are merged
SEARCH_CRISISMERGE = 64  # ... before they are merged at once, in the write that adds one


@migrations()
def m017_i22_search_merges(db: Database) -> None:
    """The search indexes merge 16 segments at a time, not FTS5's 4 (issue 22). Each
    message's text is a segment of its own (FTS5 writes one at every statement, savepoint
    and trigger), and merging four at a time rewrote each text once per level of an
    index that grows for ten years: 1.1-1.8 ms of the pipeline's CPU a report on a log
    of 100,000 cases, 0.3-0.35 ms at 16. A search reads a few more segments per word.
    The crisis merge (all of a level at once, in one write) is moved up with it."""
    for name in ("case_words", "case_titles"):
        db.execute(f"INSERT INTO {name} ({name}, rank) VALUES ('automerge', ?)", [SEARCH_AUTOMERGE])
        db.execute(
            f"INSERT INTO {name} ({name}, rank) VALUES ('crisismerge', ?)", [SEARCH_CRISISMERGE]
        )


@migrations()
def m017_i22_period_report_index(db: Database) -> None:
    """The interim and annual reports' counts of reviews and measures (store/period.py)
    read the few urgent cases' review dates and the measures' dates from indexes that hold
    them: without, each report read the whole case table (1.5 s of a million cases)."""
    db.execute(
        "CREATE INDEX IF NOT EXISTS idx_cases_reviews ON cases "
        "(review_due_at, review_done_at, review_reminded_at) WHERE review_due_at IS NOT NULL"
    )
    db.execute(
        "CREATE INDEX IF NOT EXISTS idx_case_measures_dates ON case_measures "
        "(added_at, done_at, due)"
    )


@migrations()
def m017_i22_case_hours(db: Database) -> None:
    """Each case's time to first answer and to closing, in working and calendar hours, as
    the statistics last worked them out, with the calendar (``ServiceHours.digest``) they
    were worked out in (issue 22): a pass over ten years of a million cases spent a
    quarter of its time on them. Filled lazily by the statistics (store/stats.py
    ``store_hours``, in short transactions of their own), not here: a migration of a
    million cases would hold the write lock for seconds. A change to a case's times
    forgets its row in the same transaction; a change of calendar leaves the rows
    stale, and a read asks for its own calendar's only."""
    db.execute(
        "CREATE TABLE case_hours (id INTEGER PRIMARY KEY, calendar TEXT NOT NULL, "
        "answer_working REAL, answer_calendar REAL, close_working REAL, close_calendar REAL)"
    )
    forget = "DELETE FROM case_hours WHERE id = OLD.id; "
    db.execute(
        "CREATE TRIGGER case_hours_change AFTER UPDATE OF id, received_at, first_answer_at, "
        f"closed_at ON cases BEGIN {forget}DELETE FROM case_hours WHERE id = NEW.id; END"
    )
    db.execute(f"CREATE TRIGGER case_hours_out AFTER DELETE ON cases BEGIN {forget}END")
    # a new case whose id an old one had (a REPLACE deletes without the trigger above)
    db.execute(
        "CREATE TRIGGER case_hours_in AFTER INSERT ON cases BEGIN "
        "DELETE FROM case_hours WHERE id = NEW.id; END"
    )


# A case whose figures of a period are not the sum of its months' (stats_months.py):
# answered or closed before it came, or answered more than 0.4 days after its closing
# (a period then selects it where a month alone does not: the read widens its bounds by
# a day, and a time written in another offset than UTC compares up to 14 hours off).
# Widened a little, never narrowed: one too many only costs a period counted anew.
STATS_APART = (
    "julianday(closed_at) - julianday(received_at) < 0.00001 "
    "OR julianday(first_answer_at) - julianday(received_at) < 0.00001 "
    "OR julianday(first_answer_at) - julianday(closed_at) > 0.4"
)
_STATS_MONTH_COLUMNS = (  # what a month's figures read of a case (not status, not cause)
    "received_at", "first_answer_at", "closed_at", "close_due", "flow", "kind", "urgent",
    "receiving_party", "municipality", "severity", "category",
)  # fmt: skip


@migrations()
def m017_i22_stats_months(db: Database) -> None:
    """Each finished month's figures by every dimension a month can keep (issue 22,
    gateway/stats_months.py): ten years of statistics, and a report's year against the
    year before, add up months instead of counting a million cases. A change to a case
    forgets, in its own transaction, every month from the day before it came on (all a
    case adds to is on or after its arrival, or it is one of ``STATS_APART``, whose
    months are never kept); a change of status or of the purged texts forgets nothing.
    The months are filled by the statistics that need them, not here."""
    db.execute(
        "CREATE TABLE stats_months (calendar TEXT NOT NULL, month TEXT NOT NULL, "
        "ends TEXT NOT NULL, cells TEXT NOT NULL, hours BLOB NOT NULL, "
        "PRIMARY KEY (calendar, month))"
    )
    db.execute("CREATE INDEX idx_stats_months_ends ON stats_months (ends)")

    def forget(received: str) -> str:
        day = f"coalesce(date({received}, '-2 days'), '')"  # a time unread: forget all
        return f"DELETE FROM stats_months WHERE ends > {day};"

    names = ", ".join(_STATS_MONTH_COLUMNS)
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in _STATS_MONTH_COLUMNS)
    db.execute(
        f"CREATE TRIGGER stats_months_change AFTER UPDATE OF {names} ON cases "
        f"WHEN {changed} BEGIN {forget('min(OLD.received_at, NEW.received_at)')} END"
    )
    db.execute(
        f"CREATE TRIGGER stats_months_in AFTER INSERT ON cases BEGIN "
        f"{forget('NEW.received_at')} END"
    )
    db.execute(
        f"CREATE TRIGGER stats_months_out AFTER DELETE ON cases BEGIN "
        f"{forget('OLD.received_at')} END"
    )
    db.execute(
        "CREATE INDEX idx_case_figures_apart ON case_figures "
        f"(received_at, first_answer_at, closed_at) WHERE {STATS_APART}"
    )


@migrations()
def m017_i22_web_search_terms(db: Database) -> None:
    """Every term the search index (``case_words``) has ever held, once each, so that a
    search word can be turned into the terms it starts (store/web.py ``search_terms``).
    FTS5 answers a prefix query ("basestasjon"*) by merging the whole lists of every
    term it starts, newest case or not: 0.2 s for that word at a million cases, seconds
    for a word of one letter; each term alone is read from the newest case down.

    An FTS5 index of its own, fed the same texts by triggers in the same transaction, but
    every text under the same rowid: FTS5 keeps one entry per term and rowid, so each
    term's list stays one entry long and listing the terms a word starts (the vocabulary
    table ``case_terms_list``) reads a few pages. The triggers never take a term out;
    since m017_i22_terms_pass a pass after each purge does (store/terms.py).
    Filled from the search index's own vocabulary (20 s at a million cases)."""
    db.execute(
        "CREATE VIRTUAL TABLE case_terms USING fts5(body, content = '', detail = none, "
        "columnsize = 0)"
    )
    db.execute("CREATE VIRTUAL TABLE case_terms_list USING fts5vocab(case_terms, row)")
    db.execute(
        "INSERT INTO case_terms (case_terms, rank) VALUES ('automerge', ?)", [SEARCH_AUTOMERGE]
    )
    add = "INSERT INTO case_terms (rowid, body) VALUES (1, NEW.new_text); "
    db.execute(
        "CREATE TRIGGER case_terms_in AFTER INSERT ON messages "
        f"WHEN NEW.case_id IS NOT NULL AND NEW.new_text IS NOT NULL BEGIN {add}END"
    )
    db.execute(  # as case_words_change, but only when a text is new to the index
        "CREATE TRIGGER case_terms_change AFTER UPDATE OF new_text, case_id ON messages "
        "WHEN NEW.case_id IS NOT NULL AND NEW.new_text IS NOT NULL "
        f"AND (OLD.case_id IS NULL OR OLD.new_text IS NOT NEW.new_text) BEGIN {add}END"
    )
    db.execute("CREATE VIRTUAL TABLE temp.case_words_list USING fts5vocab(main, case_words, row)")
    db.execute("INSERT INTO case_terms (rowid, body) SELECT 1, term FROM temp.case_words_list")
    db.execute("DROP TABLE temp.case_words_list")


@migrations()
def m017_i22_loose_kept(db: Database) -> None:
    """The messages of no case that may still hold a text or raw bytes, in a partial
    index of their arrival (issue 22): a purge's next loose messages were found by
    reading every message of no case ever stored (100,000 at a million cases: 0.5-1.6 s
    of the daily purge, cold), each a row of its own. A purge marks what it purged
    (``purged_at``), and the mark takes the row out of the index in the same
    transaction; intake needs nothing: a new message is unmarked. Loose messages
    purged before are marked here (they hold nothing: no text, no raw bytes)."""
    db["messages"].add_column("purged_at", str)
    db.execute(
        "UPDATE messages SET purged_at = strftime('%Y-%m-%dT%H:%M:%f+00:00') "
        "WHERE case_id IS NULL AND state != 'received' AND subject IS NULL AND new_text IS NULL "
        "AND NOT EXISTS (SELECT 1 FROM raw_messages r WHERE r.id = messages.id)"
    )
    db.execute(
        "CREATE INDEX idx_messages_loose_kept ON messages (received_at) "
        "WHERE case_id IS NULL AND purged_at IS NULL"
    )


@migrations()
def m017_i22_words_without_positions(db: Database) -> None:
    """The search index of the messages' texts keeps which texts hold a word, not where
    (FTS5 ``detail = none``, and no sizes per text: ``columnsize = 0``). The case list
    asks for words, never phrases (store/web.py), and the positions were most of the
    index: a word's list is 2.4 times shorter (a sample of 113,677 texts: 266 MB of
    index, 111 MB without), and so is every merge of it. A merge step ends only at the
    end of a word, and a year's list of a word in every message made the purge's and
    the merger's writes of 100-260 ms on a log of a million cases. Rebuilt from the
    texts: about ten minutes at a million cases (1.85 million texts), then merged into
    one segment (FTS5 'optimize'), so that the log owes no merging: filled text by text,
    a level held 30 segments of 14,000 pages, and the first merge after the upgrade
    rewrote 229,000 pages (43 s of merge steps). The triggers of m012 feed it as before
    (they name the index, not its layout)."""
    db.execute("DROP TABLE case_words")
    db.execute(
        "CREATE VIRTUAL TABLE case_words USING fts5(body, content = '', detail = none, "
        "columnsize = 0)"
    )
    for key, value in (("automerge", SEARCH_AUTOMERGE), ("crisismerge", SEARCH_CRISISMERGE)):
        db.execute("INSERT INTO case_words (case_words, rank) VALUES (?, ?)", [key, value])
    db.execute(
        "INSERT INTO case_words (rowid, body) SELECT (case_id << 32) + id, new_text "
        "FROM messages WHERE case_id IS NOT NULL AND new_text IS NOT NULL"
    )
    db.execute("INSERT INTO case_words (case_words) VALUES ('optimize')")


@migrations()
def m017_i22_incoming_hashes(db: Database) -> None:
    """The index of the messages' SHA-256 holds the incoming ones only: the duplicate
    check (store/messages.py) asks for those alone, and each relay and receipt the
    gateway sends put a random key into it, two of a report's three. On a log of a
    million cases that index was 7.9 million random keys, and a report's inserts
    read leaves of it from disk (15-19 MB read per 500 reports after a cold start);
    two thirds of them are gone. About a minute at a million cases."""
    db.execute("DROP INDEX IF EXISTS idx_messages_sha256")
    db.execute(
        "CREATE INDEX IF NOT EXISTS idx_messages_sha256_in ON messages (sha256) "
        "WHERE direction = 'in'"
    )


@migrations()
def m017_i22_terms_pass(db: Database) -> None:
    """Where a pass over the index of search terms stands (store/terms.py): a row while
    one is owed, with the last term it checked. A log that holds terms may hold some of
    texts purged before, so it owes a pass at once; a new log owes none."""
    db.execute(
        "CREATE TABLE terms_pass (id INTEGER PRIMARY KEY CHECK (id = 1), after TEXT NOT NULL)"
    )
    db.execute(
        "INSERT INTO terms_pass (id, after) SELECT 1, '' "
        "WHERE EXISTS (SELECT 1 FROM case_terms_list)"
    )


@migrations()
def m017_i22_terms_by_transaction(db: Database) -> None:
    """The index of search terms is fed once a write transaction, not once a text: the
    triggers of m017_i22_web_search_terms now note the message as due, on the same
    conditions, with the length of its text (superseded the same day by
    m017_i22_texts_by_transaction, which feeds the texts' index so too)."""
    db.execute("CREATE TABLE terms_due (message_id INTEGER PRIMARY KEY, chars INTEGER NOT NULL)")
    due = (
        "INSERT INTO terms_due (message_id, chars) VALUES (NEW.id, LENGTH(NEW.new_text)) "
        "ON CONFLICT (message_id) DO UPDATE SET chars = excluded.chars; "
    )
    for name, when in (
        ("case_terms_in", "AFTER INSERT ON messages WHEN "),
        ("case_terms_change", "AFTER UPDATE OF new_text, case_id ON messages WHEN "
         "(OLD.case_id IS NULL OR OLD.new_text IS NOT NEW.new_text) AND "),
    ):  # fmt: skip
        db.execute(f"DROP TRIGGER {name}")
        db.execute(
            f"CREATE TRIGGER {name} {when}NEW.case_id IS NOT NULL "
            f"AND NEW.new_text IS NOT NULL BEGIN {due}END"
        )


@migrations()
def m017_i22_texts_by_transaction(db: Database) -> None:
    """The search index of the texts is fed once a write transaction too, with the index
    of terms (store/indexing.py): the triggers note a text as due (``texts_due``) where
    they inserted it into ``case_words``, and take a text out of ``case_words`` only if
    it is not due (a due text was never put in). The texts the terms still owed are
    given their terms here, and ``terms_due`` goes."""
    db.execute(  # one insert: under one row id each text would be a segment of its own
        "INSERT INTO case_terms (rowid, body) SELECT 1, body FROM (SELECT group_concat("
        "new_text, char(10)) AS body FROM messages WHERE id IN (SELECT message_id FROM "
        "terms_due) AND case_id IS NOT NULL AND new_text IS NOT NULL) WHERE body IS NOT NULL"
    )
    for name in ("case_terms_in", "case_terms_change", "case_words_in", "case_words_change",
                 "case_words_out"):  # fmt: skip
        db.execute(f"DROP TRIGGER {name}")
    db.execute("DROP TABLE terms_due")
    db.execute("CREATE TABLE texts_due (message_id INTEGER PRIMARY KEY, chars INTEGER NOT NULL)")
    new = "NEW.case_id IS NOT NULL AND NEW.new_text IS NOT NULL"
    due = (
        "INSERT OR REPLACE INTO texts_due (message_id, chars) SELECT NEW.id, LENGTH(NEW.new_text) "
        f"WHERE {new}; "
    )
    forget = (  # m012's, for a text that is in the index: one not due
        "INSERT INTO case_words (case_words, rowid, body) SELECT 'delete', "
        "(OLD.case_id << 32) + OLD.id, OLD.new_text WHERE OLD.case_id IS NOT NULL "
        "AND OLD.new_text IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM texts_due WHERE message_id = OLD.id); "
    )
    undue = "DELETE FROM texts_due WHERE message_id = OLD.id; "
    db.execute(f"CREATE TRIGGER texts_in AFTER INSERT ON messages BEGIN {due}END")
    db.execute(  # the old text out (if it was in), then the new one due (if it is one)
        "CREATE TRIGGER texts_change AFTER UPDATE OF new_text, case_id ON messages "
        f"BEGIN {forget}{undue}{due}END"
    )
    db.execute(f"CREATE TRIGGER texts_out AFTER DELETE ON messages BEGIN {forget}{undue}END")


@migrations()
def m017_i22_titles_by_transaction(db: Database) -> None:
    """The index of the cases' references and subjects (m013_i22_case_titles) is fed once
    a write transaction as well (store/indexing.py): its triggers note the case as due
    (``titles_due``), and take a case out of the index only if it is not due."""
    for name in ("case_titles_in", "case_titles_change", "case_titles_out"):
        db.execute(f"DROP TRIGGER {name}")
    db.execute("CREATE TABLE titles_due (case_id INTEGER PRIMARY KEY)")
    due = "INSERT OR REPLACE INTO titles_due (case_id) VALUES (NEW.id); "
    forget = (  # m013's, for a case that is in the index: one not due
        "INSERT INTO case_titles (case_titles, rowid, reference, subject) "
        "SELECT 'delete', OLD.id, OLD.reference, OLD.subject "
        "WHERE NOT EXISTS (SELECT 1 FROM titles_due WHERE case_id = OLD.id); "
    )
    undue = "DELETE FROM titles_due WHERE case_id = OLD.id; "
    db.execute(f"CREATE TRIGGER titles_in AFTER INSERT ON cases BEGIN {due}END")
    db.execute(
        "CREATE TRIGGER titles_change AFTER UPDATE OF reference, subject ON cases "
        f"BEGIN {forget}{due}END"
    )
    db.execute(f"CREATE TRIGGER titles_out AFTER DELETE ON cases BEGIN {forget}{undue}END")


@migrations()
def m017_i22_participants_by_case_only(db: Database) -> None:
    """m010's index of the participants by address is dropped: every query of them names
    the case (the primary key's first column), and the web view's scope probes that key.
    On a log of a million cases each new participant wrote a leaf of it of its own
    (1.4 pages a report in a commit of a few reports)."""
    db.execute("DROP INDEX IF EXISTS idx_participants_address")
    _give_back_pages(db)


def _give_back_pages(db: Database) -> None:
    """The free pages (a dropped index's) back to the file system at once: else the next
    writes take them first, scattered over the file (a burst of 500 reports on a log of
    a million cases, with 35,601 of them free: 0.76 of an empty log's speed, against
    0.89-0.92 in the runs before and after; the retention job gives space back only
    above 1 % of the file). About 8 s for those on a million cases. One page a statement:
    Python's sqlite3 steps ``incremental_vacuum(N)`` once."""
    (free,) = db.execute("PRAGMA freelist_count").fetchone()
    (mode,) = db.execute("PRAGMA auto_vacuum").fetchone()
    for _ in range(free if mode == 2 else 0):  # 2: incremental (m008_incremental_vacuum)
        db.execute("PRAGMA incremental_vacuum(1)")


@migrations()
def m017_i22_undecided_messages(db: Database) -> None:
    """The list of triaged and held messages no administrator has decided yet reads an
    index of those alone: it scanned every message (1 s warm on a log of a million
    cases). m006's index of the messages' direction, mailbox, state and outcome goes:
    the status and the scrape count by tallies since m009 and nothing else reads it,
    while every message wrote to it, on a large log a leaf a commit for each state."""
    db.execute(
        "CREATE INDEX IF NOT EXISTS idx_messages_undecided ON messages (id) "
        "WHERE direction = 'in' AND outcome IN ('triage', 'hold')"
    )
    db.execute("DROP INDEX IF EXISTS idx_messages_direction_mailbox_state_outcome")
    _give_back_pages(db)
