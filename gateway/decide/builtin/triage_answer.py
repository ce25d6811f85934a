"""Built-in chain rules: an answer to a triage note ('[Til vurdering #17] …')."""

from __future__ import annotations

from gateway.decide.facts import Facts
from gateway.decide.triage_answer import note_number


class TriageAnswer:
    """See `Rule`."""

    name = "admin-answer"
    description = "An administrator's answer to a triage note decides the message it names."
    record = True

    def check(self, facts: Facts) -> bool:
        number = note_number(facts.msg.subject)
        if number is None or not facts.is_admin:
            return False
        facts.notes.append(f"answer to triage note #{number} from {facts.msg.from_addr}")
        return True


class ForeignTriageAnswer:
    """See `Rule`."""

    name = "foreign-triage-answer"
    description = "An answer to a triage note from anyone else is never obeyed nor relayed."
    record = True

    def check(self, facts: Facts) -> bool:
        if note_number(facts.msg.subject) is None:
            return False
        facts.notes.append(
            "An answer to a triage note from someone who is not an administrator: refused."
        )
        return True
