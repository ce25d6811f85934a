"""Post-incident review: every urgent case is reviewed with the parties once closed.

Closing an urgent case opens the review (``review_due_at``) and tells the case's
parties and the administrators; ``#gjennomgått <oppsummering>`` from the on-call duty or
an administrator records it done. The summary is confidential: it stays in the case
log and is never relayed. While the review is open, the parties' replies about it go
between them as in any case, without reopening the closed case.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from gateway.case import participants
from gateway.followup.common import admin_receivers, case_line, note, on_call_addresses, send
from gateway.render import Renderer
from gateway.rules.base import RuleSet
from gateway.store import followup as rows
from gateway.store.caselog import CaseRow
from gateway.store.db import Database


def _row(case: CaseRow | Mapping) -> CaseRow:
    """The case as a row; the case thread (gateway/threads/reply.py) still passes a dict."""
    return case if isinstance(case, CaseRow) else CaseRow.from_row(dict(case))


def open_review(
    db: Database, case: CaseRow | Mapping, ruleset: RuleSet, renderer: Renderer, row_id: int | None
) -> bool:
    """Open the review of a closed urgent case, once; True if opened now."""
    case = _row(case)
    if not case.urgent or case.review_due_at:
        return False
    stamp = rows.mark(db, case.id, "review_due_at")
    case = dataclasses.replace(case, review_due_at=stamp)
    parties = [
        *participants.addresses(db, case.id, participants.REPORTER),
        *participants.addresses(db, case.id, participants.RECEIVER),
    ]
    to = sorted({*parties, *admin_receivers(ruleset), *on_call_addresses(ruleset)})
    row = send(
        db,
        renderer,
        "review_due.txt.j2",
        case_line(ruleset, case),
        purpose="review-due",
        to=to,
        ruleset=ruleset,
        case=case,
    )
    note(db, case, "review-due", f"urgent case closed: review due; told {', '.join(to)}", row)
    return True


def under_review(case: CaseRow | Mapping) -> bool:
    """Closed urgent case whose review is due and not done yet."""
    case = _row(case)
    return bool(case.review_due_at) and not case.review_done_at
