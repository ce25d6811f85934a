"""The pipeline's commits leave the search indexes' merging to the merger (store/merges.py,
gateway/merging.py): on a log of a million cases that merging was a third of what the
pipeline's commits wrote. The merger merges in steps of its own, 16 segments at a time;
a sustained load still gets its merges done, and a search still finds every text."""

from __future__ import annotations

import pytest
from conftest import make_mail
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.scale_pipeline import finish_step, under_way
from gateway import pipeline as pipeline_module
from gateway.intake import accept
from gateway.merging import Merger
from gateway.pipeline import Pipeline
from gateway.render import Renderer
from gateway.settings import Settings
from gateway.store import insert, merges, open_db, segments, write
from gateway.store.schema import SEARCH_AUTOMERGE, SEARCH_CRISISMERGE
from gateway.store.search import search_cases
from gateway.store.web import CaseFilter


def setting(db, name: str, key: str = "automerge") -> int | None:
    found = db.execute(f"SELECT v FROM {name}_config WHERE k = ?", [key]).fetchone()
    return None if found is None else found[0]


def counts(db, name: str = "case_words") -> list[int]:
    return [len(level.segments) for level in segments.levels(db, name)]


def owing(db, segments_: int) -> None:
    """``segments_`` level-0 segments in each search index, written without merging, as
    a log with merging owed has them."""
    for name in merges.INDEXES:
        db.execute(f"INSERT INTO {name} ({name}, rank) VALUES ('automerge', 0)")
    for n in range(segments_):
        with write(db):
            case = insert(db, "cases", {"reference": f"AVVIK-2020-{n:04d}", "subject": "eldre"})
            insert(db, "messages", {"direction": "in", "case_id": case,
                                    "new_text": f"eldre tekst {n}"})  # fmt: skip
    for name in merges.INDEXES:
        db.execute(f"INSERT INTO {name} ({name}, rank) VALUES ('automerge', ?)", [SEARCH_AUTOMERGE])


@pytest.fixture
def log(tmp_path, ruleset):
    db = open_db(tmp_path / "log.db")
    renderer = Renderer("avviksgateway@trygghet-agder.example", "Avviksgatewayen")
    db.pipeline = Pipeline(db, lambda: ruleset, renderer, Settings())
    yield db
    db.close()


def big(n: int) -> bytes:
    """A report whose text fills several pages of the index (a unit of merging work is
    64 pages written)."""
    words = " ".join(f"ord{n}x{k}" for k in range(4000))
    return make_mail(subject=f"Trygghetsalarm {n} uten kontakt", body=f"Hei,\n\n{words}\n")


def test_the_pipelines_commits_leave_merging_to_the_merger(log, monkeypatch):
    monkeypatch.setattr(pipeline_module, "GROUP_SECONDS", 0.0)  # a commit per report
    owing(log, 19)
    for n in range(12):
        accept(log, big(n), "support", "test")
    assert log.pipeline.process_batch() == 12
    assert counts(log)[0] == 19 + 12  # nothing merged, at any commit
    assert merges.owed(log) == 19 + 12 < merges.BEHIND
    # the settings stored are as they were: other writers still merge at their commits
    assert [setting(log, name) for name in merges.INDEXES] == [SEARCH_AUTOMERGE] * 2
    merger = Merger(log)
    assert not merger.step(busy=True)  # 31 segments: not yet far behind
    assert merges.read_ahead(log, 10) >= 31  # a leaf of each segment, at least
    while merger.step(busy=False):
        pass
    assert merges.owed(log) == 0 and merges.read_ahead(log, 10) == 0
    assert all(count < SEARCH_AUTOMERGE for name in merges.INDEXES for count in counts(log, name))
    assert [setting(log, name, "usermerge") for name in merges.INDEXES] in ([None] * 2, [4] * 2)
    for n in (0, 11):  # the search still finds the texts, old and new
        found = search_cases(log, CaseFilter(text=f"ord{n}x7"))
        assert [case.subject for case in found] == [f"Trygghetsalarm {n} uten kontakt"]
    assert len(search_cases(log, CaseFilter(text="eldre"))) == 19


