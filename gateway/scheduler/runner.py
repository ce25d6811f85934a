"""Run each follow-up job once per due time, recorded in ``job_runs``.

A run is claimed, done and recorded in one write transaction: inserting
``(job, due_at)`` fails for a second gateway on the same database (it waits for the
first one's transaction, then sees the row), and a crash in the middle rolls the claim
back with the mail it queued, so the run is made up at the next start. After a stop,
only the latest due time within ``catch_up_hours`` is made up: once, not once per
missed time. ``tick(now)`` runs whatever is due at ``now``, the due times coming from
each job's trigger (an APScheduler trigger on the service-hours calendar). In
``gateway serve`` APScheduler calls it every minute, and once at start to catch up;
``gateway jobs`` and the tests call it with a clock of their own.
"""

from __future__ import annotations

import datetime as dt
import logging
import socket
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from sqlite_utils import Database

from gateway.render import Renderer
from gateway.rules.base import RuleSet
from gateway.scheduler.config import JOBS
from gateway.settings import Settings
from gateway.store import write

log = logging.getLogger("gateway.scheduler")


@dataclass
class JobContext:
    """What a job reads and writes; ``now`` is the clock of this run (aware)."""

    db: Database
    ruleset: RuleSet
    renderer: Renderer
    settings: Settings
    now: dt.datetime
    since: dt.datetime | None  # when the previous run ran (its clock), if any


Job = Callable[[JobContext], str]


def _stamp(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat(timespec="seconds")


def registry() -> dict[str, Job]:
    """The jobs by name (imported here: they need the whole case stage)."""
    from gateway.followup import deadlines, digest, monthly
    from gateway.retention import purge

    def retention(ctx: JobContext) -> str:
        done = purge(
            ctx.db, ctx.ruleset.privacy.retention_days, today=ctx.now, in_callers_transaction=True
        )
        return f"{done.cases} case(s), {done.messages} message(s) purged"

    jobs = {
        "review-digest": digest.review_digest,
        "reminders": deadlines.reminders,
        "overdue-list": deadlines.overdue_list,
        "escalation": deadlines.escalation,
        "monthly-report": monthly.monthly_report_job,
        "retention": retention,
    }
    assert set(jobs) == set(JOBS)
    return jobs


class Runner:
    """Due-time bookkeeping and the runs themselves, for one database."""

    def __init__(self, db: Database, rules: Callable[[], RuleSet], renderer, settings):
        self.db, self.rules, self.renderer, self.settings = db, rules, renderer, settings
        self.jobs = registry()
        self.host = socket.gethostname()

    def last_run(self, job: str) -> dict | None:
        return next(
            self.db.query(
                "SELECT due_at, started_at, finished_at, result, detail FROM job_runs "
                "WHERE job = ? ORDER BY due_at DESC LIMIT 1",
                [job],
            ),
            None,
        )

    def next_run(self, job: str, now: dt.datetime) -> dt.datetime | None:
        ruleset = self.rules()
        trigger = ruleset.follow_up.trigger(job, ruleset.hours)
        return trigger.get_next_fire_time(None, now) if trigger else None

    def due(self, job: str, now: dt.datetime) -> dt.datetime | None:
        """The latest due time of ``job`` not yet run, within the catch-up window."""
        ruleset = self.rules()
        trigger = ruleset.follow_up.trigger(job, ruleset.hours)
        if trigger is None:
            return None
        floor = now - dt.timedelta(hours=ruleset.follow_up.catch_up_hours)
        last = self.last_run(job)
        if last:
            floor = max(floor, dt.datetime.fromisoformat(last["due_at"]))
        found, at = None, trigger.get_next_fire_time(None, floor + dt.timedelta(seconds=1))
        while at is not None and at <= now:
            found = at
            at = trigger.get_next_fire_time(None, at + dt.timedelta(seconds=1))
        return found

    def baseline(self, now: dt.datetime) -> list[str]:
        """Mark ``now`` as the start of each job that has never run, so that a new
        gateway does not "make up" runs that fell due before it existed; a stopped one
        still makes up what it missed. Returns the jobs marked."""
        marked = []
        with write(self.db):
            for job in JOBS:
                if self.last_run(job) is None:
                    self.db.execute(
                        "INSERT OR IGNORE INTO job_runs "
                        "(job, due_at, started_at, finished_at, result, detail, host) "
                        "VALUES (?, ?, ?, ?, 'start', 'first start: nothing before is made up', ?)",
                        [job, _stamp(now), _stamp(now), _stamp(now), self.host],
                    )
                    marked.append(job)
        return marked

    def tick(self, now: dt.datetime) -> list[str]:
        """Run every job that is due at ``now``; returns the names of those run."""
        return [job for job in JOBS if (due := self.due(job, now)) and self.run(job, due, now)]

    def run(self, job: str, due: dt.datetime, now: dt.datetime | None = None) -> bool:
        """Claim ``(job, due)`` and run it; False when it was run already (by anyone)."""
        now = now or due
        last = self.last_run(job)
        # The previous run's own clock, not its due time: a run made up late covered
        # everything until it ran, and the next one must not list that again.
        since = dt.datetime.fromisoformat(last["started_at"]) if last else None
        ctx = JobContext(self.db, self.rules(), self.renderer, self.settings, now, since)
        started = _stamp(now)
        try:
            with write(self.db):
                claimed = self.db.execute(
                    "INSERT OR IGNORE INTO job_runs (job, due_at, started_at, result, host) "
                    "VALUES (?, ?, ?, 'running', ?)",
                    [job, _stamp(due), started, self.host],
                ).rowcount
                if not claimed:
                    return False
                detail = self.jobs[job](ctx)
                self.db.execute(
                    "UPDATE job_runs SET finished_at = ?, result = 'ok', detail = ? "
                    "WHERE job = ? AND due_at = ?",
                    [_stamp(dt.datetime.now(dt.UTC)), detail, job, _stamp(due)],
                )
        except Exception as exc:  # recorded, so that `gateway jobs` shows it; not retried
            if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
                # Not claimed (the claim rolled back with the rest): the next tick retries.
                log.warning("job %s due %s not run now (%s); trying again", job, _stamp(due), exc)
                return False
            log.exception("job %s due %s failed", job, _stamp(due))
            with write(self.db):  # (our claim rolled back: record it unless another ran it)
                self.db.execute(
                    "INSERT OR IGNORE INTO job_runs "
                    "(job, due_at, started_at, finished_at, result, detail, host) "
                    "VALUES (?, ?, ?, ?, 'failed', ?, ?)",
                    [job, _stamp(due), started, _stamp(dt.datetime.now(dt.UTC)),
                     f"{type(exc).__name__}: {exc}", self.host],
                )  # fmt: skip
            return True
        log.info("job %s (due %s): %s", job, _stamp(due), detail)
        return True


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
