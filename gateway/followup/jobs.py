"""The follow-up jobs by name, as the scheduler runs them (gateway/scheduler/runner.py)."""

from __future__ import annotations

import dataclasses
import functools
from collections import Counter

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
from gateway.followup.context import Job, JobContext, Piece
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


def _reminder_pieces(ctx: JobContext) -> list[Piece]:
    """Each reminder ``prepare`` made, as a piece the scheduler writes ahead of the
    claim, a few to a short transaction: at a million cases, 262 reminders in the
    claim's one transaction held the database 66-142 ms."""
    soon, closings, held = ctx.prepared if ctx.prepared is not None else _prepare_reminders(ctx)
    return [
        *(Piece("reminder", functools.partial(deadlines.remind, ctx, one)) for one in soon),
        *(Piece("closing", functools.partial(closing.follow, ctx, one)) for one in closings),
        *(Piece("review", functools.partial(reviews.remind, ctx, one)) for one in held),
    ]


def reminders(ctx: JobContext) -> str:
    """Deadlines soon; closings left unconfirmed and reviews not held (``record:``). All
    three are read and rendered before the run's write (``prepare``), and written ahead
    of its claim (``ahead``); run alone, the job writes them in the caller's transaction."""
    written = ctx.written
    if written is None:
        written = Counter(piece.kind for piece in _reminder_pieces(ctx) if piece.write())
    return (
        deadlines.reminded(written["reminder"])
        + closing.followed(ctx, written["closing"])
        + reviews.reminded(written["review"])
    )


reminders.prepare = _prepare_reminders  # type: ignore[attr-defined]
reminders.ahead = _reminder_pieces  # type: ignore[attr-defined]


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
