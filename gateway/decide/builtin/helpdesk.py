"""Built-in chain rule: a party's helpdesk notice (acknowledgement, status, solved, survey).

A ticket system answers every message with automatic mail. It is recorded in the case
and, by default, relayed to nobody; it never opens a case, never reopens a closed one and
never counts as the party's first answer (``gateway/helpdesk/record.py``).
"""

from __future__ import annotations

from gateway.decide.facts import Facts
from gateway.helpdesk.new_ticket import new_ticket
from gateway.helpdesk.notices import notice_kind
from gateway.helpdesk.tickets import from_helpdesk


class HelpdeskNotice:
    """See `Rule`."""

    name = "helpdesk-notice"
    description = "A party's helpdesk notice is recorded in its case, not relayed by default."
    record = True

    def check(self, facts: Facts) -> bool:
        party = from_helpdesk(facts.ruleset, facts.msg)
        if party is None or (kind := notice_kind(facts.msg)) is None:
            return False
        if facts.case_lookup == (None, None) and new_ticket(facts.ruleset, facts.msg):
            return False  # a new ticket, in no case: the rules decide it (point 6)
        where = facts.case.reference if facts.case else "no case"
        facts.notes.append(
            f"A helpdesk notice ({kind}) from {party.name} ({facts.msg.from_addr}) in {where}: "
            f"{party.helpdesk.notice(kind)}."
        )
        return True


def helpdesk_answer(facts: Facts) -> bool:
    """A person's answer through a party's helpdesk, in a case: ticket systems mark all
    their mail as bulk, so the automatic-mail test must not stop it."""
    return facts.case is not None and from_helpdesk(facts.ruleset, facts.msg) is not None
