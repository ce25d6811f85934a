"""A closing nobody confirms: reminded, or confirmed by the gateway, as rules.yaml says.

``record: closing: unconfirmed_after: N`` working days after ``#lukk`` gave *til
lukking*, those who confirm are reminded once (``unconfirmed: remind``), or the case
is closed with an event saying nobody answered (``unconfirmed: confirm``). Run with
the daily reminders.
"""

from __future__ import annotations

import datetime as dt

from gateway.followup.common import case_line, local_date, note, receivers_of, send
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


def _overdue(ctx: JobContext, case: CaseRow, days: int) -> bool:
    asked = local_date(ctx.ruleset, dt.datetime.fromisoformat(case.close_requested_at))
    return ctx.ruleset.hours.add_working_days(asked, days) <= local_date(ctx.ruleset, ctx.now)


def unconfirmed(ctx: JobContext) -> str:
    """Follow up each closing left unconfirmed too long; '' when the deployment has none."""
    closing = ctx.ruleset.record.closing
    if not closing.unconfirmed_after:
        return ""
    done = 0
    for case in measures.awaiting_confirmation(ctx.db):
        if not _overdue(ctx, case, closing.unconfirmed_after):
            continue
        context = case_line(ctx.ruleset, case) | case_context(case, ctx.ruleset)
        context |= record_context(ctx.db, case) | {"reminder": True}
        if closing.unconfirmed == "confirm":
            _confirm(ctx, case, context, closing.unconfirmed_after)
        else:
            to = list(confirmers(ctx.db, ctx.ruleset, case))
            row = send(ctx.db, ctx.renderer, "closing_request.txt.j2", context,
                       purpose="closing-reminder", to=to, ruleset=ctx.ruleset,
                       case=case)  # fmt: skip
            if row is None:
                continue
            rows.mark(ctx.db, case.id, "confirm_reminded_at")
            note(ctx.db, case, "close-reminded", f"no #bekreft after {closing.unconfirmed_after} "
                 f"working days: reminded {', '.join(to)}", row)  # fmt: skip
        done += 1
    return f", {done} closing(s) followed up"


def _confirm(ctx: JobContext, case: CaseRow, context: dict, days: int) -> None:
    stored.update_case(ctx.db, case.id, {"status": CaseStatus.CLOSED, "closed_at": now(),
                                         "updated_at": now()})  # fmt: skip
    to = receivers_of(ctx.db, case) + list(confirmers(ctx.db, ctx.ruleset, case))
    row = send(ctx.db, ctx.renderer, "closing_confirmed.txt.j2",
               context | {"status": CaseStatus.CLOSED, "days": days},
               purpose="status", to=to, ruleset=ctx.ruleset, case=case)  # fmt: skip
    note(ctx.db, case, "close-confirmed", f"by the gateway: no answer in {days} working days",
         row)  # fmt: skip
