"""Built-in chain rule: the on-call duty's commands (#vurdert, #haster, #gjennomgått)."""

from __future__ import annotations

from gateway.decide.facts import Facts
from gateway.followup.commands import is_for_follow_up


class OnCallCommand:
    """See `Rule`."""

    name = "on-call-command"
    description = "Commands from the on-call duty or an administrator are carried out, not relayed."
    record = True

    def check(self, facts: Facts) -> bool:
        msg = facts.msg
        if not is_for_follow_up(msg.new_text, facts.ruleset, msg.from_addr):
            return False
        facts.notes.append(f"follow-up command(s) from {msg.from_addr}")
        return True
