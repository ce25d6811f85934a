"""The monthly report job: last month's statistics to management (gateway/report.py)."""

from __future__ import annotations

import datetime as dt

from gateway.followup.common import local_date
from gateway.followup.context import JobContext
from gateway.outbox.queue import enqueue


def previous_month(day: dt.date) -> dt.date:
    """The first day of the month before ``day``'s."""
    return (day.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def monthly_report_job(ctx: JobContext) -> str:
    from gateway.report import monthly_report  # matplotlib loads only when a report is due

    to = list(ctx.ruleset.follow_up.management)
    if not to:
        return "no management address in follow_up: nothing sent"
    month = previous_month(local_date(ctx.ruleset, ctx.now))
    enqueue(ctx.db, monthly_report(ctx.db, ctx.ruleset, ctx.renderer, month, to=to, now=ctx.now))
    return f"report for {month:%Y-%m} to {', '.join(to)}"
