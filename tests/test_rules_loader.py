"""rules.yaml loading: every problem named with file and line; the CLI and daemon refuse it."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from conftest import ROOT

from gateway.cli import cli
from gateway.rules.loader import RulesError, load_rules

SHIPPED = (ROOT / "rules.yaml").read_text(encoding="utf-8")


def broken(tmp_path, old: str, new: str):
    """The shipped rules with one edit; returns the path and the edited line number."""
    assert old in SHIPPED, old
    text = SHIPPED.replace(old, new, 1)
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    common = next(i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b)
    return path, SHIPPED[: SHIPPED.index(old) + common].count("\n") + 1


def problems(path) -> list[str]:
    with pytest.raises(RulesError) as err:
        load_rules(path)
    return err.value.problems


def test_shipped_rules_load(ruleset):
    assert len(ruleset.directory.municipalities()) == 25
    assert ruleset.mailboxes == {
        "support": "support@trygghet-agder.example",
        "responssenter": "responssenter@trygghet-agder.example",
    }
    assert [r.name for r in ruleset.rules][:1] == ["automatic-mail"]


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("to: [supplier]", "to: [suplier]", "unknown party 'suplier' in to"),
        (
            "mailbox: support\n      sender: municipality",
            "mailbox: suport\n      sender: municipality",
            "unknown suport",
        ),
        (
            "if:\n      text_words: urgent",
            "if:\n      text_words: urgnet_words",
            "no word list 'urgnet_words'",
        ),
        ("Importance: '^\\s*high'", "Importance: '^(high'", "bad regular expression"),
        ("decision: ignore", "decision: drop", "decision must be one of"),
        ("  - name: flow-d", "  - name: flow-a", "the name is used twice"),
        ("topic: {municipalities: one}", "topic: {municipalities: two}", "no group two"),
        (
            "    if:\n      mailbox: support\n      sender: response_centre",
            "    if:\n      mailbox: support\n      sendr: response_centre",
            "unknown condition 'sendr'",
        ),
        ('holidays: "NO"', "holidays: NO", "holidays must be a country code in quotes"),
        (
            'senders: ["*@leverandor.example"]',
            'senders: ["leverandor.example"]',
            "is not an address or *@domain",
        ),
    ],
)
def test_a_broken_rule_is_reported_with_file_and_line(tmp_path, old, new, message):
    path, line = broken(tmp_path, old, new)
    found = problems(path)
    assert any(message in p for p in found), found
    hit = next(p for p in found if message in p)
    reported = int(hit.split(":")[1])
    assert hit.startswith(f"{path}:")
    assert reported == line, (hit, line)  # the very line that is wrong


def test_every_problem_is_reported_not_just_the_first(tmp_path):
    text = SHIPPED.replace("to: [supplier]", "to: [nobody]").replace(
        "flow: a\n", "flow: a\n      colour: red\n", 1
    )
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    found = problems(path)
    assert any("unknown party 'nobody'" in p for p in found)
    assert any("unknown action(s) colour" in p for p in found)


def test_yaml_syntax_error_names_the_line(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text("mailboxes:\n  support: [unclosed\nrules: []\n")
    (problem,) = problems(path)
    assert problem.startswith(f"{path}:3:") or problem.startswith(f"{path}:2:"), problem


def test_missing_file_is_a_clear_error(tmp_path):
    (problem,) = problems(tmp_path / "nope.yaml")
    assert "cannot read" in problem


def test_check_rules_command(tmp_path):
    ok = CliRunner().invoke(cli, ["check-rules", "--rules", str(ROOT / "rules.yaml")])
    assert ok.exit_code == 0 and "OK" in ok.output
    path, line = broken(tmp_path, "to: [supplier]", "to: [suplier]")
    bad = CliRunner().invoke(cli, ["check-rules", "--rules", str(path)])
    assert bad.exit_code == 1
    assert f"{path}:" in bad.output and "suplier" in bad.output


def test_daemon_refuses_to_start_on_broken_rules(tmp_path):
    from gateway.daemon import run
    from gateway.settings import Settings

    path, _ = broken(tmp_path, "to: [supplier]", "to: [suplier]")
    settings = Settings(data_dir=tmp_path / "var", rules_file=path, smtp_intake_port=None)
    assert run(settings) == 2
    assert not (tmp_path / "var" / "gateway.db").exists()


def test_reload_keeps_the_old_rules_when_the_new_file_is_broken(tmp_path):
    from gateway.daemon import Rules
    from gateway.settings import Settings

    path = tmp_path / "rules.yaml"
    path.write_text(SHIPPED)
    rules = Rules(Settings(rules_file=path))
    old = rules()
    path.write_text(SHIPPED.replace("to: [supplier]", "to: [suplier]"))
    assert rules.reload() is False and rules() is old
    path.write_text(SHIPPED.replace("reference_prefix: AVVIK", "reference_prefix: AVV"))
    assert rules.reload() is True and rules().reference_prefix == "AVV"
