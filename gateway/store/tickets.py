"""The parties' own ticket numbers for cases (table ``case_tickets``)."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.store import insert, now
from gateway.store.cases import CaseRef
from gateway.store.db import Database


@dataclass(frozen=True)
class Ticket:
    """A party's ticket number for a case, as its helpdesk writes it."""

    case_id: int
    party: str
    name: str  # the pattern's name: "Tellu"
    number: str
    tag: str  # what our subjects to the party carry: "[Tellu #12345]"

    @property
    def shown(self) -> str:
        """How people read it: "Tellu #12345"."""
        return f"{self.name} #{self.number}"


_COLUMNS = "case_id, party, name, number, tag"


def record(db: Database, ticket: Ticket, message_id: int | None) -> bool:
    """Keep the party's first ticket number for the case; False if it has one already."""
    if of_case_party(db, ticket.case_id, ticket.party) is not None:
        return False
    values = {k: getattr(ticket, k) for k in _COLUMNS.split(", ")}
    insert(db, "case_tickets", values | {"recorded_at": now(), "message_id": message_id})
    return True


def of_case_party(db: Database, case_id: int, party: str) -> Ticket | None:
    row = db.execute(
        f"SELECT {_COLUMNS} FROM case_tickets WHERE case_id = ? AND party = ?", [case_id, party]
    ).fetchone()
    return Ticket(*row) if row else None


def of_case(db: Database, case_id: int) -> list[Ticket]:
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM case_tickets WHERE case_id = ? ORDER BY party", [case_id]
    ).fetchall()
    return [Ticket(*row) for row in rows]


def case_by_ticket(db: Database, party: str, number: str) -> CaseRef | None:
    """The case a party's ticket number belongs to (the newest, should two share it)."""
    row = db.execute(
        "SELECT c.id, c.reference, c.status, c.receiving_party FROM cases c "
        "JOIN case_tickets t ON t.case_id = c.id WHERE t.party = ? AND t.number = ? "
        "ORDER BY c.id DESC LIMIT 1",
        [party, number],
    ).fetchone()
    return CaseRef(*row) if row else None


def shown_by_reference(db: Database, references: list[str]) -> dict[str, str]:
    """Each case's tickets as people read them ("Tellu #12345"), by case reference."""
    out: dict[str, list[str]] = {}
    for start in range(0, len(references), 500):
        chunk = references[start : start + 500]
        marks = ",".join("?" * len(chunk))
        sql = (
            "SELECT c.reference, t.name, t.number FROM case_tickets t JOIN cases c "
            f"ON c.id = t.case_id WHERE c.reference IN ({marks}) ORDER BY t.party"
        )
        for reference, name, number in db.execute(sql, chunk).fetchall():
            out.setdefault(reference, []).append(f"{name} #{number}")
    return {k: ", ".join(v) for k, v in out.items()}
