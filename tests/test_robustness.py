"""Real-world mail (../shared/corpus/real-world) never makes parsing or deciding raise."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import CORPUS

from gateway.decide.yaml_rules import decide
from gateway.parse import UnparseableMessage, parse

ROWS = []
if (CORPUS / "index.tsv").exists():
    for line in (CORPUS / "index.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        path, source, category, size, fmt, flags = line.split("\t")
        if fmt == "eml":
            ROWS.append((path, category))


@pytest.mark.skipif(not ROWS, reason="../shared/corpus/real-world is not beside the repo")
def test_every_corpus_message_is_decided_or_refused_with_a_reason(ruleset):
    at = dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)
    outcomes: dict[str, int] = {}
    for path, _category in ROWS:
        raw = (CORPUS / path).read_bytes()
        try:
            decision = decide(parse(raw), ruleset, "support", at)
        except UnparseableMessage as exc:
            assert str(exc), path
            outcome = "quarantine"
        else:
            assert decision.reason, path
            outcome = str(decision.decision)
            # Nobody wrongly told: nothing from these strangers is relayed anywhere.
            assert outcome != "relay", (path, decision)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    assert sum(outcomes.values()) == len(ROWS) > 1000
    bounces = [p for p, c in ROWS if c == "bounce"]
    assert outcomes["ignore"] >= 0.8 * len(bounces)  # most bounces are recognised as such
