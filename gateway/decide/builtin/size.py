"""Built-in chain rule: a message over ``max_message_bytes`` is never read."""

from __future__ import annotations

from gateway.decide.facts import Facts


class TooLarge:
    """See `Rule`."""

    name = "too-large"
    description = "A message over the size limit is quarantined unread; a known sender is told."
    record = True

    def check(self, facts: Facts) -> bool:
        limit = facts.stage.settings.max_message_bytes
        if facts.arrival.size <= limit:
            return False
        facts.notes.append(
            f"too large: {facts.arrival.size / 2**20:.1f} MB, the limit is {limit / 2**20:.0f} MB"
        )
        return True
