"""While the daemon's pipeline thread runs, the texts it stores go into the search
indexes when it is idle (store/indexing.py ``when_idle``, merging.py), not in the
commits of a burst; past ``BACKLOG`` texts due, every write adds a chunk again."""

from __future__ import annotations

from conftest import make_mail

from gateway import pipeline as pipeline_module
from gateway.intake import accept
from gateway.merging import Merger
from gateway.pipeline import Pipeline
from gateway.render import Renderer
from gateway.settings import Settings
from gateway.store import indexing, open_db, write
from gateway.store.search import search_cases
from gateway.store.web import CaseFilter


def _reports(db, ruleset, words: list[str]) -> None:
    for i, word in enumerate(words):
        subject = f"Melding nummer {i} om kaffemaskinen"
        accept(db, make_mail(subject=subject, body=f"Feil med {word} i dag."), "support", "t")
    Pipeline(db, lambda: ruleset, Renderer("gw@trygghet-agder.example", "GW"),
             Settings()).process_batch()  # fmt: skip


def _found(db, text: str) -> int:
    return len(search_cases(db, CaseFilter(text=text)))


def _due(db) -> int:
    return db.execute("SELECT COUNT(*) FROM texts_due").fetchone()[0]


def test_a_busy_batch_leaves_its_texts_to_the_idle_pipeline_thread(db_path, ruleset):
    db = open_db(db_path)
    words = [f"stjerneskudd{k}" for k in range(3)]
    with indexing.when_idle(db.location):
        _reports(db, ruleset, words)
        assert _due(db) == 3
        assert _found(db, "stjerneskudd1") == 0  # not yet: the burst goes first
        assert _found(db, "kaffemaskinen") == 3  # the subjects are in their index at once
        merger = Merger(db)
        for _ in range(20):  # what the daemon's idle pipeline thread does
            if not merger.step(busy=False):
                break
        assert _due(db) == 0
        assert [_found(db, word) for word in words] == [1, 1, 1]


def test_the_idle_thread_adds_a_few_texts_a_write(db_path, ruleset, monkeypatch):
    """So that the sender's writes, as the last relays of a burst leave, wait little."""
    monkeypatch.setattr(indexing, "IDLE_CHUNK", 2)
    db = open_db(db_path)
    with indexing.when_idle(db.location):
        _reports(db, ruleset, [f"regnbue{k}" for k in range(5)])
        counts = []
        while _due(db):
            with write(db):
                counts.append(indexing.add_idle(db))
    assert counts == [2, 2, 1]


def test_past_the_backlog_every_write_adds_a_chunk(db_path, ruleset, monkeypatch):
    """A load that never lets the pipeline idle is never more than BACKLOG behind."""
    monkeypatch.setattr(indexing, "BACKLOG", 3)
    monkeypatch.setattr(indexing, "DUE_CHUNK", 2)
    monkeypatch.setattr(pipeline_module, "GROUP_SECONDS", 60.0)  # one commit for the batch
    db = open_db(db_path)
    with indexing.when_idle(db.location):
        _reports(db, ruleset, [f"nordlys{k}" for k in range(6)])
        assert _due(db) == 4  # six due at its commit: one chunk of two added
        left = []
        for _ in range(3):
            with write(db):  # any write of the process: the sender's, intake's
                pass
            left.append(_due(db))
        assert left == [2, 2, 2]  # below the backlog: they wait for the idle thread
        assert _found(db, "nordlys0") == 1 and _found(db, "nordlys5") == 0


def test_other_databases_and_processes_index_at_each_write(tmp_path, ruleset):
    """Only the writes to the daemon's own database file wait; once it stops, a write
    adds what it left due."""
    db, other = open_db(tmp_path / "a.db"), open_db(tmp_path / "b.db")
    with indexing.when_idle(db.location):
        _reports(other, ruleset, ["solformørkelse"])
        assert _due(other) == 0 and _found(other, "solformørkelse") == 1
        _reports(db, ruleset, ["måneformørkelse"])
        assert _due(db) == 1
        with indexing.when_idle(db.location):  # a second gateway on the same file
            pass
        with write(db):
            pass
        assert _due(db) == 1  # the first still runs
    with write(db):
        pass
    assert _due(db) == 0 and _found(db, "måneformørkelse") == 1


def test_the_metrics_tell_how_many_texts_wait(db_path, ruleset):
    """An operator sees the search lag behind a burst, and catch up."""
    from gateway.metrics import CaseLogCollector

    def waiting() -> float:
        families = CaseLogCollector(db_path).collect()
        family = next(f for f in families if f.name == "avviksgateway_search_texts_waiting")
        return family.samples[0].value

    db = open_db(db_path)
    with indexing.when_idle(db.location):
        _reports(db, ruleset, ["kometstøv", "meteorsverm"])
        assert waiting() == 2
        assert indexing.texts_waiting(db, most=1) == 1  # counted up to a bound
        with write(db):
            indexing.add_idle(db)
        assert waiting() == 0
