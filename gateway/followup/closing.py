"""A closing nobody confirms: reminded, or confirmed by the gateway, as rules.yaml says.

``record: closing: unconfirmed_after: N`` working days after ``#lukk`` gave *til
lukking*, those who confirm are reminded once (``unconfirmed: remind``), or the case
is closed with an event saying nobody answered (``unconfirmed: confirm``). Run with
the daily reminders.
"""

from __future__ import annotations

import datetime as dt

from gateway.followup.common import case_line, compose, local_date, note, queue, receivers_of
from gateway.followup.context import JobContext
from gateway.store import cases as stored
from gateway.store import followup as rows
from gateway.store import now
from gateway.store import record as measures
from gateway.store.caselog import CaseRow
from gateway.store.states import CaseStatus
from gateway.threads.notify import case_context
from gateway.threads.record_apply import confirmers
from gateway.threads.record_notices import record_context

# What a closing's follow-up changes: a case whose columns still hold what was read is
# still to be followed up (``follow``).
_ASKED = ("status", "close_requested_at", "confirm_reminded_at")


def _overdue(ctx: JobContext, case: CaseRow, days: int) -> bool:
    asked = local_date(ctx.ruleset, dt.datetime.fromisoformat(case.close_requested_at))
    return ctx.ruleset.hours.add_working_days(asked, days) <= local_date(ctx.ruleset, ctx.now)


def prepare_unconfirmed(ctx: JobContext) -> list[tuple[CaseRow, list[str], object]]:
    """Each closing left unconfirmed too long, with its mail, made before the job's write:
    (case, who is told, mail)."""
    closing = ctx.ruleset.record.closing
    if not closing.unconfirmed_after:
        return []
    made = []
    for case in measures.awaiting_confirmation(ctx.db):
        if not _overdue(ctx, case, closing.unconfirmed_after):
            continue
        context = case_line(ctx.ruleset, case) | case_context(case, ctx.ruleset)
        context |= record_context(ctx.db, case) | {"reminder": True}
        if closing.unconfirmed == "confirm":
            to = receivers_of(ctx.db, case) + list(confirmers(ctx.db, ctx.ruleset, case))
            context |= {"status": CaseStatus.CLOSED, "days": closing.unconfirmed_after}
            template, purpose = "closing_confirmed.txt.j2", "status"
        else:
            to = list(confirmers(ctx.db, ctx.ruleset, case))
            template, purpose = "closing_request.txt.j2", "closing-reminder"
        mail = compose(ctx.db, ctx.renderer, template, context, purpose=purpose, to=to,
                       ruleset=ctx.ruleset, case=case)  # fmt: skip
        if mail is not None or closing.unconfirmed == "confirm":
            made.append((case, to, mail))
    return made


def follow(ctx: JobContext, made: tuple[CaseRow, list[str], object]) -> bool:
    """Follow up one closing ``prepare_unconfirmed`` found (in the caller's
    transaction): confirmed by the gateway, or the confirmers reminded; False when the
    case changed since it was read (followed up already, or answered)."""
    closing, (case, to, mail) = ctx.ruleset.record.closing, made
    if not rows.unchanged(ctx.db, case, list(_ASKED)):
        return False
    days = closing.unconfirmed_after
    row = queue(ctx.db, mail)
    if closing.unconfirmed == "confirm":
        stored.update_case(ctx.db, case.id, {"status": CaseStatus.CLOSED, "closed_at": now(),
                                             "updated_at": now()})  # fmt: skip
        note(ctx.db, case, "close-confirmed",
             f"by the gateway: no answer in {days} working days", row)  # fmt: skip
    else:
        rows.mark(ctx.db, case.id, "confirm_reminded_at")
        note(ctx.db, case, "close-reminded", f"no #bekreft after {days} "
             f"working days: reminded {', '.join(to)}", row)  # fmt: skip
    return True


def followed(ctx: JobContext, count: int) -> str:
    """The run's detail: '' when the deployment has no such follow-up."""
    if not ctx.ruleset.record.closing.unconfirmed_after:
        return ""
    return f", {count} closing(s) followed up"
