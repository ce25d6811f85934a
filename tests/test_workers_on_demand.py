"""Pipeline workers on demand (gateway/workers.py, ``OnDemand``): none for a trickle or a
big message, started by a backlog without holding up the pipeline thread, stopped when
idle, and no process beside them (no multiprocessing resource tracker)."""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from pathlib import Path

import pytest
from conftest import EXAMPLES, make_mail
from servers import free_port
from test_crash import send
from test_end_to_end import settings_toml
from test_workers import Counting, case_log, mix, pipeline_for, settings_for
from worker_tasks import KILL, dies_or_hangs

import gateway.pipeline
from bench import procs
from gateway.intake import accept
from gateway.pipeline import Pipeline
from gateway.prepare import Prepared, load_keyed
from gateway.render import Renderer
from gateway.settings import Settings
from gateway.store import clock, open_db
from gateway.workers import OnDemand, Workers

DIED = "a pipeline worker process died preparing it, twice"


def new_children(before: set[int], pid: int | None = None) -> list[int]:
    """Processes under ``pid`` (this one) that were not there ``before``."""
    return [p for p in procs.descendants(pid or os.getpid()) if p not in before]


def wait_until(condition, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.05)


class Bench:
    """One pipeline with on-demand workers (started at 5 messages, idle after 0.3 s)."""

    def __init__(self, settings: Settings, **kwargs):
        self.db = open_db(settings.database_path)
        ruleset, key = load_keyed(settings.rules_file)
        on_demand = OnDemand(start_at=5, idle_seconds=0.3)
        self.workers = Counting(1, settings, key_of=lambda r: key, on_demand=on_demand, **kwargs)
        renderer = Renderer(settings.gateway_address, settings.gateway_name)
        self.pipeline = Pipeline(self.db, lambda: ruleset, renderer, settings, self.workers)

    def take(self, n: int, subject: str = "Alarm", first: bytes = b"") -> int:
        """``n`` reports stored at once (the first with a header ``first``), then one
        batch; how many it handled."""
        for i in range(n):
            raw = make_mail(subject=f"{subject} {i}")
            accept(self.db, first + b"\r\n" + raw if first and not i else raw, "support", "test")
        return self.pipeline.process_batch(50)


def test_a_trickle_starts_no_worker_a_burst_does_and_idle_it_stops(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="gateway.pipeline")
    before = set(procs.descendants(os.getpid()))
    bench = Bench(settings_for(tmp_path, "trickle"))
    try:
        for _ in range(6):  # one report at a time, and two together: the thread alone
            assert bench.take(1) == 1
        assert bench.take(2) == 2 and bench.take(4) == 4
        assert new_children(before) == [] and "starting" not in caplog.text
        assert all(p is None for p in bench.workers.seen)
        assert bench.take(12, "Skred") == 12  # a burst: a worker starts, the thread goes on
        assert "starting 1 pipeline worker(s): 12 messages waiting" in caplog.text
        (worker,) = new_children(before)
        wait_until(lambda: bench.workers.running == 1)
        # the tree: this process and its one worker, nothing beside it (a resource tracker)
        assert new_children(before) == [worker] and procs.name(worker) == "avvik-prepare"
        assert f"pipeline worker {worker} ready" in caplog.text
        bench.workers.seen.clear()
        assert bench.take(12, "Brann") == 12
        assert any(isinstance(p, Prepared) for p in bench.workers.seen)
        assert bench.pipeline.process_batch() == 0  # idle, not for long enough yet
        assert new_children(before) == [worker]
        time.sleep(0.4)
        assert bench.pipeline.process_batch() == 0  # idle for longer: stopped
        assert new_children(before) == [] and bench.workers.running == 0
        assert f"pipeline worker {worker} stopped: idle for" in caplog.text
    finally:
        bench.workers.close()
    assert bench.db["cases"].count == 6 + 2 + 4 + 12 + 12
    assert bench.db["messages"].count_where("direction = 'in' AND state = 'done'") == 36


