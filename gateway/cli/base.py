"""The ``gateway`` click group and what its commands share: options, settings, rules, the
case log. The command modules import from here, never from the package, so that the
package can import them to register their commands without a cycle."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from gateway import settings as settings_mod
from gateway.i18n import DEFAULT_LANGUAGE, phrases
from gateway.store import open_db
from gateway.store.db import Database

if TYPE_CHECKING:  # imported where used: the commands that read no rules start faster
    from gateway.render import Renderer
    from gateway.rules.base import RuleSet

F = TypeVar("F", bound=Callable)


# Each command and the module that defines it (and registers it on ``cli`` when imported).
COMMANDS = {
    "attachments": "attachments", "cases": "cases", "purge": "cases", "demo": "demo",
    "init": "init", "jobs": "jobs", "quarantine": "quarantine", "report": "report",
    "serve": "rules", "classify": "rules", "check-rules": "rules", "rules": "rules",
    "stats": "stats", "status": "status", "triage": "triage", "web": "web",
}  # fmt: skip


class LazyGroup(click.Group):
    """A group that imports a command's module when the command is asked for: the
    modules together take about half a second to import, most of it for commands
    (the daemon, the web view) that a quick ``gateway status`` never runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            importlib.import_module(f"gateway.cli.{COMMANDS[cmd_name]}")
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup)
@click.version_option(package_name="avviksgateway")
def cli() -> None:
    """avviksgateway: relays deviation reports (avvik) by e-mail, by the rules in rules.yaml."""


def settings_option(fn: F) -> F:
    return click.option(
        "--settings",
        "settings_file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="TOML settings file (default: $AVVIK_SETTINGS, or ./gateway.toml if present).",
    )(fn)


def rules_option(fn: F) -> F:
    return click.option(
        "--rules",
        "rules_file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Rules file (default: rules_file from the settings, rules.yaml).",
    )(fn)


def database_option(fn: F) -> F:
    return click.option(
        "--database",
        type=click.Path(dir_okay=False, path_type=Path),
        help="The case log (default: the settings' database).",
    )(fn)


def load_settings(settings_file: Path | None) -> settings_mod.Settings:
    """The settings, or a one-line error naming the file and the problem."""
    try:
        return settings_mod.load(settings_file)
    except settings_mod.SettingsError as exc:
        raise click.ClickException(str(exc)) from exc


def load_ruleset(rules_file: Path | None, settings_file: Path | None = None) -> RuleSet:
    """The rules, or every problem with its line and nothing done."""
    from gateway.rules.loader import RulesError, load_rules

    path = rules_file or load_settings(settings_file).rules_file
    try:
        return load_rules(path)
    except RulesError as exc:
        for problem in exc.problems:
            click.echo(problem, err=True)
        raise click.ClickException(
            f"{path}: {len(exc.problems)} problem(s); nothing was done"
        ) from None


def case_log_if_exists(database: Path | None, settings_file: Path | None) -> Database | None:
    """The case log to look replies up in: --database, else the settings' if it exists."""
    path = database or load_settings(settings_file).database_path
    return open_db(path) if path.exists() else None


def open_case_log(database: Path | None, settings_file: Path | None) -> Database:
    """The case log a command reads or tends; an error when there is none yet."""
    path = database or load_settings(settings_file).database_path
    if not path.exists():
        raise click.ClickException(
            f"{path}: no case log here (start the gateway once, or --database)"
        )
    return open_db(path)


def make_renderer(settings: settings_mod.Settings, ruleset: RuleSet | None = None) -> Renderer:
    """The renderer, in the language of the rules when they are given."""
    from gateway.render import Renderer

    s = settings
    return Renderer(s.gateway_address, s.gateway_name, s.templates_dir, rules=ruleset)


def say(key: str, language: str = DEFAULT_LANGUAGE, **values: object) -> str:
    """A phrase of ``templates/<language>/phrases/cli.yaml`` (the key without ``cli.``)."""
    return phrases(language)(f"cli.{key}", **values)
