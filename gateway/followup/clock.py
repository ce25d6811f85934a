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

from gateway.followup.common import (
    case_line,
    compose,
    local_moment,
    note,
    queue,
    receivers_of,
)
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


def prepare_clock_reminders(ctx: JobContext) -> list[tuple[CaseRow, list[int], object]]:
    """The reminders due now, rendered, before the run's write: (case, the reminders this
    one stands for, its mail)."""
    ruleset, now, made = ctx.ruleset, ctx.now.astimezone(dt.UTC), []
    for case in rows.open_cases(ctx.db):
        flow = ruleset.flows.get(case.flow or "")
        due = due_at(flow, case)
        if due is None or now >= due or case.clock_stopped_at:  # stopped: no breach
            continue
        done = {e.detail for e in events_of(ctx.db, case.id) if e.kind == KIND}
        hours = _due_reminder(flow, case, due, now, done)
        if hours is None:
            continue
        context = case_line(ruleset, case) | {
            "clock_due": local_moment(ruleset, due),
            "hours_left": max(1, round((due - now).total_seconds() / 3600)),
        }
        mail = compose(ctx.db, ctx.renderer, "clock_reminder.txt.j2", context,
                       purpose="clock-reminder", to=receivers_of(ctx.db, case),
                       ruleset=ruleset, case=case)  # fmt: skip
        if mail is not None:  # this one, and any older one it stands for
            made.append((case, [h for h in flow.clock_reminders
                                if h >= hours and str(h) not in done], mail))  # fmt: skip
    return made


def clock_reminders(ctx: JobContext) -> str:
    """Remind the receiving side (the receiver and the copies) before each case's clock:
    the mail made before the claim is queued in it, with the note of each reminder."""
    made = ctx.prepared if ctx.prepared is not None else prepare_clock_reminders(ctx)
    for case, hours, mail in made:
        row = queue(ctx.db, mail)
        for h in hours:
            note(ctx.db, case, KIND, str(h), row)
    return f"{len(made)} clock reminder(s)"


clock_reminders.prepare = prepare_clock_reminders  # type: ignore[attr-defined]
