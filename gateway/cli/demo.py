"""``gateway demo DIR``: a throw-away case log of invented cases (gateway/demo.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from gateway.cli.base import cli, load_ruleset, rules_option, settings_option


@cli.command(name="demo")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--today", help="The day the demo pretends it is, YYYY-MM-DD (default: today).")
@rules_option
@settings_option
def demo(folder: Path, today: str | None, rules_file, settings_file) -> None:
    """Fill a new folder with a case log of invented cases over the last three months,
    sent through the real pipeline, so that the statistics, the monthly report and the
    digests show something at once. Nothing is sent: mail goes to FOLDER/outbox-sent.

    \b
    Example:
        gateway demo /tmp/avvik-demo
    """
    try:
        day = dt.date.fromisoformat(today) if today else dt.date.today()
    except ValueError:
        raise click.BadParameter(f"{today!r} is not YYYY-MM-DD", param_hint="--today") from None
    from gateway.demo import fill  # the pipeline's imports only for this command

    try:
        made = fill(folder, load_ruleset(rules_file, settings_file), day)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    last = (made.report_month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    last -= dt.timedelta(days=1)
    db = f"--database {made.database}"
    click.echo(f"case log: {made.database}")
    click.echo(f"{made.mails} mails (relays, receipts, digests, the monthly report): {made.outbox}")
    click.echo("Try:")
    click.echo(f"  gateway cases list {db}")
    click.echo(f"  gateway stats {db} --from {made.first} --to {last} --by month,flow")
    click.echo(f"  gateway jobs {db} run monthly-report --month {made.report_month:%Y-%m}")
