"""Run each follow-up job once per due time, recorded in ``job_runs``.

A run is claimed, done and recorded in one short write transaction: inserting
``(job, due_at)`` fails for a second gateway on the same database (it waits for the
first one's transaction, then sees the row), and a crash in the middle rolls the claim
back with the mail it queued, so the run is made up at the next start. After a stop,
only the latest due time within ``catch_up_hours`` is made up: once, not once per
missed time. ``tick(now)`` runs whatever is due at ``now``, the due times coming from
each job's trigger (an APScheduler trigger on the service-hours calendar). In
``gateway serve`` APScheduler calls it every minute, and once at start to catch up;
``gateway jobs`` and the tests call it with a clock of their own.

No job computes inside that transaction: a job's ``prepare`` reads and renders before
it, and its ``after`` writes the rest (notes on each case) in short transactions after
it, so that intake never waits behind a job (a crash before ``after`` is done loses
notes only, never the run or its mail).

A job with many mails (the reminders: 262 a day at a million cases held the claim's
one write 66-142 ms) writes them before the claim instead (``ahead``), a few to a
short transaction. Each mail is written with its mark on the case and checked against
it, so that a crash between two of these transactions, made up at the next start, or
a second gateway on the same due time, sends each exactly once; the claim then records
the run. Before each of its writes a job checkpoints the write-ahead log, so that no
write of a job pays for SQLite's own checkpoint of what others wrote.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import logging
import socket
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict

from gateway.followup.context import Job, JobContext, Piece
from gateway.followup.jobs import registry
from gateway.rules.base import RuleSet
from gateway.scheduler.config import JOBS, trigger
from gateway.store import jobs as runs
from gateway.store import write
from gateway.store.db import Database, is_locked
from gateway.store.jobs import JobRun

# Jobs that write in short transactions of their own, safe to run again: not run inside
# the scheduler's claim (a year's purge would hold the database for a minute).
SELF_WRITING = frozenset({"retention"})
# A job's pieces written ahead of its claim (``ahead``) go this long to a transaction.
WRITE_S = 0.025
log = logging.getLogger("gateway.scheduler")
FIRST_START = "first start: nothing before is made up"
__all__ = ["Job", "JobContext", "Runner", "Scheduler"]


def _stamp(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat(timespec="seconds")


class Runner:
    """Due-time bookkeeping and the runs themselves, for one database."""

    def __init__(self, db: Database, rules: Callable[[], RuleSet], renderer, settings):
        self.db, self.rules, self.renderer, self.settings = db, rules, renderer, settings
        self.jobs = registry()
        self.host = socket.gethostname()

    def last_run(self, job: str) -> dict | None:
        """The latest run of ``job`` as plain values (for ``gateway jobs``), or None."""
        last = runs.last_run(self.db, job)
        return asdict(last) if last else None

    def _last_due(self, job: str) -> str | None:
        last = self._last(job)
        return last.due_at if last else None

    def _last(self, job: str) -> JobRun | None:
        return runs.last_run(self.db, job)

    def next_run(self, job: str, now: dt.datetime) -> dt.datetime | None:
        ruleset = self.rules()
        found = trigger(ruleset.follow_up, job, ruleset.hours)
        return found.get_next_fire_time(None, now) if found else None

    def due(self, job: str, now: dt.datetime) -> dt.datetime | None:
        """The latest due time of ``job`` not yet run, within the catch-up window."""
        ruleset = self.rules()
        schedule = trigger(ruleset.follow_up, job, ruleset.hours)
        if schedule is None:
            return None
        floor = now - dt.timedelta(hours=ruleset.follow_up.catch_up_hours)
        last = self._last(job)
        if last:
            floor = max(floor, dt.datetime.fromisoformat(last.due_at))
        found, at = None, schedule.get_next_fire_time(None, floor + dt.timedelta(seconds=1))
        while at is not None and at <= now:
            found = at
            at = schedule.get_next_fire_time(None, at + dt.timedelta(seconds=1))
        return found

    def baseline(self, now: dt.datetime) -> list[str]:
        """Mark ``now`` as the start of each job that has never run, so that a new
        gateway does not "make up" runs that fell due before it existed; a stopped one
        still makes up what it missed. Returns the jobs marked."""
        marked = []
        with write(self.db):
            for job in JOBS:
                if self._last(job) is None:
                    runs.mark_start(self.db, job, _stamp(now), self.host, FIRST_START)
                    marked.append(job)
        return marked

    def tick(self, now: dt.datetime) -> list[str]:
        """Run every job that is due at ``now``; returns the names of those run."""
        return [job for job in JOBS if (due := self.due(job, now)) and self.run(job, due, now)]

    def run(self, job: str, due: dt.datetime, now: dt.datetime | None = None) -> bool:
        """Claim ``(job, due)`` and run it; False when it was run already (by anyone)."""
        now = now or due
        last = self._last(job)
        # The previous run's own clock, not its due time: a run made up late covered
        # everything until it ran, and the next one must not list that again.
        since = dt.datetime.fromisoformat(last.started_at) if last else None
        ctx = JobContext(self.db, self.rules(), self.renderer, self.settings, now, since)
        started = _stamp(now)
        if job in SELF_WRITING:
            return self._run_apart(job, due, ctx, started)
        prepare = getattr(self.jobs[job], "prepare", None)
        try:
            if prepare is not None:  # the heavy part, before the claim: no write held
                if self._last_due(job) == _stamp(due):
                    return False
                ctx = dataclasses.replace(ctx, prepared=prepare(ctx))
            if (ahead := getattr(self.jobs[job], "ahead", None)) is not None:
                written = self._write_ahead(job, _stamp(due), ahead(ctx))
                if written is None:  # another gateway ran it meanwhile
                    return False
                ctx = dataclasses.replace(ctx, written=written)
            runs.make_room(self.db)
            with write(self.db):
                if not runs.claim(self.db, job, _stamp(due), started, self.host):
                    return False
                detail = self.jobs[job](ctx)
                runs.finish(self.db, job, _stamp(due), _stamp(dt.datetime.now(dt.UTC)), detail)
            if (after := getattr(self.jobs[job], "after", None)) is not None:
                self._after(after, job, due, ctx, detail)
        except Exception as exc:  # recorded, so that `gateway jobs` shows it; not retried
            if is_locked(exc):
                # Not claimed (the claim rolled back with the rest): the next tick retries.
                log.warning("job %s due %s not run now (%s); trying again", job, _stamp(due), exc)
                return False
            self._failed(job, due, started, exc)
            return True
        log.info("job %s (due %s): %s", job, _stamp(due), detail)
        return True

    def _after(self, after, job: str, due: dt.datetime, ctx: JobContext, detail: str) -> None:
        """What a job writes after its recorded run, in short transactions of its own (the
        notes and marks on the cases of its mail). It is not run again when it breaks
        off: the run is marked failed with the reason, and the log says so."""
        try:
            after(ctx)
        except Exception as exc:
            log.exception("job %s due %s: sent, but what follows it failed", job, _stamp(due))
            with write(self.db):
                runs.fail(self.db, job, _stamp(due), _stamp(dt.datetime.now(dt.UTC)),
                          f"{detail}; then {type(exc).__name__}: {exc}")  # fmt: skip

    def _write_ahead(self, job: str, due: str, pieces: list[Piece]) -> Counter | None:
        """Write a job's pieces before its claim, in transactions of ``WRITE_S`` (at
        least one piece each); the count of pieces written, by kind, or None when the
        run was recorded meanwhile. Each piece checks that it is still to be written,
        so a run cut short (a crash, a locked database) and made up, or a second
        gateway on the same due time, writes each exactly once."""
        left, written = collections.deque(pieces), Counter()
        while left:
            runs.make_room(self.db)
            with write(self.db):
                if runs.recorded(self.db, job, due):
                    return None
                began = time.monotonic()
                while left:
                    piece = left.popleft()
                    written[piece.kind] += piece.write()
                    if time.monotonic() - began >= WRITE_S:
                        break
        return written

    def _run_apart(self, job: str, due: dt.datetime, ctx: JobContext, started: str) -> bool:
        """A job that writes in short transactions of its own and can be run again
        (retention): claimed in one short transaction, run, and finished in another. A
        run cut short by a crash stays claimed; the next due run does what it left."""
        with write(self.db):
            if not runs.claim(self.db, job, _stamp(due), started, self.host):
                return False
        try:
            detail = self.jobs[job](ctx)
        except Exception as exc:  # recorded on the claimed run; not retried
            log.exception("job %s due %s failed", job, _stamp(due))
            with write(self.db):
                runs.fail(self.db, job, _stamp(due), _stamp(dt.datetime.now(dt.UTC)),
                          f"{type(exc).__name__}: {exc}")  # fmt: skip
            return True
        with write(self.db):
            runs.finish(self.db, job, _stamp(due), _stamp(dt.datetime.now(dt.UTC)), detail)
        log.info("job %s (due %s): %s", job, _stamp(due), detail)
        return True

    def _failed(self, job: str, due: dt.datetime, started: str, exc: Exception) -> None:
        log.exception("job %s due %s failed", job, _stamp(due))
        with write(self.db):  # (our claim rolled back: record it unless another ran it)
            runs.record_failure(self.db, job, _stamp(due), started,
                                _stamp(dt.datetime.now(dt.UTC)),
                                f"{type(exc).__name__}: {exc}", self.host)  # fmt: skip


class Scheduler:
    """APScheduler inside ``gateway serve``: each job on its trigger, plus a catch-up."""

    def __init__(self, runner: Runner, wake_sender: Callable[[], None]):
        from apscheduler.schedulers.background import BackgroundScheduler

        self.runner, self.wake_sender = runner, wake_sender
        self.scheduler = BackgroundScheduler(timezone=dt.UTC)
        # APScheduler says "executed successfully" at INFO for each tick: once a minute in
        # the journal, forever. What ran is logged here, per job.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)

    def start(self) -> None:
        self.runner.baseline(dt.datetime.now(dt.UTC))
        self._tick()  # make up what was due while stopped
        self.scheduler.add_job(self._tick, "interval", minutes=1, id="tick", coalesce=True)
        self.scheduler.start()
        for job in JOBS:
            if (at := self.runner.next_run(job, dt.datetime.now(dt.UTC))) is not None:
                log.info("job %s: next run %s", job, at.isoformat(timespec="minutes"))

    def _tick(self) -> None:
        try:
            if self.runner.tick(dt.datetime.now(dt.UTC)):
                self.wake_sender()
        except Exception:  # e.g. the database locked for long: the next tick tries again
            log.exception("scheduler tick failed")

    def shutdown(self) -> None:
        self.scheduler.shutdown(wait=True)
