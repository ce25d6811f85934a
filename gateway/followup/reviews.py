"""Post-incident reviews chased (issue 19): an urgent case closed without #gjennomgått.

``record: reviews: remind_after: N``: N working days after the review was opened
(``review_due_at``, when the urgent case closed) and still not held, the on-call duty
and the administrators are reminded once; from then on the case is on the overdue
list until ``#gjennomgått`` is written. Run with the daily reminders.
"""

from __future__ import annotations

import datetime as dt

from gateway.followup.common import (
    admin_receivers,
    case_line,
    compose,
    local_date,
    note,
    on_call_addresses,
    queue,
)
from gateway.followup.context import JobContext
from gateway.store import followup as rows
from gateway.store import record as reviews
from gateway.store.caselog import CaseRow


def _late(ctx: JobContext, case: CaseRow, days: int) -> bool:
    opened = local_date(ctx.ruleset, dt.datetime.fromisoformat(case.review_due_at))
    return ctx.ruleset.hours.add_working_days(opened, days) <= local_date(ctx.ruleset, ctx.now)


def prepare_remind(ctx: JobContext) -> list[tuple[CaseRow, list[str], object]]:
    """Each review not held within ``remind_after`` working days, with its reminder,
    made before the job's write."""
    days = ctx.ruleset.record.review_remind_after
    if not days:
        return []
    made = []
    to = sorted({*on_call_addresses(ctx.ruleset), *admin_receivers(ctx.ruleset)})
    for case in reviews.reviews_not_held(ctx.db, reminded=False):
        if not _late(ctx, case, days):
            continue
        mail = compose(ctx.db, ctx.renderer, "review_reminder.txt.j2",
                       case_line(ctx.ruleset, case) | {"days": days}, purpose="review-reminder",
                       to=to, ruleset=ctx.ruleset, case=case)  # fmt: skip
        if mail is not None:
            made.append((case, to, mail))
    return made


def remind(ctx: JobContext, made: tuple[CaseRow, list[str], object]) -> bool:
    """Remind of one review ``prepare_remind`` found (in the caller's transaction);
    False when it was reminded of, or held, since it was read."""
    case, to, mail = made
    if not rows.unchanged(ctx.db, case, ["review_done_at", "review_reminded_at"]):
        return False
    days = ctx.ruleset.record.review_remind_after
    row = queue(ctx.db, mail)
    rows.mark(ctx.db, case.id, "review_reminded_at")
    note(ctx.db, case, "review-reminded", f"no review recorded after {days} working days: "
         f"reminded {', '.join(to)}", row)  # fmt: skip
    return True


def reminded(count: int) -> str:
    """The run's detail: '' when no review was reminded of."""
    return f", {count} review reminder(s)" if count else ""


def overdue(ctx: JobContext) -> list[tuple[CaseRow, list[str]]]:
    """Reviews reminded of and still not held: on the overdue list."""
    if not ctx.ruleset.record.review_remind_after:
        return []
    return [(case, ["review"]) for case in reviews.reviews_not_held(ctx.db, reminded=True)]
