"""The monthly report job: last month's statistics to management (gateway/report.py)."""

from __future__ import annotations

import datetime as dt

from gateway.followup.common import local_date
from gateway.followup.context import JobContext
from gateway.outbox.queue import enqueue


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
    return month, monthly_report(ctx.db, ctx.ruleset, ctx.renderer, month, to=to, now=ctx.now)


def monthly_report_job(ctx: JobContext) -> str:
    """Queue the report ``prepare_report`` made (or make it, when run without it)."""
    prepared = ctx.prepared if ctx.prepared is not None else prepare_report(ctx)
    if prepared is None:
        return "no management address in follow_up: nothing sent"
    month, report = prepared
    enqueue(ctx.db, report)
    return f"report for {month:%Y-%m} to {', '.join(report.recipients)}"


monthly_report_job.prepare = prepare_report  # type: ignore[attr-defined]
