"""Escalation in steps: the local cooperation group, then county level (issue 19).

The first step is the escalation it always was (``escalate_due``, from the rule's
``escalate_days``). A flow with ``escalate_to`` as a list has later steps, each
``after`` working days after the step before it; each happens once, and
``cases.escalation_step`` says which a case has reached.
"""

from __future__ import annotations

import datetime as dt

from gateway.followup.common import case_line, compose, local_date, note, queue, show_date
from gateway.followup.context import JobContext
from gateway.store import followup as rows
from gateway.store.caselog import CaseRow
from gateway.store.cases import update_case


def step_due(ctx: JobContext, case: CaseRow, step: int) -> dt.date:
    """The date a case still open reaches ``step`` (2, 3 ...): counted from escalate_due."""
    flow = ctx.ruleset.flows[case.flow]
    day = dt.date.fromisoformat(case.escalate_due)
    for _party, after in flow.later_steps[: step - 1]:
        day = ctx.ruleset.hours.add_working_days(day, after)
    return day


def prepare_later_steps(ctx: JobContext) -> list[tuple[CaseRow, int, str, list[str], object]]:
    """Each open case past its next step's date, with its mail, made before the write:
    (case, step, the step's date, who, mail)."""
    today, made = local_date(ctx.ruleset, ctx.now), []
    for case in rows.open_cases(ctx.db):
        flow = ctx.ruleset.flows.get(case.flow or "")
        step = (case.escalation_step or (1 if case.escalated_at else 0)) + 1
        if not case.escalated_at or flow is None or step - 1 > len(flow.later_steps):
            continue
        due = step_due(ctx, case, step)
        if today <= due:
            continue
        party = flow.later_steps[step - 2][0]
        to = list(ctx.ruleset.directory[party].receivers)
        context = case_line(ctx.ruleset, case) | {"escalate_due": show_date(ctx.ruleset, due),
                                                  "step": step}  # fmt: skip
        mail = compose(ctx.db, ctx.renderer, "escalation.txt.j2", context, purpose="escalation",
                       to=to, ruleset=ctx.ruleset, case=case)  # fmt: skip
        if mail is not None:
            made.append((case, step, str(due), to, mail))
    return made


def later_steps(ctx: JobContext, made: list) -> str:
    """Escalate each case ``prepare_later_steps`` found to its next step, once per step."""
    for case, step, due, to, mail in made:
        row = queue(ctx.db, mail)
        update_case(ctx.db, case.id, {"escalation_step": step})
        note(ctx.db, case, "escalated", f"step {step}: still open after {due}: to {to}", row)
    return f", {len(made)} to a later step" if made else ""
