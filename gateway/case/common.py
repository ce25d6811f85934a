"""Small pieces the case stage and the thread stage share: times and the redaction event."""

from __future__ import annotations

import datetime as dt

from gateway.attachments import is_executable
from gateway.i18n import phrases
from gateway.privacy.policy import Deidentified
from gateway.rules.base import RuleSet
from gateway.store import event
from gateway.store.db import Database


def local_time(ruleset: RuleSet, at: dt.datetime) -> str:
    """A moment as the deployment's mail shows it (local time, its language)."""
    return phrases(ruleset.language)("common.time", at=ruleset.hours.local(at))


def local_date(ruleset: RuleSet, day: dt.date) -> str:
    return phrases(ruleset.language)("common.date", day=day)


def redacted_event(db: Database, shown: Deidentified, case_id: int, row_id: int) -> None:
    """On record that personal data was removed: counts and kinds, never the data."""
    if shown.findings or shown.withheld:
        event(
            db,
            "redacted",
            f"{shown.summary() or 'no text findings'}; "
            f"{len(shown.withheld)} attachment(s) held back",
            case_id=case_id,
            message_id=row_id,
        )


def attachment_lists(names: list[str], shown: Deidentified | None) -> dict[str, list[str]]:
    """How a relay lists a report's attachments (relay.txt.j2, urgent.txt.j2): those it
    carries, and those held back as executables, for personal data, or as unreadable."""
    skip = shown.skip if shown else frozenset()
    return {
        "attachments": [n for n in names if not is_executable(n) and n not in skip],
        "withheld": [n for n in names if is_executable(n) and n not in skip],
        "personal_withheld": [n for n in shown.withheld if n not in shown.unreadable]
        if shown
        else [],
        "unreadable_withheld": shown.unreadable if shown else [],
    }