def test_the_texts_due_go_in_while_merging_is_held(log, monkeypatch):
    """The texts are put into the indexes at the end of the group (store/indexing.py),
    and that must be before merging is let go: put in after it, their commits merged
    (40 reports of many pages each left level 0 of the texts' index at 14 segments and
    level 1 at 2, not 59)."""
    monkeypatch.setattr(pipeline_module, "GROUP_SECONDS", 0.0)  # a commit per report
    owing(log, 19)
    for n in range(40):
        accept(log, big(n), "support", "test")
    assert log.pipeline.process_batch() == 40
    assert counts(log) == [59] and counts(log, "case_titles") == [59]


def test_a_purges_hold_on_merging_is_kept_and_nobody_sees_the_pipelines(log, tmp_path):
    other = open_db(tmp_path / "log.db")
    seen = []
    release = merges.release

    def spying(db, held):
        seen.append([setting(other, name) for name in merges.INDEXES])
        seen.append([setting(db, name) for name in merges.INDEXES])
        release(db, held)

    merges.release = spying
    try:
        accept(log, make_mail(), "support", "test")
        assert log.pipeline.process_batch() == 1
        assert seen == [[SEARCH_AUTOMERGE] * 2, [0, 0]]  # the other connection: as stored
        for name in merges.INDEXES:  # a purge under way holds merging (merge_at_commit)
            log.execute(f"INSERT INTO {name} ({name}, rank) VALUES ('automerge', 0)")
        accept(log, make_mail(subject="Nytt avvik"), "support", "test")
        assert log.pipeline.process_batch() == 1
        assert [setting(log, name) for name in merges.INDEXES] == [0, 0]
    finally:
        merges.release = release
    other.close()


def test_a_group_rolled_back_leaves_the_settings_as_stored(log):
    group = merges.QuietWriteGroup(log, 60.0)
    with pytest.raises(RuntimeError), group.unit():
        raise RuntimeError("disk full")
    assert not log.conn.in_transaction
    assert [setting(log, name) for name in merges.INDEXES] == [SEARCH_AUTOMERGE] * 2


def test_a_sustained_load_still_gets_its_merges_done(log):
    """No idle time at all: one report a batch, and the merger's step after each. No
    level grows far past ``BEHIND`` segments, and none ever needs FTS5's crisis merge."""
    merger, most, merged = Merger(log), 0, 0
    for n in range(3 * merges.BEHIND):
        accept(log, make_mail(subject=f"Avvik {n}", body=f"Tekst nummer t{n}z om alarmen"),
               "support", "test")  # fmt: skip
        assert log.pipeline.process_batch() == 1
        merged += merger.step(busy=True)
        most = max(most, *counts(log), *counts(log, "case_titles"))
    assert merged and most <= merges.BEHIND + 4 < SEARCH_CRISISMERGE
    found = search_cases(log, CaseFilter(text="t7z"))
    assert [case.subject for case in found] == ["Avvik 7"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(1, 6), st.sampled_from(["none", "busy", "idle"])),
                min_size=1, max_size=40))  # fmt: skip
