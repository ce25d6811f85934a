"""``#oversikt`` by e-mail: a participant's open cases, and nothing for anyone else.

Anyone who takes part in cases (on the reporting or the receiving side, by address or
as one of the party's senders) may send a line ``#oversikt`` to an intake mailbox and
gets back a list of their open cases: reference, status, deadlines and the other
party, never a subject or a text. An unknown sender gets no answer at all, so that
the gateway does not even tell that cases exist. The message itself is an
instruction: it is not relayed and opens no case.
"""

from __future__ import annotations

from gateway.followup.common import party_name, send, show_date
from gateway.models import Incoming, Outcome
from gateway.rules.base import RuleSet
from gateway.stage import StageContext
from gateway.store import event
from gateway.store import messages as stored
from gateway.store.record import OpenCase, open_cases_of


def overview(stage: StageContext, item: Incoming) -> str:
    """Answer one ``#oversikt`` (in the caller's transaction); the reason recorded."""
    ruleset, who = stage.rules, item.parsed.from_addr
    party = ruleset.directory.sender(who)
    cases = open_cases_of(stage.db, who, party.key if party else None)
    if cases:
        lines = [overview_line(ruleset, case, who, party.key if party else None) for case in cases]
        send(stage.db, stage.renderer, "overview.txt.j2", {"cases": lines},
             purpose="overview", to=[who], ruleset=ruleset)  # fmt: skip
    reason = (
        f"#oversikt from {who}: {len(cases)} open case(s) listed"
        if cases
        else (f"#oversikt from {who}: takes part in no open case; nothing sent")
    )
    stored.finish(
        stage.db,
        item.row_id,
        {
            "outcome": str(Outcome.OVERVIEW),
            "reason": reason,
            "from_addr": who,
            "subject": item.parsed.subject,
        },
    )
    event(stage.db, "overview", reason, message_id=item.row_id)
    return reason


def overview_line(ruleset: RuleSet, case: OpenCase, who: str, party: str | None) -> dict:
    """One case as the list shows it: the other party from the sender's side."""
    receiving = case.receiving_party == party or case.side == "receiver"
    other = case.reporting_party if receiving else case.receiving_party
    return {
        "reference": case.reference,
        "status": case.status,
        "urgent": bool(case.urgent),
        "measures_due": show_date(ruleset, case.measures_due),
        "close_due": show_date(ruleset, case.close_due),
        "other_party": party_name(ruleset, other),
    }
