"""What ``gateway classify`` and ``gateway rules test`` show: the decision for one file."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from gateway.decide.yaml_rules import decide
from gateway.parse import UnparseableMessage, parse
from gateway.threads.reply import thread_decision

COMPARED = ("decision", "flow", "to", "cc", "municipality", "kind", "urgent", "external_ref")


def parse_at(value: str | None) -> dt.datetime:
    """An ISO 8601 arrival time; now when not given. Raises ValueError."""
    return dt.datetime.fromisoformat(value) if value else dt.datetime.now(dt.UTC)


def classify_file(path: Path, ruleset, mailbox: str | None, at: dt.datetime, db=None) -> dict:
    """Decide one .eml file; the JSON object ``gateway classify --json`` prints.

    With a case log (``db``), a reply in one of its cases is reported as ``thread`` (or
    ``hold`` when its sender does not take part in the case), with the case's reference.
    """
    try:
        msg = parse(path.read_bytes())
    except UnparseableMessage as exc:
        return {"decision": "quarantine", "reason": str(exc)}
    if mailbox is None:
        mailbox = next(filter(None, map(ruleset.mailbox_for, msg.to + msg.cc)), None)
    decision = decide(msg, ruleset, mailbox, at)
    if db is not None:
        decision, _match = thread_decision(db, msg, ruleset, decision)
    return decision.as_json() | {"mailbox": mailbox}


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