def test_a_worker_started_on_demand_that_a_message_kills_is_replaced(tmp_path):
    before = set(procs.descendants(os.getpid()))
    bench = Bench(settings_for(tmp_path, "kill"), timeout=3, task=dies_or_hangs)
    try:
        assert bench.take(6) == 6
        wait_until(lambda: bench.workers.running == 1)
        (first,) = new_children(before)
        assert bench.take(6, "Etter", first=KILL) == 6
        # it died on the killer, and the fresh one that took it alone died too: none left
        assert new_children(before) == [] and bench.workers.running == 0
        assert not Path(f"/proc/{first}").exists()
    finally:
        bench.workers.close()
    killer = bench.db["messages"].count_where("state = 'quarantined' AND reason = ?", [DIED])
    assert killer == 1 and bench.db["cases"].count == 11


def test_big_messages_start_no_worker(tmp_path, monkeypatch):
    """Messages over PREPARE_MAX_BYTES stay in the thread, so a backlog of them too."""
    monkeypatch.setattr(gateway.pipeline, "PREPARE_MAX_BYTES", 100)
    before = set(procs.descendants(os.getpid()))
    bench = Bench(settings_for(tmp_path, "big"))
    try:
        assert bench.take(12) == 12
        assert new_children(before) == [] and bench.workers.running == 0
    finally:
        bench.workers.close()


def staged(settings: Settings, raws: list, workers: Workers | None):
    """Three messages stored and decided (with workers: starting one), then the rest,
    once the worker is ready; the case log."""
    db, pipeline = pipeline_for(settings, workers)
    for raw, mailbox in raws[:3]:
        accept(db, raw, mailbox, "test")
    assert pipeline.process_batch(10) == 3
    if workers is not None:
        wait_until(lambda: workers.running == 1)
    for raw, mailbox in raws[3:]:
        accept(db, raw, mailbox, "test")
    while pipeline.process_batch(10):
        pass
    return case_log(db)


@pytest.mark.skipif(not EXAMPLES.exists(), reason="examples not beside the repo")
def test_the_case_log_is_the_same_with_workers_on_demand(tmp_path):
    """The first messages in the thread while a worker starts, the rest in the worker."""
    raws = mix()
    # one moment for both runs: a relay and a receipt show their minute, and the runs
    # take seconds (they differed when a minute began between them)
    with clock.fixed(dt.datetime.now(dt.UTC)):
        alone = staged(settings_for(tmp_path, "alone"), raws, None)
        settings = settings_for(tmp_path, "workers")
        workers = Counting(1, settings, key_of=lambda r: None, on_demand=OnDemand(start_at=2))
        try:
            together = staged(settings, raws, workers)
        finally:
            workers.close()
    assert together == alone
    assert workers.seen[:3] == [None] * 3
    assert sum(isinstance(p, Prepared) for p in workers.seen) == len(raws) - 3


def test_the_gateway_starts_workers_for_a_backlog_only(
    smtp_sink, gateway_process, monkeypatch, tmp_path
):
    """``gateway serve`` with pipeline_workers = 3: one report starts no process; a
    backlog (stored while it was stopped) starts two workers, and the gateway's process
    tree is itself and those two, nothing else."""
    monkeypatch.delenv("AVVIK_FAULT", raising=False)
    port = free_port()
    data = tmp_path / "var"
    gateway = gateway_process("pipeline_workers = 3\n" + settings_toml(data, port, smtp_sink.port))
    gateway.start()
    assert send(port, make_mail(subject="Ett avvik"))
    smtp_sink.wait_for(2, timeout=15)
    assert procs.descendants(gateway.proc.pid) == []
    assert gateway.stop() == 0
    db = open_db(Path(data) / "gateway.db")
    for i in range(30):
        accept(db, make_mail(subject=f"Avvik {i}"), "support", "test")
    db.close()
    gateway.start()
    wait_until(lambda: gateway.log.read_text().count("pipeline worker") >= 3, timeout=30)
    log = gateway.log.read_text()
    assert "starting 2 pipeline worker(s): 30 messages waiting" in log
    workers = procs.descendants(gateway.proc.pid)
    assert len(workers) == 2 and {procs.name(p) for p in workers} == {"avvik-prepare"}
    smtp_sink.wait_for(2 + 60, timeout=30)
    assert gateway.stop() == 0
    assert not [p for p in workers if Path(f"/proc/{p}").exists()]
