"""Post-incident review: every urgent case is reviewed with the parties once closed.

Closing an urgent case opens the review (``review_due_at``) and tells the case's
parties and the administrators; ``#gjennomgått <oppsummering>`` from the on-call duty or
an administrator records it done. The summary is confidential: it stays in the case
log and is never relayed. While the review is open, the parties' replies about it go
between them as in any case, without reopening the closed case.
"""

from __future__ import annotations

from sqlite_utils import Database

from gateway.followup.common import admin_receivers, case_line, note, on_call_addresses, send
from gateway.render import Renderer
from gateway.rules.base import RuleSet
from gateway.store import now
from gateway.store import update as store_update
from gateway.threads import participants


def open_review(
    db: Database, case: dict, ruleset: RuleSet, renderer: Renderer, row_id: int | None
) -> bool:
    """Open the review of a closed urgent case, once; True if opened now."""
    if not case["urgent"] or case["review_due_at"]:
        return False
    store_update(db, "cases", case["id"], {"review_due_at": now()})
    parties = [
        *participants.addresses(db, case["id"], participants.REPORTER),
        *participants.addresses(db, case["id"], participants.RECEIVER),
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
    case["review_due_at"] = now()
    return True


def under_review(case: dict) -> bool:
    """Closed urgent case whose review is due and not done yet."""
    return bool(case.get("review_due_at")) and not case.get("review_done_at")
