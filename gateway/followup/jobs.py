"""The follow-up jobs by name, as the scheduler runs them (gateway/scheduler/runner.py)."""

from __future__ import annotations

from gateway.followup import closing, deadlines, digest, escalation_steps, monthly, reviews
from gateway.followup.context import Job, JobContext
from gateway.retention import purge
from gateway.scheduler.config import JOBS


def retention(ctx: JobContext) -> str:
    """Purge what is past retention, in short transactions of its own (the scheduler
    runs it apart: ``scheduler.runner.SELF_WRITING``)."""
    done = purge(ctx.db, ctx.ruleset.privacy.retention_days, today=ctx.now)
    return f"{done.cases} case(s), {done.messages} message(s) purged"


def reminders(ctx: JobContext) -> str:
    """Deadlines soon; closings left unconfirmed and reviews not held (``record:``)."""
    return deadlines.reminders(ctx) + closing.unconfirmed(ctx) + reviews.remind(ctx)


def escalation(ctx: JobContext) -> str:
    """The first escalation of a case, and the later steps of flows that have them."""
    return deadlines.escalation(ctx) + escalation_steps.later_steps(ctx)


def registry() -> dict[str, Job]:
    """Every job of ``scheduler.config.JOBS``, by name."""
    jobs = {
        "review-digest": digest.review_digest,
        "reminders": reminders,
        "overdue-list": deadlines.overdue_list,
        "escalation": escalation,
        "monthly-report": monthly.monthly_report_job,
        "retention": retention,
    }
    assert set(jobs) == set(JOBS)
    return jobs
