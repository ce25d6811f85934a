"""Built-in chain rule: ``#oversikt``, a participant asking for their open cases."""

from __future__ import annotations

from gateway.decide.facts import Facts
from gateway.threads.record_commands import is_overview


class OverviewRequest:
    """See `Rule`."""

    name = "overview-request"
    description = "#oversikt asks for the sender's open cases: answered, never relayed."
    record = True

    def check(self, facts: Facts) -> bool:
        if not is_overview(facts.msg.new_text):
            return False
        facts.notes.append(f"#oversikt from {facts.msg.from_addr or 'no sender'}")
        return True
