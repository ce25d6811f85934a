"""Built-in chain rule: one report sent to more than one intake mailbox.

A message sent to both ``support`` and ``responssenter`` arrives twice, once in each
mailbox. The second copy is a duplicate of the first; but which copy comes first must
not decide where the report goes. So when the mailboxes its To and Cc name would give it
different flows, it goes to the administrators, whichever copy is read first. A copy sent
by Bcc names only one mailbox and cannot be told apart.
"""

from __future__ import annotations

from gateway.decide.facts import Facts


class TwoMailboxes:
    """See `Rule`."""

    name = "two-mailboxes"
    description = "A report sent to intake mailboxes that give it different flows is triaged."
    record = True

    def check(self, facts: Facts) -> bool:
        if len(facts.intake_mailboxes) < 2:  # the usual report: no second reading of it
            return False
        outcomes = facts.decisions_by_mailbox
        if len({(d.decision, d.flow) for d in outcomes.values()}) < 2:
            return False
        given = ", ".join(f"{box}: {d.flow or d.decision}" for box, d in outcomes.items())
        facts.notes.append(f"Sent to more than one intake mailbox, with different flows ({given}).")
        return True
