"""Deadlines followed up: reminders before they pass, the overdue list, escalation.

Dates are compared as local dates in the service-hours calendar; "before" counts
working days (``follow_up.remind_before``), the same way the deadlines were set.
"""

from __future__ import annotations

import datetime as dt

from gateway.followup import reviews
from gateway.followup.common import (
    admin_receivers,
    case_line,
    local_date,
    note,
    receivers_of,
    send,
    show_date,
)
from gateway.followup.context import JobContext
from gateway.store import followup as rows
from gateway.store.caselog import CaseRow
from gateway.store.cases import update_case
from gateway.store.states import CaseStatus

WORKING = (CaseStatus.REGISTERED, CaseStatus.IN_PROGRESS)  # measures not yet reported done
# The deadlines a case has, by the code the templates name them by: (code, due column).
DEADLINES = (("measures", "measures_due"), ("close", "close_due"))


def _due_soon(case: CaseRow, today: dt.date, horizon: dt.date) -> list[tuple[str, dt.date]]:
    """The deadlines of ``case`` within the horizon and not yet reminded of."""
    due = []
    for kind, column in DEADLINES:
        deadline = dt.date.fromisoformat(getattr(case, column))
        if getattr(case, f"{kind}_reminded_at") or not today <= deadline <= horizon:
            continue
        if kind == "measures" and case.status not in WORKING:
            continue
        due.append((kind, deadline))
    return due


def reminders(ctx: JobContext) -> str:
    """Remind the receiving side once per deadline, within ``remind_before`` of it."""
    ruleset, today = ctx.ruleset, local_date(ctx.ruleset, ctx.now)
    horizon = ruleset.hours.add_working_days(today, ruleset.follow_up.remind_before)
    sent = 0
    for case in rows.open_cases(ctx.db):
        due = _due_soon(case, today, horizon)
        if not due:
            continue
        row = send(
            ctx.db,
            ctx.renderer,
            "reminder.txt.j2",
            case_line(ruleset, case)
            | {"deadlines": [(kind, show_date(ruleset, d)) for kind, d in due]},
            purpose="reminder",
            to=receivers_of(ctx.db, case),
            ruleset=ruleset,
            case=case,
        )
        if row is None:  # nobody on the receiving side: tried again tomorrow, not lost
            continue
        rows.mark(ctx.db, case.id, *(f"{kind}_reminded_at" for kind, _d in due))
        kinds = " and ".join(kind for kind, _d in due)
        note(ctx.db, case, "reminder", f"reminded of the {kinds} deadline", row)
        sent += 1
    return f"{sent} reminder(s)"


def overdue(ctx: JobContext) -> list[tuple[CaseRow, list[str]]]:
    """Open cases past a deadline, with which (``measures``, ``close``): the close
    deadline, or the measures one while no measures are reported (status registrert or
    under behandling)."""
    today = local_date(ctx.ruleset, ctx.now).isoformat()
    found = []
    for case in rows.open_cases_by_close_due(ctx.db):
        passed = []
        if case.measures_due < today and case.status in WORKING:
            passed.append("measures")
        if case.close_due < today:
            passed.append("close")
        if passed:
            found.append((case, passed))
    return found + reviews.overdue(ctx)


def overdue_list(ctx: JobContext) -> str:
    """One line per overdue case to the administrators; nothing sent when none is."""
    cases = overdue(ctx)
    if not cases:
        return "nothing overdue"
    today = local_date(ctx.ruleset, ctx.now)
    lines = [
        case_line(ctx.ruleset, case)
        | {"passed": passed, "days": (today - dt.date.fromisoformat(case.close_due)).days}
        for case, passed in cases
    ]
    row = send(
        ctx.db,
        ctx.renderer,
        "overdue.txt.j2",
        {"cases": lines, "today": show_date(ctx.ruleset, today)},
        purpose="overdue-list",
        to=admin_receivers(ctx.ruleset),
        ruleset=ctx.ruleset,
    )
    for case, passed in cases:
        note(ctx.db, case, "overdue", f"on the overdue list ({', '.join(passed)})", row)
    return f"{len(cases)} overdue case(s)"


def escalation(ctx: JobContext) -> str:
    """A case still open after its rule's ``escalate_days`` goes to the flow's escalation
    party (``flows: … escalate_to``), once; the administrators when none is set."""
    ruleset, today = ctx.ruleset, local_date(ctx.ruleset, ctx.now).isoformat()
    done = 0
    for case in rows.due_for_escalation(ctx.db, today):
        flow = ruleset.flows.get(case.flow or "")
        party = flow.escalate_to if flow else None
        to = list(ruleset.directory[party].receivers) if party else admin_receivers(ruleset)
        row = send(
            ctx.db,
            ctx.renderer,
            "escalation.txt.j2",
            case_line(ruleset, case) | {"escalate_due": show_date(ruleset, case.escalate_due)},
            purpose="escalation",
            to=to,
            ruleset=ruleset,
            case=case,
        )
        if row is None:  # the escalation party has no receivers: tried again tomorrow
            continue
        rows.mark(ctx.db, case.id, "escalated_at")
        update_case(ctx.db, case.id, {"escalation_step": 1})
        note(ctx.db, case, "escalated", f"step 1: still open after {case.escalate_due}: to {to}",
             row)  # fmt: skip
        done += 1
    return f"{done} escalated"
