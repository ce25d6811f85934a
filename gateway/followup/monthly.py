"""The monthly report job: last month's statistics to management (gateway/report.py)."""

from __future__ import annotations

import datetime as dt

from gateway.followup.common import local_date
from gateway.followup.context import JobContext
from gateway.outbox.queue import enqueue
from gateway.store import write


def previous_month(day: dt.date) -> dt.date:
    """The first day of the month before ``day``'s."""
    return (day.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def prepare_report(ctx: JobContext):
    """The report, worked out and rendered before the job's write transaction (the
    figures of a month read many cases; intake must not wait for them)."""
    from gateway.report import monthly_report  # matplotlib loads only when a report is due

    to = list(ctx.ruleset.follow_up.management)
    if not to:
        return None
    month = previous_month(local_date(ctx.ruleset, ctx.now))
    report = monthly_report(ctx.db, ctx.ruleset, ctx.renderer, month, to=to, now=ctx.now,
                            csv_style=ctx.settings.csv_style)  # fmt: skip
    return month, report


def monthly_report_job(ctx: JobContext) -> str:
    """Queue the report ``prepare_report`` made (or make it, when run without it)."""
    prepared = ctx.prepared if ctx.prepared is not None else prepare_report(ctx)
    if prepared is None:
        return "no management address in follow_up: nothing sent"
    month, report = prepared
    enqueue(ctx.db, report)
    return f"report for {month:%Y-%m} to {', '.join(report.recipients)}"


def report_for_month(ctx: JobContext, month: dt.date) -> str:
    """The report for any month, queued now: outside the schedule, so that the
    scheduled run (and its record in ``gateway jobs``) is left as it was
    (``gateway jobs run monthly-report --month 2026-10``)."""
    from gateway.report import monthly_report

    first = month.replace(day=1)
    if first > local_date(ctx.ruleset, ctx.now):
        raise ValueError(f"{first:%Y-%m} has not begun yet")
    to = list(ctx.ruleset.follow_up.management)
    if not to:
        raise ValueError("no management address in follow_up: nothing sent")
    report = monthly_report(ctx.db, ctx.ruleset, ctx.renderer, first, to=to, now=ctx.now,
                            csv_style=ctx.settings.csv_style)  # fmt: skip
    with write(ctx.db):
        enqueue(ctx.db, report)
    return f"report for {first:%Y-%m} to {', '.join(report.recipients)}"


monthly_report_job.prepare = prepare_report  # type: ignore[attr-defined]
