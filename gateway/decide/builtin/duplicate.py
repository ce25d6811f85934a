"""Built-in chain rule: the same message again (fetched twice, sent to both mailboxes)."""

from __future__ import annotations

from gateway.decide.facts import Facts


class Duplicate:
    """See `Rule`."""

    name = "duplicate"
    description = "A message the case log already has (same bytes, or same id, sender and body)."
    record = True

    def check(self, facts: Facts) -> bool:
        original = facts.duplicate_of
        if original is None:
            return False
        facts.notes.append(
            f"duplicate of message {original} ({facts.msg.message_id or 'same bytes'}): dropped"
        )
        return True
