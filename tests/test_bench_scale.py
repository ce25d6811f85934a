"""The ten-years benchmark (bench/scale.py) runs: a small case log built from the
gateway's own cases, every measure taken. No timing is asserted."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

from conftest import ROOT


def test_a_small_long_case_log_is_built_and_measured(tmp_path):
    output = tmp_path / "scale.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench.scale", "--cases", "600", "--seed-reports", "30",
         "--pipeline", "10", "--folder", str(tmp_path), "--output", str(output)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = json.loads(output.read_text())
    assert result["cases"] >= 600
    db = sqlite3.connect(next(tmp_path.glob("caselog-*.db")))
    first, last = db.execute("SELECT MIN(received_at), MAX(received_at) FROM cases").fetchone()
    assert int(last[:4]) - int(first[:4]) >= 9  # spread over ten years
    raw_from = db.execute(
        "SELECT MIN(m.received_at) FROM raw_messages r JOIN messages m ON m.id = r.id"
    ).fetchone()[0]
    assert int(last[:4]) - int(raw_from[:4]) <= 1  # raw bytes of the last year only
    assert set(result["reads"]) == {"scrape_ms", "scrape_waiting_ms", "status_ms",
                                    "status_command_ms", "cases_list_ms", "cases_search_ms",
                                    "case_show_ms", "stats_year_s", "stats_ten_years_s",
                                    "stats_first_run_ten_years_s"}  # fmt: skip
    assert {"probe", "longest_write_ms", "job_s", "file_shrinks"} <= set(result["met"])
    assert set(result["jobs"]["seconds"]) >= {"review-digest", "retention", "monthly-report"}
    assert result["purge_year"]["cases"] > 0  # the oldest year was there to purge
    assert "cases" in result["purge_year"]["longest_by_kind_ms"]  # each write named
    # the retention job meets one usual day, not the nine years the build keeps
    assert result["jobs"]["retention_cases"] < result["purge_year"]["cases"]
    assert result["pipeline"]["large"] > 0 and result["pipeline"]["empty"] > 0
    rounds = result["pipeline"]["rounds"]  # alternated, and the figure is the median round
    assert len(rounds) == 3 and result["pipeline"]["ratio"] == sorted(
        r["ratio"] for r in rounds)[1]  # fmt: skip
    assert (
        result["web"]["case_list_admin_p95_ms"] > 0 and result["web"]["case_page_party_p95_ms"] > 0
    )


def test_a_write_is_timed_from_when_it_holds_the_lock(tmp_path):
    """The benchmark's write clock counts a write from the return of BEGIN IMMEDIATE:
    the time it waited for another writer's lock (SQLite's busy handler sleeping between
    tries) is kept apart, as it held nothing meanwhile."""
    import threading

    from bench.scale_clock import WriteClock
    from gateway.store import open_db, write

    db = open_db(tmp_path / "log.db")
    clock = WriteClock(db)
    other = sqlite3.connect(tmp_path / "log.db", isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.5, lambda: other.execute("COMMIT"))
    release.start()
    with write(db):
        db.execute("INSERT INTO mailboxes (name, last_uid) VALUES ('support', 1)")
    release.join()
    assert len(clock.lengths) == len(clock.waits) == 1
    assert clock.waits[0] >= 400 and clock.lengths[0] < clock.waits[0]


INCOMING = ("SELECT COUNT(*), SUM(LENGTH(r.raw)) FROM messages m "
            "JOIN raw_messages r ON r.id = m.id WHERE m.direction = 'in'")  # fmt: skip


def test_a_round_decides_the_same_reports_in_both_logs_batch_by_batch(tmp_path):
    """The large log's and the empty log's batches run in turns (bench/scale_pipeline.py),
    so that the machine's swings fall on both: each log gets the same reports, every one
    decided."""
    from bench.scale_pipeline import BATCH, Burst, paired
    from gateway.health import status
    from gateway.rules.loader import load_rules
    from gateway.store import open_db

    ruleset = load_rules(ROOT / "rules.yaml")
    n = 2 * BATCH + 7
    one, other = (Burst(tmp_path / "one.db", ruleset, n, "one"),
                  Burst(tmp_path / "two.db", ruleset, n, "two"))  # fmt: skip
    turns = []
    while (went := (one.step(), other.step())) != (False, False):
        turns.append(went)
    assert turns == [(True, True)] * 3  # three batches each, one of each in turn
    assert one.finish()["burst_s"] > 0 and other.finish()["burst_s"] > 0

    figures = paired(tmp_path / "large.db", tmp_path / "empty.db", ruleset, n, "0")
    assert figures["large"] > 0 and figures["empty"] > 0
    got = []
    for name in ("one.db", "two.db", "large.db", "empty.db"):
        db = open_db(tmp_path / name)
        assert status(db)["waiting"] == 0
        got.append(db.execute(INCOMING).fetchone())
        db.close()
    assert got[0][0] == got[2][0] == n  # every report, decided
    assert got[0] == got[1] and got[2] == got[3]  # the same bytes in both logs of a round


def test_the_pages_a_search_index_writes_are_counted_as_fts5_writes_them(tmp_path):
    """What a burst owes is counted in pages: those its commits write on level 0, and
    those the merge steps write, each as many as the segments FTS5 records."""
    from bench.scale_pipeline import Pages, above
    from gateway.store import open_db, write
    from gateway.store import retention as rows
    from gateway.store.segments import levels

    db = open_db(tmp_path / "log.db")
    db.execute("INSERT INTO case_words (case_words, rank) VALUES ('automerge', 0)")
    counter = Pages(db)
    before = counter.now()
    for k in range(5):
        with write(db):
            words = " ".join(f"ord{k}x{w}" for w in range(3000))
            db.execute("INSERT INTO case_words (rowid, body) VALUES (?, ?)", [k + 1, words])
    level0 = sum(seg.pages for seg in levels(db, "case_words")[0].segments)
    assert counter.since(before) == {"case_words": level0, "case_titles": 0} and level0 >= 5
    assert above(db) == {"case_words": 0, "case_titles": 0}
    before = counter.now()
    with write(db):
        rows.merge_step(db, 10_000, 5, ("case_words",))
    (merged,) = levels(db, "case_words")[1].segments
    assert counter.since(before)["case_words"] == merged.pages
    assert above(db) == {"case_words": 1, "case_titles": 0}


def test_a_round_charges_each_burst_at_the_runs_cost_of_a_merged_page(tmp_path):
    from bench.scale_pipeline import BATCH, charged, paired, rated
    from gateway.rules.loader import load_rules
    from gateway.store import open_db, write
    from gateway.store import retention as rows

    db = open_db(tmp_path / "large.db")  # the large log: a level 1 already, of segments
    for k in range(3):  # bigger than a commit's (else FTS5 moves them down to level 0)
        with write(db):
            words = " ".join(f"gammel{k}x{w}" for w in range(20_000))
            db.execute("INSERT INTO case_words (rowid, body) VALUES (?, ?)", [k + 1, words])
    with write(db):
        rows.merge_step(db, 1000, 2, ("case_words",))
    db.close()
    ruleset = load_rules(ROOT / "rules.yaml")
    n = 4 * BATCH
    got = paired(tmp_path / "large.db", tmp_path / "empty.db", ruleset, n, "0")
    for side in ("large_figures", "empty_figures"):
        figures = got[side]
        assert figures["level0_pages"]["case_words"] > 0  # the texts' index was written
        levels = figures["levels_above"]
        assert figures["owed_pages"] == sum(
            pages * levels[name] for name, pages in figures["level0_pages"].items()
        )
    large = got["large_figures"]
    assert large["levels_above"]["case_words"] >= 1
    assert large["owed_pages"] >= large["level0_pages"]["case_words"] > 0  # a level above it
    dearer = rated(got, 0.01)  # 10 ms a merged page
    assert dearer["large"] == charged(n, got["large_figures"], 0.01)
    assert dearer["large"] < rated(got, 0.0)["large"]


def test_the_built_log_owes_no_indexing(tmp_path, monkeypatch):
    """The copies the build makes in SQL are indexed as they are made: a pipeline timed
    on the log does not pay for the build's texts."""
    from bench.scale_build import multiply
    from gateway.store import indexing, open_db
    from gateway.store.search import search_cases
    from gateway.store.web import CaseFilter

    monkeypatch.setattr(indexing, "DUE_CHUNK", 5)  # a copy's 30 texts: more than a write adds
    seed = open_db(tmp_path / "seed.db")
    for k in range(30):
        case = seed.execute("INSERT INTO cases (reference, subject, received_at) VALUES "
                            "(?, 'Alarm', '2026-01-01T10:00:00+00:00')", [f"R-{k}"])  # fmt: skip
        seed.execute(
            "INSERT INTO messages (direction, state, case_id, new_text, received_at) "
            "VALUES ('in', 'done', ?, ?, '2026-01-01T10:00:00+00:00')",
            [case.lastrowid, f"komet{k}hale " * 50],
        )
    seed.conn.commit()
    seed.close()
    multiply(tmp_path / "big.db", tmp_path / "seed.db", 600, years=2)
    big = open_db(tmp_path / "big.db")
    assert not indexing.owed(big)
    assert len(search_cases(big, CaseFilter(text="komet7hale"), limit=100)) == 20  # 20 copies
