"""The pipeline's speed on the large case log against an empty one (``make bench-scale``).

Both logs get the same reports, and their batches run in turns, one of the large log's
and one of the empty log's, each timed: this machine's speed swings by a third within
minutes, and two bursts one after the other (as before) measured those swings as much
as the log's size. In turns, a swing falls on both logs alike.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from bench.reports import small_reports
from gateway.intake import accept
from gateway.merging import Merger
from gateway.pipeline import Pipeline
from gateway.render import Renderer
from gateway.rules.base import RuleSet
from gateway.settings import Settings
from gateway.store import merges, open_db, write
from gateway.store import retention as purge_rows
from gateway.store.segments import levels

BATCH = 50  # messages a batch, as the daemon's pipeline loop claims them


def under_way(db) -> dict[str, int]:
    """The segments of the merge under way in each search index (0: none). A read."""
    return {name: max((lv.merging for lv in levels(db, name)), default=0)
            for name in merges.INDEXES}  # fmt: skip


def finish_step(db, pages: int) -> bool:
    """A step of about ``pages`` pages towards finishing the merges under way (in the
    caller's write transaction); False when none is. FTS5 goes on with a merge under way
    only when no level below it holds more segments than it merges, so those levels
    are merged first, as many at a time: no merge is started on a level above. The
    daemon's merger needs none of this (it merges as FTS5 would, when idle); the
    benchmark does, so that a burst is not timed paying a merge left before it."""
    busy = {name: most for name, most in under_way(db).items() if most}
    for name, most in busy.items():
        purge_rows.merge_step(db, pages, most, (name,))
    return bool(busy)


class Burst:
    """``n`` reports through the pipeline (in-process) into the case log at ``path``,
    batch by batch (``step``), with the search indexes' merger as the daemon's pipeline
    loop runs it (a step after a batch when a level is far behind); then (``finish``)
    the merging the burst left, counted in: that work was the commits' before, so the
    rate holds it. What the log owed before (a merge the build or a purge left under
    way, and levels of 16) is merged first, untimed: it is not these reports' work; the
    merger takes it up when idle."""

    def __init__(self, path: Path, ruleset: RuleSet, n: int, tag: str):
        self.db, self.n = open_db(path), n
        for raw in small_reports(n, seed=11, tag=f"p{tag}"):
            accept(self.db, raw, "support", "bench-scale")
        renderer = Renderer("gw@trygghet-agder.example", "GW")
        self.pipeline = Pipeline(self.db, lambda: ruleset, renderer, Settings())
        self.merger, t = Merger(self.db), time.perf_counter()
        while True:  # a merge under way: the merger takes it up only once the levels
            with write(self.db):  # below it hold fewer segments, as a burst leaves them
                if not finish_step(self.db, 200):
                    break
        while self.merger.step(busy=False):
            pass
        self.owed = time.perf_counter() - t
        self.burst = self.after = 0.0
        self.done = False

    def step(self) -> bool:
        """One batch and the merger's step after it, timed; False once none is left."""
        if self.done:
            return False
        t = time.perf_counter()
        if self.pipeline.process_batch(BATCH):
            self.merger.step(busy=True)
        else:
            self.done = True
        self.burst += time.perf_counter() - t
        return not self.done

    def finish(self) -> dict:
        """The merging the burst left, timed; then the burst's figures."""
        t = time.perf_counter()
        while self.merger.step(busy=False):
            pass
        self.after = time.perf_counter() - t
        self.db.close()
        return {"rate": round(self.n / (self.burst + self.after), 1),
                "burst_s": round(self.burst, 2), "merge_after_s": round(self.after, 2),
                "owed_before_s": round(self.owed, 2)}  # fmt: skip


def paired(large_path: Path, empty_path: Path, ruleset: RuleSet, n: int, tag: str) -> dict:
    """One round: ``n`` reports into each log, the same but for the tag in their
    Message-IDs, their batches in turns."""
    large = Burst(large_path, ruleset, n, f"large{tag}")  # tags of one length: the
    small = Burst(empty_path, ruleset, n, f"empty{tag}")  # reports are the same sizes
    first, second = large, small
    while first.step() | second.step():  # both, each time, and each first in turn
        first, second = second, first
    big, empty = large.finish(), small.finish()
    return {"large": big["rate"], "empty": empty["rate"],
            "ratio": round(big["rate"] / empty["rate"], 2),
            "large_parts_s": [big["burst_s"], big["merge_after_s"]],
            "empty_parts_s": [empty["burst_s"], empty["merge_after_s"]],
            "large_owed_before_s": big["owed_before_s"]}  # fmt: skip


def pipeline_rates(
    big: Path,
    scratch: Path,
    ruleset: RuleSet,
    n: int,
    rounds: int = 3,
    say: Callable[[str], object] = print,
) -> dict:
    """The pipeline on the large log against an empty one (a fresh one each round),
    ``rounds`` times. The round with the median ratio is the figure, as in ``make
    bench``; ``rounds`` lists every round, with each log's seconds of its batches and
    of the merging after them."""
    runs = []
    for k in range(rounds):
        runs.append(paired(big, scratch / f"empty-{k}.db", ruleset, n, str(k)))
        say(f"pipeline round {k + 1}: {runs[-1]}")
    median = sorted(runs, key=lambda r: r["ratio"])[len(runs) // 2]
    return {**median, "rounds": runs}
