"""A deadline in calendar hours: the 72-hour clock of a personal-data breach.

A flow with ``clock_hours`` (rules.yaml ``flows:``) has a deadline that many hours
after arrival, night, weekend and holiday included, beside its working-day deadlines.
The relay shows it; this job (``clock-reminders``, scheduled hourly in the deployment's
rules) tells the receiving side ``clock_reminders`` hours before it (24 and 4 in
nordhordland), each reminder once. When the gateway was stopped past two reminder
times, only the nearest is sent: one notice, not a burst of stale ones.
"""

from __future__ import annotations

import datetime as dt

from gateway.followup.common import case_line, local_moment, note, receivers_of, send
from gateway.followup.context import JobContext
from gateway.store import followup as rows
from gateway.store.caselog import CaseRow, events_of

KIND = "clock-reminder"  # the event that says which reminder went out ("24")


def due_at(flow, case: CaseRow) -> dt.datetime | None:
    """The clock's deadline of ``case`` (UTC), or None for a flow without a clock."""
    if flow is None or not flow.clock_hours:
        return None
    return dt.datetime.fromisoformat(case.received_at) + dt.timedelta(hours=flow.clock_hours)


def _due_reminder(flow, case: CaseRow, due: dt.datetime, now: dt.datetime, done) -> int | None:
    """The reminder (hours before) that is due now and not yet sent; the nearest."""
    passed = [h for h in flow.clock_reminders if now >= due - dt.timedelta(hours=h)]
    nearest = min(passed, default=None)
    return nearest if nearest is not None and str(nearest) not in done else None


def clock_reminders(ctx: JobContext) -> str:
    """Remind the receiving side (the receiver and the copies) before each case's clock."""
    ruleset, now, sent = ctx.ruleset, ctx.now.astimezone(dt.UTC), 0
    for case in rows.open_cases(ctx.db):
        flow = ruleset.flows.get(case.flow or "")
        due = due_at(flow, case)
        if due is None or now >= due:
            continue
        done = {e.detail for e in events_of(ctx.db, case.id) if e.kind == KIND}
        hours = _due_reminder(flow, case, due, now, done)
        if hours is None:
            continue
        context = case_line(ruleset, case) | {
            "clock_due": local_moment(ruleset, due),
            "hours_left": max(1, round((due - now).total_seconds() / 3600)),
        }
        row = send(ctx.db, ctx.renderer, "clock_reminder.txt.j2", context,
                   purpose="clock-reminder", to=receivers_of(ctx.db, case), ruleset=ruleset,
                   case=case)  # fmt: skip
        if row is None:
            continue
        for h in flow.clock_reminders:  # this one, and any older one it stands for
            if h >= hours and str(h) not in done:
                note(ctx.db, case, KIND, str(h), row)
        sent += 1
    return f"{sent} clock reminder(s)"
