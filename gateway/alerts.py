"""Messages to the administrators about the gateway itself (not about a case)."""

from __future__ import annotations

import json

from sqlite_utils import Database

from gateway.outbox.queue import enqueue
from gateway.render import Renderer
from gateway.rules.base import RuleSet


def delivery_failed(
    db: Database, row: dict, error: str, ruleset: RuleSet, renderer: Renderer
) -> None:
    """Tell the administrators once that an outbox row failed for good."""
    case = (
        db.execute("SELECT reference, subject FROM cases WHERE id = ?", [row["case_id"]]).fetchone()
        if row["case_id"]
        else None
    )
    admins = list(ruleset.directory[ruleset.triage_party].receivers)
    alert = renderer.message(
        "delivery_failed.txt.j2",
        {
            "reference": case[0] if case else None,
            "subject": case[1] if case else row["purpose"],
            "purpose": row["purpose"],
            "recipients": json.loads(row["recipients"]),
            "attempts": row["attempts"],
            "error": error,
            "outbox_id": row["id"],
        },
        purpose="alert",
        to=admins,
        case_id=row["case_id"],
    )
    enqueue(db, alert)
