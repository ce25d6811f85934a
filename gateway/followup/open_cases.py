"""The weekly list of open cases (``open-cases``): each receiving party its own.

Off unless ``follow_up: schedules`` names it. Each party with receivers and open cases
gets the list ``#oversikt`` gives (gateway/case/overview.py, the same lines and the same
template): reference, status, deadlines and the other party, never a subject or a
text. A party with no open case gets nothing.
"""

from __future__ import annotations

from gateway.case.overview import overview_line
from gateway.followup.common import compose, queue
from gateway.followup.context import JobContext
from gateway.models import Outgoing
from gateway.store.record import open_cases_received_by


def prepare_open_cases(ctx: JobContext) -> list[tuple[str, Outgoing]]:
    """One list per receiving party, read and rendered before the job's write."""
    ruleset, made = ctx.ruleset, []
    for party in ruleset.directory.parties.values():
        if not party.receivers:
            continue
        cases = open_cases_received_by(ctx.db, party.key)
        if not cases:
            continue
        lines = [overview_line(ruleset, case, party.receivers[0], party.key) for case in cases]
        mail = compose(ctx.db, ctx.renderer, "overview.txt.j2", {"cases": lines},
                       purpose="open-cases", to=list(party.receivers), ruleset=ruleset)  # fmt: skip
        if mail is not None:
            made.append((party.key, mail))
    return made


def open_cases(ctx: JobContext) -> str:
    """Queue the lists ``prepare_open_cases`` made (or make them, when run alone)."""
    made = ctx.prepared if ctx.prepared is not None else prepare_open_cases(ctx)
    for _, mail in made:
        queue(ctx.db, mail)
    parties = ", ".join(key for key, _ in made) or "none"
    return f"open cases sent to {len(made)} party(ies): {parties}"


open_cases.prepare = prepare_open_cases  # type: ignore[attr-defined]
