"""``#haster``: the case's first report goes out again with its attachments.

The receiving side may not have the first relay at hand when the on-call duty makes a
case urgent, so the urgent notice carries what the first relay carried: the report's
attachments, read again from the stored original. What the first relay held back stays
held back for the same reasons (executables; for a party that must not see personal
data, attachments with personal data or that could not be read completely), and the
notice names each one with its reason, as the relay does. When the original is purged,
the notice says that the attachments are no longer kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.case.common import attachment_lists
from gateway.models import ParsedMessage
from gateway.parse import UnparseableMessage, parse
from gateway.privacy.policy import deidentify
from gateway.rules.base import RuleSet
from gateway.store import get_raw
from gateway.store.db import Database

_LISTS = ("attachments", "withheld", "personal_withheld", "unreadable_withheld")


@dataclass(frozen=True)
class Carried:
    """What the urgent notice carries of the first report, and what it names as held."""

    original: ParsedMessage | None = None
    skip: frozenset[str] = frozenset()
    context: dict = field(default_factory=dict)  # for urgent.txt.j2

    def message_options(self) -> dict:
        """Renderer.message's keyword arguments for the attachments."""
        if self.original is None:
            return {}
        return {"original": self.original, "attachments": True, "skip": self.skip}


def carried(db: Database, ruleset: RuleSet, first_message_id: int, redacted: bool) -> Carried:
    """The first report's attachments for the urgent notice (``redacted``: a receiver
    must not see personal data)."""
    raw = get_raw(db, first_message_id)
    try:
        msg = parse(raw) if raw else None
    except UnparseableMessage:
        msg = None
    if msg is None:
        return Carried(context=dict.fromkeys(_LISTS, []) | {"attachments_purged": True})
    shown = deidentify(msg, ruleset) if redacted else None
    skip = shown.skip if shown else frozenset()
    names = [a.filename for a in msg.attachments]
    context = attachment_lists(names, shown) | {"attachments_purged": False}
    return Carried(msg, skip, context)
