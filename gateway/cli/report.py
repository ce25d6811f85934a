"""``gateway report --period``: any period's figures against the previous one."""

from __future__ import annotations

import click

from gateway import period_report
from gateway.cli.base import (
    cli,
    database_option,
    load_ruleset,
    open_case_log,
    rules_option,
    settings_option,
)


@cli.command(name="report")
@click.option("--period", "text", required=True, help="2026, 2026-H1, 2026-Q3 or 2026-10.")
@click.option("--format", "fmt", type=click.Choice(["csv", "html"]), default="csv",
              show_default=True)  # fmt: skip
@database_option
@rules_option
@settings_option
def report_command(text, fmt, database, rules_file, settings_file) -> None:
    """The figures of a period beside the previous period of the same length, in total
    and per municipality, with the change in per cent and a trend arrow.

    \b
    Example:
        gateway report --period 2026-Q3 --format html > q3.html
    """
    try:
        period_report.period(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--period") from None
    ruleset = load_ruleset(rules_file, settings_file)
    lines = period_report.report(open_case_log(database, settings_file), ruleset, text)
    out = period_report.to_csv(lines) if fmt == "csv" else period_report.to_html(lines, text)
    click.echo(out, nl=False)
