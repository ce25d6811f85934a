"""``gateway report --period``: any period's figures against the previous one, or with
``--closed-cases`` every case closed in it, de-identified (what a scheduled report's
bounded list leaves out: gateway/period_mail.py)."""

from __future__ import annotations

import datetime as dt

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


def _span(text: str, dates: bool) -> period_report.Span:
    """The period's first and last day; with ``dates``, also ``2026-01-01..2026-08-31``
    (a scheduled report's year-to-date has no name of its own)."""
    try:
        if dates and ".." in text:
            first, last = (dt.date.fromisoformat(d.strip()) for d in text.split("..", 1))
            if first > last:
                raise ValueError(f"{first} is after {last}")
            return first, last
        return period_report.period(text)[:2]
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--period") from None


@cli.command(name="report")
@click.option("--period", "text", required=True,
              help="2026, 2026-H1, 2026-Q3 or 2026-10; with --closed-cases also "
                   "2026-01-01..2026-08-31.")  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(["csv", "html"]), default="csv",
              show_default=True)  # fmt: skip
@click.option("--closed-cases", "closed", is_flag=True,
              help="Every case closed in the period instead (CSV: reference, category, "
                   "cause, measures), de-identified as the mailed reports list them.")  # fmt: skip
@database_option
@rules_option
@settings_option
def report_command(text, fmt, closed, database, rules_file, settings_file) -> None:
    """The figures of a period beside the previous period of the same length, in total
    and per municipality, with the change in per cent and a trend arrow.

    \b
    Example:
        gateway report --period 2026-Q3 --format html > q3.html
        gateway report --period 2026 --closed-cases > closed-2026.csv
    """
    span = _span(text, closed)
    ruleset = load_ruleset(rules_file, settings_file)
    if closed:
        from gateway.period_mail import closed_csv

        if fmt != "csv":
            raise click.BadParameter("the closed cases are CSV only", param_hint="--format")

        click.echo(closed_csv(open_case_log(database, settings_file), ruleset, span), nl=False)
        return
    lines = period_report.report(open_case_log(database, settings_file), ruleset, text)
    out = period_report.to_csv(lines) if fmt == "csv" else period_report.to_html(lines, text)
    click.echo(out, nl=False)
