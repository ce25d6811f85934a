"""What ``gateway classify`` and ``gateway rules test`` show: the plan for one file.

Both run the daemon's own decision chain (``gateway/decide/chain.py``) over the file
as if it had just arrived, against the case log when one is given: a reply is shown as
``thread`` or ``hold`` with its case, a message already in the log as ``duplicate``,
an administrator's answer to a triage note as ``admin-answer``, and so on.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from pathlib import Path

from gateway.decide.chain import plan
from gateway.decide.facts import Facts
from gateway.models import Arrival
from gateway.rules.base import RuleSet
from gateway.settings import Settings
from gateway.stage import StageContext
from gateway.store.db import Database

COMPARED = ("decision", "flow", "to", "cc", "municipality", "kind", "urgent", "external_ref")


def parse_at(value: str | None) -> dt.datetime:
    """An ISO 8601 arrival time; now when not given. Raises ValueError."""
    return dt.datetime.fromisoformat(value) if value else dt.datetime.now(dt.UTC)


def classify_bytes(
    raw: bytes,
    ruleset: RuleSet,
    mailbox: str | None,
    at: dt.datetime,
    db: Database | None = None,
    settings: Settings | None = None,
) -> dict:
    """The plan for one message as JSON; ``mailbox`` None: taken from its To/Cc."""
    stage = StageContext(db, ruleset, settings or Settings())
    arrival = Arrival(None, mailbox, at, len(raw), hashlib.sha256(raw).hexdigest())
    facts = Facts(arrival, stage, given_raw=raw)
    if mailbox is None and facts.unreadable is None:  # only the parse is worked out so far
        msg = facts.msg
        mailbox = next(filter(None, map(ruleset.mailbox_for, msg.to + msg.cc)), None)
        facts.arrival = dataclasses.replace(arrival, mailbox=mailbox)
    return plan(facts).as_json() | {"mailbox": mailbox}


def classify_file(
    path: Path,
    ruleset: RuleSet,
    mailbox: str | None,
    at: dt.datetime,
    db: Database | None = None,
    settings: Settings | None = None,
) -> dict:
    """The JSON object ``gateway classify --json`` prints for one .eml file."""
    return classify_bytes(path.read_bytes(), ruleset, mailbox, at, db, settings)


def run_rules_test(folder: Path, ruleset) -> list[tuple[str, str, object, object]]:
    """Every NNN.eml against its NNN.expected.json; returns (file, field, want, got)."""
    differences = []
    for eml in sorted(folder.glob("*.eml")):
        expected_file = eml.with_suffix(".expected.json")
        if not expected_file.exists():
            differences.append((eml.name, "expected.json", "present", "missing"))
            continue
        want = json.loads(expected_file.read_text(encoding="utf-8"))
        at = parse_at(want.get("at"))
        got = classify_file(eml, ruleset, want.get("mailbox"), at)
        for key in COMPARED:
            if key in want and got.get(key) != want[key]:
                differences.append((eml.name, key, want[key], got.get(key)))
    return differences
