"""Every example of the reference deployment decides as its NNN.expected.json says."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from conftest import EXAMPLES, ROOT

from gateway.cli import cli
from gateway.decide.classify import COMPARED

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.eml")) if EXAMPLES.exists() else []


@pytest.mark.skipif(not EXAMPLE_FILES, reason="../shared/scenario/examples is not beside the repo")
@pytest.mark.parametrize("eml", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_example_decides_as_expected(eml):
    want = json.loads(eml.with_suffix(".expected.json").read_text(encoding="utf-8"))
    result = CliRunner().invoke(
        cli,
        [
            "classify",
            str(eml),
            "--mailbox",
            want["mailbox"],
            "--at",
            want["at"],
            "--json",
            "--rules",
            str(ROOT / "rules.yaml"),
        ],
    )
    assert result.exit_code == 0, result.output
    got = json.loads(result.output)
    assert {k: got[k] for k in COMPARED} == {k: want[k] for k in COMPARED}, want.get("note")
    assert got["rules"], "the rules that matched are reported"
    assert got["reason"], "the reason is given in words"


@pytest.mark.skipif(not EXAMPLE_FILES, reason="../shared/scenario/examples is not beside the repo")
def test_rules_test_command_passes_on_the_examples_and_reports_a_difference(tmp_path):
    runner = CliRunner()
    ok = runner.invoke(cli, ["rules", "test", str(EXAMPLES), "--rules", str(ROOT / "rules.yaml")])
    assert ok.exit_code == 0, ok.output
    assert f"{len(EXAMPLE_FILES)} of {len(EXAMPLE_FILES)} messages decided as expected" in ok.output

    # A folder where one expectation is wrong: the table names file, field and values.
    for eml in EXAMPLE_FILES[:2]:
        (tmp_path / eml.name).write_bytes(eml.read_bytes())
        want = json.loads(eml.with_suffix(".expected.json").read_text(encoding="utf-8"))
        if eml == EXAMPLE_FILES[0]:
            want["flow"] = "d"
        (tmp_path / eml.with_suffix(".expected.json").name).write_text(json.dumps(want))
    bad = runner.invoke(cli, ["rules", "test", str(tmp_path), "--rules", str(ROOT / "rules.yaml")])
    assert bad.exit_code == 1
    assert EXAMPLE_FILES[0].name in bad.output and "flow" in bad.output
    assert "1 of 2 messages decided as expected" in bad.output
