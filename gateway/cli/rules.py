"""``gateway serve``, ``classify``, ``check-rules`` and ``rules test``: run the daemon, and
check rules and messages without sending. Deciding is ``gateway.decide.classify``'s."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from gateway.cli.base import (
    case_log_if_exists,
    cli,
    load_ruleset,
    load_settings,
    rules_option,
    settings_option,
)
from gateway.decide.classify import COMPARED, classify_file, parse_at, run_rules_test

# classify's plain output: the compared fields, then why, then whatever else it tells.
FIRST_KEYS = (*COMPARED, "case", "matched_by", "rules", "reason")


@cli.command(name="serve")
@settings_option
@click.option("-v", "--verbose", is_flag=True, help="Log debug detail.")
def serve(settings_file: Path | None, verbose: bool) -> None:
    """Run the gateway: intake, rules, case log and outbox, until SIGTERM or Ctrl-C.

    \b
    Example:
        gateway serve --settings /etc/avviksgateway/gateway.toml
    """
    from gateway.daemon import run  # the daemon's imports are only for serve
    from gateway.settings_check import start_problems

    settings = load_settings(settings_file)
    if problems := start_problems(settings, load_ruleset(None, settings_file).mailboxes):
        for problem in problems:
            click.echo(problem, err=True)
        raise click.ClickException(f"{len(problems)} problem(s) in the settings; not started")
    sys.exit(run(settings, verbose=verbose))


def _at(value: str | None):
    try:
        return parse_at(value)
    except ValueError as exc:
        raise click.BadParameter(f"not an ISO 8601 time: {value}", param_hint="--at") from exc


def classify_lines(result: dict) -> list[str]:
    """One ``key value`` line per field, in a stable order: FIRST_KEYS, then the rest."""
    keys = [*FIRST_KEYS, *(k for k in result if k not in FIRST_KEYS)]
    lines = []
    for key in keys:
        value = result.get(key)
        shown = ", ".join(map(str, value)) if isinstance(value, list) else value
        lines.append(f"{key:13} {shown}")
    return lines


@cli.command(name="classify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--mailbox", help="Intake mailbox it arrived in (default: from To/Cc).")
@click.option("--at", "at", help="Arrival time, ISO 8601 (default: now).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option(
    "--database",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Case log to find replies in (default: the settings' database, if it exists).",
)
@rules_option
@settings_option
def classify(file, mailbox, at, as_json, database, rules_file, settings_file) -> None:
    """Decide one message by the rules, without sending or storing anything.

    \b
    Example:
        gateway classify message.eml --mailbox support --at 2026-03-10T10:12:00+01:00 --json
    """
    db = case_log_if_exists(database, settings_file)
    ruleset = load_ruleset(rules_file, settings_file)
    settings = load_settings(settings_file)  # the daemon's limits, max_message_bytes ...
    result = classify_file(file, ruleset, mailbox, _at(at), db, settings)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    for line in classify_lines(result):
        click.echo(line)


@cli.command(name="check-rules")
@rules_option
@settings_option
def check_rules(rules_file: Path | None, settings_file: Path | None) -> None:
    """Check a rules file and print every problem with its line.

    \b
    Example:
        gateway check-rules --rules rules.yaml
    """
    ruleset = load_ruleset(rules_file, settings_file)
    click.echo(
        f"{ruleset.path}: OK, {len(ruleset.rules)} rules, "
        f"{len(ruleset.directory.parties)} parties, {len(ruleset.mailboxes)} mailboxes"
    )


@cli.group(name="rules")
def rules_group() -> None:
    """Work with rules.yaml."""


def _difference_table(differences: list[tuple[str, str, object, object]]) -> list[str]:
    def shown(value: object) -> str:
        return json.dumps(value, ensure_ascii=False)

    lines = [f"{'message':16} {'field':13} {'expected':30} got"]
    for name, key, want, got in differences:
        lines.append(f"{name:16} {key:13} {shown(want):30} {shown(got)}")
    return lines


@rules_group.command(name="test")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@rules_option
@settings_option
def rules_test(folder: Path, rules_file: Path | None, settings_file: Path | None) -> None:
    """Run every *.eml in FOLDER against its *.expected.json; exit 1 on any difference.

    \b
    Example:
        gateway rules test tests/messages/
    """
    ruleset = load_ruleset(rules_file, settings_file)
    total = len(list(folder.glob("*.eml")))
    differences = run_rules_test(folder, ruleset)
    if differences:
        for line in _difference_table(differences):
            click.echo(line)
    failed = len({d[0] for d in differences})
    click.echo(f"{total - failed} of {total} messages decided as expected")
    sys.exit(1 if differences else 0)
