"""The pipeline's speed on the large case log against an empty one (``make bench-scale``).

Both logs get the same reports, and their batches run in turns, one of the large log's
and one of the empty log's, each timed: this machine's speed swings by a third within
minutes, and two bursts one after the other (as before) measured those swings as much
as the log's size. In turns, a swing falls on both logs alike.

The search indexes' merging is counted by what each burst owes of it, not by what
happens to follow it. FTS5 keeps an index as levels of segments and merges 16 of one
level into one of the next: every page a burst's commits write is merged once into each
level above, up to the top one, whenever that comes. A burst that happens to fill a
level pays, if timed so, for the some 350 bursts before it (on the log of a million cases
a level of 230,000 pages, 30 s, charged to one burst of 500 reports, which wrote about
650 pages on level 0 then, about 355 since the texts are indexed once a write). So each
burst is
charged the pages it wrote at level 0 times the levels above them, at the cost of a
merged page that the run measures on its own merges (every step: the merging a log owed
before, the merger's steps during and after the bursts). The merging a burst is seen to
leave is kept in the figures as before (``merge_after_s``), and so is its rate. Pages
are counted as FTS5 writes them, by a TEMP trigger on each index's data table (``Pages``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
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
from gateway.store.checkpoints import Checkpointer
from gateway.store.schema import SEARCH_AUTOMERGE
from gateway.store.segments import levels

BATCH = 50  # messages a batch, as the daemon's pipeline loop claims them


class Pages:
    """The pages each search index writes, counted as FTS5 writes them: a TEMP trigger of
    this connection on each index's ``<name>_data`` (FTS5's own writes fire it) counts
    its leaves and doclist indexes (ids over 10: not the structure and averages)."""

    def __init__(self, db):
        self.db = db
        db.execute("CREATE TEMP TABLE IF NOT EXISTS bench_pages (name TEXT PRIMARY KEY, n INT)")
        for name in merges.INDEXES:
            db.execute("INSERT OR IGNORE INTO temp.bench_pages VALUES (?, 0)", [name])
            db.execute(
                f"CREATE TEMP TRIGGER IF NOT EXISTS bench_pages_{name} AFTER INSERT ON "
                f"main.{name}_data WHEN NEW.id > 10 BEGIN "
                f"UPDATE bench_pages SET n = n + 1 WHERE name = '{name}'; END"
            )

    def now(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT name, n FROM temp.bench_pages").fetchall())

    def since(self, before: dict[str, int]) -> dict[str, int]:
        return {name: n - before[name] for name, n in self.now().items()}


def above(db) -> dict[str, int]:
    """How often a page written on level 0 is merged on its way to each index's top
    level: once into each level above it, the top one included (0: the index has only
    level 0 yet)."""
    return {name: max((k for k, lv in enumerate(levels(db, name)) if lv.segments), default=0)
            for name in merges.INDEXES}  # fmt: skip


@dataclass
class Merging:
    """The merge steps a run timed, and the pages they wrote: their cost per page."""

    seconds: float = 0.0
    pages: int = 0

    def timed(self, counter: Pages, step: Callable[[], bool]) -> bool:
        """``step()`` timed, with the pages it wrote."""
        before, t = counter.now(), time.perf_counter()
        did = step()
        self.seconds += time.perf_counter() - t
        self.pages += sum(counter.since(before).values())
        return did

    @property
    def per_page(self) -> float:
        return self.seconds / self.pages if self.pages else 0.0


def finish_step(db, pages: int) -> bool:
    """A step of about ``pages`` pages towards finishing the merges under way (in the
    caller's write transaction); False when none is, or FTS5 merged nothing. FTS5 goes
    on with a merge under way only when no level below it holds more segments than it
    merges, so those levels are merged first, as many at a time (at most 16: FTS5's
    limit of 'usermerge'): no merge is started on a level above. The daemon's merger
    needs none of this (it merges as FTS5 would, when idle); the benchmark does, so
    that a burst is not timed paying a merge left before it."""
    worked = False
    for name, most in under_way(db).items():
        if most:  # (each index's step, whether or not the other's worked)
            worked = (
                purge_rows.merge_step(db, pages, min(most, SEARCH_AUTOMERGE), (name,)) or worked
            )
    return worked


def under_way(db) -> dict[str, int]:
    """The segments of the merge under way in each search index (0: none). A read."""
    return {name: max((lv.merging for lv in levels(db, name)), default=0)
            for name in merges.INDEXES}  # fmt: skip


class Burst:
    """``n`` reports through the pipeline (in-process) into the case log at ``path``,
    batch by batch (``step``), with the search indexes' merger as the daemon's pipeline
    loop runs it (a step after a batch when a level is far behind); then (``finish``)
    the merging the burst left. What the log owed before (a merge the build or a purge
    left under way, and levels of 16) is merged first, untimed in the burst: it is not
    these reports' work; the merger takes it up when idle. Every merge step is timed
    into ``merging`` (the run's cost of a merged page); the burst's own time is its
    batches', and the pages its commits wrote on level 0 are what it owes."""

    def __init__(
        self, path: Path, ruleset: RuleSet, n: int, tag: str, merging: Merging | None = None
    ):
        self.db, self.n, self.merging = open_db(path), n, merging or Merging()
        # the daemon's: the WAL copied back in a thread of its own (store/checkpoints.py)
        self.checkpointer = Checkpointer(str(Path(path).resolve())).start()
        self.pages = Pages(self.db)
        for raw in small_reports(n, seed=11, tag=f"p{tag}"):
            accept(self.db, raw, "support", "bench-scale")
        renderer = Renderer("gw@trygghet-agder.example", "GW")
        self.pipeline = Pipeline(self.db, lambda: ruleset, renderer, Settings())
        self.merger, t = Merger(self.db), time.perf_counter()
        while self._timed(lambda: finish_step(self.db, 200)):
            pass  # a merge under way: the merger takes it up only once the levels below
        while self.merger.step(busy=False):  # it hold fewer segments, as a burst leaves them
            pass  # (and a pass over the index of terms, if the log owes one: not merging)
        self.owed = time.perf_counter() - t
        self.checkpointer.settle()  # what the setup wrote, untimed
        self.burst = self.busy_merging = self.after = 0.0
        self.level0 = dict.fromkeys(merges.INDEXES, 0)
        self.done = False

    def _timed(self, step: Callable[[], bool]) -> bool:
        def in_write() -> bool:
            with write(self.db):
                return step()

        return self.merging.timed(self.pages, in_write)

    def step(self) -> bool:
        """One batch, timed, and the merger's step after it (timed apart); False once
        none is left."""
        if self.done:
            return False
        before, t = self.pages.now(), time.perf_counter()
        went = self.pipeline.process_batch(BATCH)
        self.checkpointer.settle()  # this batch's checkpoints, charged to it: not the other
        self.burst += time.perf_counter() - t  # log's batch, which runs next
        for name, pages in self.pages.since(before).items():  # its commits' segments
            self.level0[name] += pages  # (and a crisis merge's, if one came: rare)
        if went:
            t = time.perf_counter()
            self.merging.timed(self.pages, lambda: self.merger.step(busy=True))
            self.checkpointer.settle()
            self.busy_merging += time.perf_counter() - t
        self.done = not went
        return not self.done

    def finish(self) -> dict:
        """The merging the burst left, timed; then the burst's figures: ``owed_pages``,
        the pages it owes the merging (level 0's, each times the levels above it)."""
        t = time.perf_counter()
        while merges.owed(self.db):  # merging only (the merger's idle step also makes
            if not self.merging.timed(self.pages, lambda: self.merger.step(busy=False)):
                break  # terms passes)
        self.after = time.perf_counter() - t
        levels_above = above(self.db)
        self.db.close()
        self.checkpointer.stop()
        owed = sum(pages * levels_above[name] for name, pages in self.level0.items())
        seen = self.burst + self.busy_merging + self.after
        return {"burst_s": round(self.burst, 2), "busy_merging_s": round(self.busy_merging, 2),
                "merge_after_s": round(self.after, 2), "owed_before_s": round(self.owed, 2),
                "level0_pages": self.level0, "levels_above": levels_above,
                "owed_pages": owed,
                "rate_as_seen": round(self.n / seen, 1)}  # fmt: skip


def charged(n: int, figures: dict, per_page: float) -> float:
    """Reports/s of a burst charged with the merging it owes, at ``per_page`` s a page."""
    return round(n / (figures["burst_s"] + figures["owed_pages"] * per_page), 1)


def paired(large_path: Path, empty_path: Path, ruleset: RuleSet, n: int, tag: str,
           merging: Merging | None = None) -> dict:  # fmt: skip
    """One round: ``n`` reports into each log, the same but for the tag in their
    Message-IDs, their batches in turns. Rates at this round's cost of a merged page,
    unless the run's is given later (``pipeline_rates``)."""
    merging = merging or Merging()
    large = Burst(large_path, ruleset, n, f"large{tag}", merging)  # tags of one length: the
    small = Burst(empty_path, ruleset, n, f"empty{tag}", merging)  # reports are the same sizes
    first, second = large, small
    while first.step() | second.step():  # both, each time, and each first in turn
        first, second = second, first
    return rated({"n": n, "large_figures": large.finish(), "empty_figures": small.finish()},
                 merging.per_page)  # fmt: skip


def rated(round_: dict, per_page: float) -> dict:
    """A round's rates and ratio, its bursts charged at ``per_page`` s a merged page."""
    n, big, empty = round_["n"], round_["large_figures"], round_["empty_figures"]
    large, small = charged(n, big, per_page), charged(n, empty, per_page)
    return {**round_, "large": large, "empty": small, "ratio": round(large / small, 2),
            "ratio_as_seen": round(big["rate_as_seen"] / empty["rate_as_seen"], 2),
            "merge_ms_per_page": round(per_page * 1e3, 3)}  # fmt: skip


def pipeline_rates(
    big: Path,
    scratch: Path,
    ruleset: RuleSet,
    n: int,
    rounds: int = 3,
    say: Callable[[str], object] = print,
) -> dict:
    """The pipeline on the large log against an empty one (a fresh one each round),
    ``rounds`` times, every burst charged with the merging it owes at the cost of a
    merged page over the whole run. The round with the median ratio is the figure, as
    in ``make bench``; ``rounds`` lists every round, with each log's parts: its
    batches, the merger's steps between them and after them, and its level-0 pages."""
    merging, runs = Merging(), []
    # A round first that is not counted: the large log is a fresh copy of the kept one,
    # and the first reports into a copy ran slower (0.80-0.83 against 0.89-0.99 in the
    # next rounds of the same runs; why is not known); a running gateway's log has
    # taken reports all along.
    warm_up = paired(big, scratch / "empty-warm-up.db", ruleset, n, "w", Merging())
    say(f"pipeline warm-up round (not counted): ratio {warm_up['ratio']}")
    for k in range(rounds):
        runs.append(paired(big, scratch / f"empty-{k}.db", ruleset, n, str(k), merging))
        say(f"pipeline round {k + 1}: {runs[-1]}")
    runs = [rated(r, merging.per_page) for r in runs]
    median = sorted(runs, key=lambda r: r["ratio"])[len(runs) // 2]
    return {**median, "rounds": runs, "merged_pages": merging.pages,
            "merging_s": round(merging.seconds, 1), "warm_up_ratio": warm_up["ratio"]}  # fmt: skip
