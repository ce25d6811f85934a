"""Deadlines followed up: reminders before they pass, the overdue list, escalation.

Dates are compared as local dates in the service-hours calendar; "before" counts
working days (``follow_up.remind_before``), the same way the deadlines were set.
"""

from __future__ import annotations

import datetime as dt

from gateway.followup.common import (
    OPEN,
    admin_receivers,
    case_line,
    local_date,
    note,
    receivers_of,
    send,
)
from gateway.scheduler.runner import JobContext
from gateway.store import now as stamp_now
from gateway.store import update

WORKING = ("registrert", "under behandling")  # measures not yet reported done


def reminders(ctx: JobContext) -> str:
    """Remind the receiving side once per deadline, within ``remind_before`` of it."""
    ruleset, today = ctx.ruleset, local_date(ctx.ruleset, ctx.now)
    horizon = ruleset.hours.add_working_days(today, ruleset.follow_up.remind_before)
    sent = 0
    for case in list(ctx.db.query(f"SELECT * FROM cases WHERE {OPEN} ORDER BY id")):
        due = []
        for kind, column, label in (
            ("measures", "measures_due", "tiltaksfristen"),
            ("close", "close_due", "lukkefristen"),
        ):
            deadline = dt.date.fromisoformat(case[column])
            if case[f"{kind}_reminded_at"] or not today <= deadline <= horizon:
                continue
            if kind == "measures" and case["status"] not in WORKING:
                continue
            due.append((kind, label, deadline))
        if not due:
            continue
        row = send(
            ctx.db,
            ctx.renderer,
            "reminder.txt.j2",
            case_line(ruleset, case)
            | {"deadlines": [(label, d.strftime("%d.%m.%Y")) for _k, label, d in due]},
            purpose="reminder",
            to=receivers_of(ctx.db, case),
            ruleset=ruleset,
            case=case,
        )
        if row is None:  # nobody on the receiving side: tried again tomorrow, not lost
            continue
        update(ctx.db, "cases", case["id"], {f"{k}_reminded_at": stamp_now() for k, _l, _d in due})
        labels = " and ".join(label for _k, label, _d in due)
        note(ctx.db, case, "reminder", f"reminded of {labels}", row)
        sent += 1
    return f"{sent} reminder(s)"


def overdue(ctx: JobContext) -> list[tuple[dict, list[str]]]:
    """Open cases past a deadline, with which: the close deadline, or the measures one
    while no measures are reported (status registrert or under behandling)."""
    today = local_date(ctx.ruleset, ctx.now).isoformat()
    found = []
    for case in ctx.db.query(f"SELECT * FROM cases WHERE {OPEN} ORDER BY close_due, id"):
        passed = []
        if case["measures_due"] < today and case["status"] in WORKING:
            passed.append("tiltaksfrist")
        if case["close_due"] < today:
            passed.append("lukkefrist")
        if passed:
            found.append((case, passed))
    return found


def overdue_list(ctx: JobContext) -> str:
    """One line per overdue case to the administrators; nothing sent when none is."""
    cases = overdue(ctx)
    if not cases:
        return "nothing overdue"
    today = local_date(ctx.ruleset, ctx.now)
    lines = [
        case_line(ctx.ruleset, case)
        | {
            "passed": passed,
            "days": (today - dt.date.fromisoformat(case["close_due"])).days,
        }
        for case, passed in cases
    ]
    row = send(
        ctx.db,
        ctx.renderer,
        "overdue.txt.j2",
        {"cases": lines, "today": today.strftime("%d.%m.%Y")},
        purpose="overdue-list",
        to=admin_receivers(ctx.ruleset),
        ruleset=ctx.ruleset,
    )
    for case, passed in cases:
        note(ctx.db, case, "overdue", f"on the overdue list ({', '.join(passed)})", row)
    return f"{len(cases)} overdue case(s)"


def escalation(ctx: JobContext) -> str:
    """A case still open after its rule's ``escalate_days`` goes to the flow's escalation
    party (``follow_up.escalate_to``), once; the administrators when none is set."""
    ruleset, today = ctx.ruleset, local_date(ctx.ruleset, ctx.now).isoformat()
    done = 0
    rows = ctx.db.query(
        f"SELECT * FROM cases WHERE {OPEN} AND escalate_due IS NOT NULL AND escalate_due < ? "
        "AND escalated_at IS NULL ORDER BY id",
        [today],
    )
    for case in list(rows):
        party = ruleset.follow_up.escalate_to.get(case["flow"] or "")
        to = list(ruleset.directory[party].receivers) if party else admin_receivers(ruleset)
        row = send(
            ctx.db,
            ctx.renderer,
            "escalation.txt.j2",
            case_line(ruleset, case)
            | {"escalate_due": dt.date.fromisoformat(case["escalate_due"]).strftime("%d.%m.%Y")},
            purpose="escalation",
            to=to,
            ruleset=ruleset,
            case=case,
        )
        if row is None:  # the escalation party has no receivers: tried again tomorrow
            continue
        update(ctx.db, "cases", case["id"], {"escalated_at": stamp_now()})
        note(ctx.db, case, "escalated", f"still open after {case['escalate_due']}: to {to}", row)
        done += 1
    return f"{done} escalated"
