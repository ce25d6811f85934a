"""The case log's migrations from m012 to m017_i22_stats_months: the search indexes in
case order, the deviation record's fields, helpdesk tickets, confidential reporters,
the statistics' narrow copy of the cases, their hours and kept months (``schema.py``).
"""

from __future__ import annotations

from sqlite_utils import Database

from gateway.store.schema_base import SEARCH_AUTOMERGE, SEARCH_CRISISMERGE, migrations


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
