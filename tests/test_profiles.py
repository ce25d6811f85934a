"""The reference deployments (issue 21): every profile loads and checks with no Python
change, decides its own examples, and `gateway init` makes a deployment from it."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from conftest import ROOT

from gateway.cli import cli
from gateway.decide.classify import run_rules_test
from gateway.rules.loader import load_rules

PROFILES = ("agder", "nordhordland", "hoglandet", "nav-lillehammer")
LANGUAGE = {"agder": "nb", "nordhordland": "nn", "hoglandet": "sv", "nav-lillehammer": "nb"}


def test_every_profile_is_shipped():
    assert sorted(p.name for p in (ROOT / "profiles").iterdir() if p.is_dir()) == sorted(PROFILES)


@pytest.mark.parametrize("name", PROFILES)
def test_a_profile_loads_in_its_language_and_check_rules_passes(name):
    rules = ROOT / "profiles" / name / "rules.yaml"
    assert load_rules(rules).language == LANGUAGE[name]
    result = CliRunner().invoke(cli, ["check-rules", "--rules", str(rules)])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("name", PROFILES)
def test_a_profile_decides_its_examples(name):
    folder = ROOT / "profiles" / name / "examples"
    examples = sorted(folder.glob("*.eml"))
    assert len(examples) >= 20
    assert run_rules_test(folder, load_rules(ROOT / "profiles" / name / "rules.yaml")) == []


@pytest.mark.parametrize("name", PROFILES)
def test_the_examples_cover_every_flow_triage_and_automatic_mail(name):
    rules = load_rules(ROOT / "profiles" / name / "rules.yaml")
    folder = ROOT / "profiles" / name / "examples"
    wanted = [json.loads(p.read_text(encoding="utf-8")) for p in folder.glob("*.expected.json")]
    assert {w["flow"] for w in wanted if w["decision"] == "relay"} == set(rules.flows)
    assert {"relay", "triage", "ignore"} <= {w["decision"] for w in wanted}
    assert all(w.get("note") for w in wanted)


def test_the_agder_profile_is_the_root_rules_file():
    """`make run` reads the root rules.yaml: it stays the Agder profile, word for word."""
    root = (ROOT / "rules.yaml").read_text(encoding="utf-8")
    assert (ROOT / "profiles" / "agder" / "rules.yaml").read_text(encoding="utf-8") == root


def test_a_wrong_decision_in_a_profile_example_is_reported(tmp_path):
    folder = ROOT / "profiles" / "nav-lillehammer" / "examples"
    for path in sorted(folder.glob("001.*")):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    wanted = json.loads((tmp_path / "001.expected.json").read_text(encoding="utf-8"))
    wanted["flow"] = "tqm"
    (tmp_path / "001.expected.json").write_text(json.dumps(wanted), encoding="utf-8")
    rules = load_rules(ROOT / "profiles" / "nav-lillehammer" / "rules.yaml")
    assert run_rules_test(tmp_path, rules) == [("001.eml", "flow", "tqm", "asys")]


@pytest.mark.parametrize("name", PROFILES)
def test_init_writes_a_deployment_that_checks_and_passes_its_examples(tmp_path, monkeypatch, name):
    rules = load_rules(ROOT / "profiles" / name / "rules.yaml")
    monkeypatch.setenv("AVVIK_SMTP_PASSWORD", "x")
    for box in rules.mailboxes:
        monkeypatch.setenv(f"AVVIK_IMAP_{box.upper().replace('-', '_')}", "x")
    folder = tmp_path / "deployment"
    runner = CliRunner()
    result = runner.invoke(cli, ["init", "--profile", name, str(folder)])
    assert result.exit_code == 0, result.output
    assert {p.name for p in folder.iterdir()} == {
        "rules.yaml", "gateway.toml", "FIRST-STEPS.md", "examples"
    }  # fmt: skip
    assert "Change these first" in (folder / "FIRST-STEPS.md").read_text(encoding="utf-8")
    settings = str(folder / "gateway.toml")
    result = runner.invoke(cli, ["check-rules", "--settings", settings])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["rules", "test", str(folder / "examples"), "--settings", settings])
    assert result.exit_code == 0 and "decided as expected" in result.output, result.output
    again = runner.invoke(cli, ["init", "--profile", name, str(folder)])
    assert again.exit_code != 0 and "not overwritten" in again.output


def test_init_refuses_an_unknown_profile(tmp_path):
    result = CliRunner().invoke(cli, ["init", "--profile", "oslo", str(tmp_path / "x")])
    assert result.exit_code != 0 and "no profile 'oslo'" in result.output
