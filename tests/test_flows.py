"""rules.yaml ``flows:``: declared once, checked at load, read by everyone else."""

from __future__ import annotations

import ast

import pytest
from conftest import ROOT

from gateway.rules.loader import RulesError, load_rules

SHIPPED = (ROOT / "rules.yaml").read_text(encoding="utf-8")


def load_edited(tmp_path, old: str, new: str):
    """The shipped rules with one edit: (problems or None, the edited line's number)."""
    assert old in SHIPPED, old
    text = SHIPPED.replace(old, new, 1)
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    changed = next(i for i, s in enumerate(new.splitlines()) if s not in old.splitlines())
    line = text[: text.index(new)].count("\n") + 1 + changed
    try:
        load_rules(path)
    except RulesError as exc:
        return exc.problems, line
    return None, line


def test_the_shipped_flows_in_order_with_their_deadlines_and_escalation(ruleset):
    assert list(ruleset.flows) == ["a", "b", "c", "d"]
    a, d = ruleset.flows["a"], ruleset.flows["d"]
    assert (a.name, a.label, a.escalate_to) == ("a", "kommune til leverandør", "management")
    assert ruleset.deadline_days("a") == (10, 30) == (a.measures_days, a.close_days)
    assert ruleset.deadline_days("d") == (5, 20) == (d.measures_days, d.close_days)
    assert ruleset.deadline_days(None) == (10, 20)
    assert ruleset.flows["b"].escalate_to == "response_centre_lead"


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("      flow: d\n", "      flow: e\n", "rule 'flow-d': unknown flow 'e'"),
        ("      flow: a\n      text_words", "      flow: x\n      text_words", "unknown flow 'x'"),
        (
            "    if:\n      flow: a\n",
            "    if:\n      any: [{flow: q}]\n",
            "rule 'common-interest': unknown flow 'q'",
        ),
        (
            "    escalate_to: response_centre_lead\n  c:",
            "    escalate_to: nobody\n  c:",
            "flows: b: escalate_to: unknown party 'nobody'",
        ),
        ("    measures: 5 ", "    measures: 0 ", "flows: d: measures: a whole number"),
        ("    label: kommune til responssenter", "    labl: x", "flows: b: unknown key 'labl'"),
    ],
)
def test_a_wrong_flow_is_an_error_with_file_and_line(tmp_path, old, new, message):
    problems, line = load_edited(tmp_path, old, new)
    assert problems, "loaded"
    hit = next((p for p in problems if message in p), None)
    assert hit, problems
    assert hit.startswith(f"{tmp_path / 'rules.yaml'}:{line}:"), (hit, line)


def test_the_old_per_flow_keys_say_where_they_went(tmp_path):
    old = "deadlines:\n  measures: 10\n  close: 20\n"
    problems, _ = load_edited(tmp_path, old, old + "  flows:\n    a: {measures: 1, close: 2}\n")
    assert any("deadlines: flows: moved to the flows: section" in p for p in problems)
    old = "  catch_up_hours: 6\n"
    problems, line = load_edited(tmp_path, old, old + "  escalate_to: {a: management}\n")
    assert any(f":{line}: follow_up: escalate_to: moved to flows:" in p for p in problems)


def test_the_rules_do_not_import_the_scheduler():
    for path in sorted((ROOT / "gateway" / "rules").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith("gateway.scheduler"), path
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("gateway.scheduler") for a in node.names), path