def test_any_run_of_writes_and_merge_steps_keeps_every_text_findable(plan):
    """Texts written in quiet groups of any size, merge steps of either kind between them:
    the index answers for every text, and no level outgrows the crisis merge."""
    db = open_db(None)
    merger, written = Merger(db), 0
    for size, step in plan:
        with merges.QuietWriteGroup(db, 60.0) as group:
            for _ in range(size):
                with group.unit():
                    case = insert(db, "cases", {"reference": f"R-{written}", "subject": "s"})
                    insert(db, "messages", {"direction": "in", "case_id": case,
                                            "new_text": f"felles w{written}"})  # fmt: skip
                written += 1
        if step != "none":  # a step merges exactly when one is owed, as FTS5 picks
            busy = step == "busy"
            while owing := merges.owed(db) >= (merges.BEHIND if busy else 1):
                assert merger.step(busy=busy) == owing
            assert not merger.step(busy=busy)
        assert max(counts(db)) < SEARCH_CRISISMERGE
    hits = db.execute("SELECT COUNT(*) FROM case_words WHERE case_words MATCH 'felles'")
    assert hits.fetchone()[0] == written
    for n in {0, written // 2, written - 1}:
        rows = db.execute(f"SELECT rowid >> 32 FROM case_words WHERE case_words MATCH 'w{n}'")
        assert [r[0] for r in rows] == [n + 1]
    db.close()


def test_an_idle_gateway_merges_what_is_owed(tmp_path):
    """``gateway serve`` with nothing to decide: its pipeline thread merges (daemon.py)."""
    import time

    from web_helpers import rules_with

    from gateway.daemon import Gateway

    settings = Settings(data_dir=tmp_path, rules_file=rules_with(tmp_path), smtp_intake_port=None)
    db = open_db(settings.database_path)
    owing(db, 20)
    assert merges.owed(db) == 20
    gateway = Gateway(settings)
    gateway.start()
    try:
        deadline = time.monotonic() + 30  # a bound, not a timing: it merges at once
        while merges.owed(db) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        gateway.shutdown()
    assert merges.owed(db) == 0
    assert len(search_cases(db, CaseFilter(text="eldre"))) == 20
    db.close()


def _segments_of_words(db, n: int, start: int) -> None:
    """``n`` level-0 segments of case_words, each a text of several pages."""
    for k in range(start, start + n):
        with write(db):
            words = " ".join(f"ord{k}x{w}" for w in range(3000))
            db.execute("INSERT INTO case_words (rowid, body) VALUES (?, ?)", [(k << 32) + 1, words])


def test_a_merge_under_way_is_finished_without_starting_one_above(fresh_db):
    """What the large log's benchmark merges before its burst (bench/scale.py): a merge
    of level 1 left under way, behind a level 0 that holds more segments than it merges,
    which FTS5 takes first (and the merger leaves until it holds 16)."""
    db = fresh_db
    db.execute("INSERT INTO case_words (case_words, rank) VALUES ('automerge', 0)")
    for round_ in range(4):  # four segments on level 1
        _segments_of_words(db, 5, 10 * round_)
        with write(db):
            merges.retention.merge_step(db, 10_000, 5, ("case_words",))
    assert counts(db) == [0, 4]
    with write(db):  # a step of one page starts the merge of level 1, and leaves it
        merges.retention.merge_step(db, 1, 4, ("case_words",))
    _segments_of_words(db, 6, 100)
    assert under_way(db) == {"case_words": 4, "case_titles": 0}
    assert merges.owed(db) == 0  # 6 segments on level 0, and FTS5 would take them first
    steps = 0
    for _ in range(1000):  # a bound: a step that merges nothing must end the loop
        with write(db):
            if not finish_step(db, 50):
                break
        steps += 1
    assert steps >= 2 and under_way(db) == {"case_words": 0, "case_titles": 0}
    assert counts(db) == [0, 1, 1]  # level 0 merged, level 1's four into one on level 2
    found = db.execute("SELECT COUNT(*) FROM case_words WHERE case_words MATCH 'ord105x7'")
    assert found.fetchone()[0] == 1


def test_a_merge_under_way_of_more_than_16_segments_is_finished(fresh_db):
    """A busy pipeline lets a level grow to 32 segments before the merger steps in, and
    that step starts a merge of all of them: finishing it may not ask FTS5 for a
    'usermerge' over 16, which it refuses ('SQL logic error')."""
    db = fresh_db
    db.execute("INSERT INTO case_words (case_words, rank) VALUES ('automerge', 0)")
    _segments_of_words(db, 20, 0)
    with write(db):  # one page: the merge of all 20 is started, and left under way
        merges.retention.merge_step(db, 1, SEARCH_AUTOMERGE, ("case_words",))
    assert under_way(db) == {"case_words": 20, "case_titles": 0}
    for _ in range(1000):
        with write(db):
            if not finish_step(db, 50):
                break
    assert counts(db) == [0, 1]
