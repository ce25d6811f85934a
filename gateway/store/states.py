"""The closed lists of states the case log's rows move through, declared once.

``StrEnum`` members compare equal to the plain strings stored in SQLite, so a row read
back compares with them directly and the tables stay readable in any SQLite browser.
"""

from __future__ import annotations

from enum import StrEnum


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class MessageState(StrEnum):
    """An incoming message: stored before it is acknowledged, then decided once."""

    RECEIVED = "received"  # stored by intake, waiting for the pipeline
    DONE = "done"  # decided; ``outcome`` says how
    QUARANTINED = "quarantined"  # parked for a human, with the reason
    DROPPED = "dropped"  # ended by an administrator; the record stays, the bytes go
    QUEUED = "queued"  # an outgoing message waiting in the outbox
    SENT = "sent"
    FAILED = "failed"


class OutboxState(StrEnum):
    """A delivery: claimed while sending, retried on 4xx, failed for good on 5xx."""

    QUEUED = "queued"
    SENDING = "sending"
    RETRY = "retry"
    SENT = "sent"
    FAILED = "failed"


class CaseStatus(StrEnum):
    """A case's status, as the procedures name it (the stored value is the key)."""

    REGISTERED = "registrert"
    IN_PROGRESS = "under behandling"
    TO_CLOSE = "til lukking"
    CLOSED = "lukket"
