"""What the notices show of the record, and the request to confirm a closing."""

from __future__ import annotations

from gateway.case import participants
from gateway.case.informed import INFORMED
from gateway.models import Incoming
from gateway.stage import StageContext
from gateway.store import record as measures
from gateway.store.caselog import CaseRow
from gateway.store.db import Database
from gateway.threads.notify import send


def record_context(db: Database, case: CaseRow) -> dict:
    """The record as the relay's header block and the notices show it."""
    return {
        "record": {
            "event_date": case.event_date,
            "category": case.category,
            "immediate_measure": case.immediate_measure,
            "cause": case.cause,
            "closed_without_measures": case.closed_without_measures,
            "measures": measures.measures_of(db, case.id),
        }
    }


def ask_to_confirm(stage: StageContext, item: Incoming, case: CaseRow, context: dict,
                   addresses: tuple[str, ...]) -> None:  # fmt: skip
    """The case is *til lukking*: those who confirm are asked to, by e-mail."""
    if addresses:
        send(stage, "closing_request.txt.j2", context, "closing-request", list(addresses),
             case, item)  # fmt: skip


def tell_receivers(stage: StageContext, item: Incoming, case: CaseRow, context: dict) -> None:
    """A change the reporting side made (the date of the event, a confirmation) with no
    text to relay: the receiving side gets the same notice as the reporter would."""
    receivers = participants.addresses(stage.db, case.id, participants.RECEIVER)
    send(stage, "status.txt.j2", context, "status", receivers, case, item)


def informed_of(stage: StageContext, case: CaseRow, item: Incoming, decision) -> list[str]:
    """The informed side of the case (gateway/case/informed.py), but not the sender nor
    anyone the relay already goes to."""
    skip = {item.parsed.from_addr, *(decision.to if decision else ())}
    return [a for a in participants.addresses(stage.db, case.id, INFORMED) if a not in skip]
