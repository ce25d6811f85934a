"""The follow-up jobs by name, as the scheduler runs them (gateway/scheduler/runner.py)."""

from __future__ import annotations

import dataclasses

from gateway.followup import (
    clock,
    closing,
    deadlines,
    digest,
    escalation_steps,
    monthly,
    open_cases,
    period_reports,
    reviews,
)
from gateway.followup.context import Job, JobContext
from gateway.retention import purge
from gateway.scheduler.config import JOBS


def retention(ctx: JobContext) -> str:
    """Purge what is past retention, in short transactions of its own (the scheduler
    runs it apart: ``scheduler.runner.SELF_WRITING``)."""
    done = purge(ctx.db, ctx.ruleset.privacy.retention_days, today=ctx.now)
    return f"{done.cases} case(s), {done.messages} message(s) purged"


def _prepare_reminders(ctx: JobContext) -> tuple:
    return (deadlines.prepare_reminders(ctx), closing.prepare_unconfirmed(ctx),
            reviews.prepare_remind(ctx))  # fmt: skip


def reminders(ctx: JobContext) -> str:
    """Deadlines soon; closings left unconfirmed and reviews not held (``record:``). All
    three are read and rendered before the run's write (``prepare``)."""
    soon, closings, held = ctx.prepared if ctx.prepared is not None else _prepare_reminders(ctx)
    return (
        deadlines.reminders(dataclasses.replace(ctx, prepared=soon))
        + closing.unconfirmed(ctx, closings)
        + reviews.remind(ctx, held)
    )


reminders.prepare = _prepare_reminders  # type: ignore[attr-defined]


def _prepare_escalation(ctx: JobContext) -> tuple:
    return deadlines.prepare_escalation(ctx), escalation_steps.prepare_later_steps(ctx)


def escalation(ctx: JobContext) -> str:
    """The first escalation of a case, and the later steps of flows that have them."""
    first, later = ctx.prepared if ctx.prepared is not None else _prepare_escalation(ctx)
    return deadlines.escalation(dataclasses.replace(ctx, prepared=first)) + (
        escalation_steps.later_steps(ctx, later)
    )


escalation.prepare = _prepare_escalation  # type: ignore[attr-defined]


def registry() -> dict[str, Job]:
    """Every job of ``scheduler.config.JOBS``, by name."""
    jobs = {
        "review-digest": digest.review_digest,
        "reminders": reminders,
        "overdue-list": deadlines.overdue_list,
        "escalation": escalation,
        "monthly-report": monthly.monthly_report_job,
        "retention": retention,
        "clock-reminders": clock.clock_reminders,
        "open-cases": open_cases.open_cases,
        "interim-report": period_reports.period_job("interim-report"),
        "annual-report": period_reports.period_job("annual-report"),
    }
    assert set(jobs) == set(JOBS)
    return jobs
