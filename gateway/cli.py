"""The ``gateway`` command: run the daemon, and check rules and messages without sending."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click

from gateway import settings as settings_mod
from gateway.decide.classify import COMPARED, classify_file, run_rules_test
from gateway.rules.loader import RulesError, load_rules
from gateway.store import open_db


def settings_option(fn):
    return click.option(
        "--settings",
        "settings_file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="TOML settings file (default: $AVVIK_SETTINGS, or ./gateway.toml if present).",
    )(fn)


def rules_option(fn):
    return click.option(
        "--rules",
        "rules_file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Rules file (default: rules_file from the settings, rules.yaml).",
    )(fn)


def _settings(settings_file: Path | None) -> settings_mod.Settings:
    try:
        return settings_mod.load(settings_file)
    except settings_mod.SettingsError as exc:
        raise click.ClickException(str(exc)) from exc


def _ruleset(rules_file: Path | None, settings_file: Path | None = None):
    path = rules_file or _settings(settings_file).rules_file
    try:
        return load_rules(path)
    except RulesError as exc:
        for problem in exc.problems:
            click.echo(problem, err=True)
        raise click.ClickException(
            f"{path}: {len(exc.problems)} problem(s); nothing was done"
        ) from None


def _case_log(database: Path | None, settings_file: Path | None):
    """The case log to look replies up in: --database, else the settings' if it exists."""
    path = database or _settings(settings_file).database_path
    return open_db(path) if path.exists() else None


def _parse_at(value: str | None) -> dt.datetime:
    if not value:
        return dt.datetime.now(dt.UTC)
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"not an ISO 8601 time: {value}", param_hint="--at") from exc


@click.group()
@click.version_option(package_name="avviksgateway")
def cli():
    """avviksgateway: relays deviation reports (avvik) by e-mail, by the rules in rules.yaml."""


@cli.command(name="serve")
@settings_option
@click.option("-v", "--verbose", is_flag=True, help="Log debug detail.")
def serve(settings_file, verbose):
    """Run the gateway: intake, rules, case log and outbox, until SIGTERM or Ctrl-C.

    \b
    Example:
        gateway serve --settings /etc/avviksgateway/gateway.toml
    """
    from gateway.daemon import run

    sys.exit(run(_settings(settings_file), verbose=verbose))


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
def classify(file, mailbox, at, as_json, database, rules_file, settings_file):
    """Decide one message by the rules, without sending or storing anything.

    \b
    Example:
        gateway classify message.eml --mailbox support --at 2026-03-10T10:12:00+01:00 --json
    """
    db = _case_log(database, settings_file)
    result = classify_file(file, _ruleset(rules_file, settings_file), mailbox, _parse_at(at), db)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    for key in (*COMPARED, "case", "matched_by", "rules", "reason"):
        value = result.get(key)
        click.echo(f"{key:13} {', '.join(value) if isinstance(value, list) else value}")


@cli.command(name="check-rules")
@rules_option
@settings_option
def check_rules(rules_file, settings_file):
    """Check a rules file and print every problem with its line.

    \b
    Example:
        gateway check-rules --rules rules.yaml
    """
    ruleset = _ruleset(rules_file, settings_file)
    click.echo(
        f"{ruleset.path}: OK, {len(ruleset.rules)} rules, "
        f"{len(ruleset.directory.parties)} parties, {len(ruleset.mailboxes)} mailboxes"
    )


@cli.group(name="rules")
def rules_group():
    """Work with rules.yaml."""


@rules_group.command(name="test")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@rules_option
@settings_option
def rules_test(folder, rules_file, settings_file):
    """Run every *.eml in FOLDER against its *.expected.json; exit 1 on any difference.

    \b
    Example:
        gateway rules test tests/messages/
    """
    ruleset = _ruleset(rules_file, settings_file)
    total = len(list(folder.glob("*.eml")))
    differences = run_rules_test(folder, ruleset)
    if differences:
        click.echo(f"{'message':16} {'field':13} {'expected':30} got")
        for name, key, want, got in differences:
            click.echo(
                f"{name:16} {key:13} {json.dumps(want, ensure_ascii=False):30} "
                f"{json.dumps(got, ensure_ascii=False)}"
            )
    failed = len({d[0] for d in differences})
    click.echo(f"{total - failed} of {total} messages decided as expected")
    sys.exit(1 if differences else 0)


def main():  # pragma: no cover - console entry point
    cli()


# The other command groups register themselves on cli when imported.
from gateway import cli_jobs, cli_log, cli_stats  # noqa: E402,F401
