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
    compose,
    in_batches,
    local_date,
    note,
    queue,
    receivers_of,
    show_date,
)
from gateway.followup.context import JobContext
from gateway.store import followup as rows
from gateway.store.caselog import CaseRow
from gateway.store.cases import update_case
from gateway.store.growth import repeated_event
from gateway.store.states import CaseStatus

WORKING = (CaseStatus.REGISTERED, CaseStatus.IN_PROGRESS)  # measures not yet reported done
# The deadlines a case has, by the code the templates name them by: (code, due column).
DEADLINES = (("measures", "measures_due"), ("close", "close_due"))


def _due_soon(case: CaseRow, today: dt.date, horizon: dt.date) -> list[tuple[str, dt.date]]:
    """The deadlines of ``case`` within the horizon and not yet reminded of."""
    due = []
    for kind, column in DEADLINES:
        if not getattr(case, column):  # a suggestion without deadlines
            continue
        deadline = dt.date.fromisoformat(getattr(case, column))
        if getattr(case, f"{kind}_reminded_at") or not today <= deadline <= horizon:
            continue
        if kind == "measures" and case.status not in WORKING:
            continue
        due.append((kind, deadline))
    return due


def prepare_reminders(ctx: JobContext) -> list[tuple[CaseRow, list, object]]:
    """The reminders due, each made (case, deadlines, mail) before the job's write."""
    ruleset, today = ctx.ruleset, local_date(ctx.ruleset, ctx.now)
    horizon = ruleset.hours.add_working_days(today, ruleset.follow_up.remind_before)
    made = []
    for case in rows.deadline_within(ctx.db, today.isoformat(), horizon.isoformat()):
        due = _due_soon(case, today, horizon)
        if not due:
            continue
        context = case_line(ruleset, case) | {
            "deadlines": [(kind, show_date(ruleset, d)) for kind, d in due]
        }
        to = receivers_of(ctx.db, case)
        mail = compose(ctx.db, ctx.renderer, "reminder.txt.j2", context,
                       purpose="reminder", to=to,
                       ruleset=ruleset, case=case)  # fmt: skip
        if mail is not None:  # nobody on the receiving side: tried again tomorrow, not lost
            made.append((case, due, mail))
    return made


def remind(ctx: JobContext, made: tuple[CaseRow, list, object]) -> bool:
    """One reminder ``prepare_reminders`` made, with its mark and note (in the caller's
    transaction); False when the case was reminded of these deadlines since it was read."""
    case, due, mail = made
    columns = [f"{kind}_reminded_at" for kind, _d in due]
    if not rows.unchanged(ctx.db, case, columns):
        return False
    row = queue(ctx.db, mail)
    rows.mark(ctx.db, case.id, *columns)
    kinds = " and ".join(kind for kind, _d in due)
    note(ctx.db, case, "reminder", f"reminded of the {kinds} deadline", row)
    return True


def reminded(count: int) -> str:
    """The run's detail: how many reminders went."""
    return f"{count} reminder(s)"


def overdue(ctx: JobContext) -> list[tuple[CaseRow, list[str]]]:
    """Open cases past a deadline, with which (``measures``, ``close``): the close
    deadline, or the measures one while no measures are reported (status registrert or
    under behandling)."""
    today = local_date(ctx.ruleset, ctx.now).isoformat()
    found = []
    for case in rows.past_deadline(ctx.db, today):
        passed = []
        if case.measures_due and case.measures_due < today and case.status in WORKING:
            passed.append("measures")
        if case.close_due and case.close_due < today:
            passed.append("close")
        if passed:
            found.append((case, passed))
    return found + reviews.overdue(ctx)


def _first_passed(case: CaseRow) -> dt.date:
    """The closing deadline, or for a case with none (a suggestion a rule gave only a
    measures deadline) the measures one."""
    return dt.date.fromisoformat(case.close_due or case.measures_due)


def prepare_overdue_list(ctx: JobContext) -> tuple[list, object] | None:
    """The overdue cases and the list for the administrators, made before the write."""
    cases = overdue(ctx)
    if not cases:
        return None
    today = local_date(ctx.ruleset, ctx.now)
    lines = [
        case_line(ctx.ruleset, case)
        | {"passed": passed, "days": (today - _first_passed(case)).days}
        for case, passed in cases
    ]
    mail = compose(ctx.db, ctx.renderer, "overdue.txt.j2",
                   {"cases": lines, "today": show_date(ctx.ruleset, today)},
                   purpose="overdue-list", to=admin_receivers(ctx.ruleset),
                   ruleset=ctx.ruleset)  # fmt: skip
    return cases, mail


def overdue_list(ctx: JobContext) -> str:
    """One line per overdue case to the administrators; nothing sent when none is.
    Queued in the run's claim; the note on each case follows (``overdue_notes``)."""
    made = ctx.prepared if ctx.prepared is not None else prepare_overdue_list(ctx)
    if made is None:
        return "nothing overdue"
    cases, mail = made
    ctx.written = (cases, queue(ctx.db, mail))
    return f"{len(cases)} overdue case(s)"


def overdue_notes(ctx: JobContext) -> None:
    """On each case of the list, that it was on it: in short write transactions."""
    if ctx.written is None:
        return
    cases, row = ctx.written

    def one(item: tuple[CaseRow, list[str]]) -> None:
        detail = f"on the overdue list ({', '.join(item[1])})"  # once per case and deadline
        repeated_event(ctx.db, "overdue", detail, case_id=item[0].id, message_id=row)

    in_batches(ctx.db, cases, one)


overdue_list.prepare = prepare_overdue_list  # type: ignore[attr-defined]
overdue_list.after = overdue_notes  # type: ignore[attr-defined]


def prepare_escalation(ctx: JobContext) -> list[tuple[CaseRow, list[str], object]]:
    """The cases to escalate, each with its mail, made before the job's write."""
    ruleset, today = ctx.ruleset, local_date(ctx.ruleset, ctx.now).isoformat()
    made = []
    for case in rows.due_for_escalation(ctx.db, today):
        flow = ruleset.flows.get(case.flow or "")
        party = flow.escalate_to if flow else None
        to = list(ruleset.directory[party].receivers) if party else admin_receivers(ruleset)
        context = case_line(ruleset, case) | {"escalate_due": show_date(ruleset, case.escalate_due)}
        mail = compose(ctx.db, ctx.renderer, "escalation.txt.j2", context,
                       purpose="escalation", to=to, ruleset=ruleset, case=case)  # fmt: skip
        if mail is not None:  # the escalation party has no receivers: tried again tomorrow
            made.append((case, to, mail))
    return made


def escalation(ctx: JobContext) -> str:
    """A case still open after its rule's ``escalate_days`` goes to the flow's escalation
    party (``flows: … escalate_to``), once; the administrators when none is set."""
    made = ctx.prepared if ctx.prepared is not None else prepare_escalation(ctx)
    for case, to, mail in made:
        row = queue(ctx.db, mail)
        rows.mark(ctx.db, case.id, "escalated_at")
        update_case(ctx.db, case.id, {"escalation_step": 1})
        note(ctx.db, case, "escalated", f"step 1: still open after {case.escalate_due}: to {to}",
             row)  # fmt: skip
    return f"{len(made)} escalated"


escalation.prepare = prepare_escalation  # type: ignore[attr-defined]
