"""``gateway status``: the mailboxes, what waits, the outbox, failures and alerts."""

from __future__ import annotations

import json

import click

from gateway.cli.base import cli, database_option, load_settings, open_case_log, settings_option
from gateway.cli.output import DEFAULT_ZONE, cell, local_time
from gateway.health import status


def _mailbox_line(box: dict, zone: str) -> str:
    state = "connected" if box["connected"] else "NOT connected"
    line = (
        f"mailbox {box['name']:14} {state:14} last fetch {local_time(box['last_fetch_at'], zone)}"
    )
    if box["last_error"]:
        line += f"  last error {local_time(box['last_error_at'], zone)}: {box['last_error']}"
    return line


def _alert_line(alert: dict, zone: str) -> str:
    raised = local_time(alert["raised_at"], zone)
    told = f"raised {raised}" if alert["state"] == "raised" else "not yet told"
    return (
        f"ALERT {alert['key']:20} since {local_time(alert['since'], zone)} ({told}): "
        f"{cell(alert['detail'])[:100]}"
    )


def status_lines(report: dict, zone: str = DEFAULT_ZONE) -> list[str]:
    """The plain-text status, one line each; times local, with their zone."""
    lines = [_mailbox_line(box, zone) for box in report["mailboxes"]]
    lines.append(
        f"waiting to be decided: {report['waiting']}   triage/held: {report['triage']}   "
        f"quarantined: {report['quarantined']}"
    )
    lines.append("outbox: " + ", ".join(f"{k} {v}" for k, v in report["outbox"].items()))
    for failure in report["last_failures"]:
        at = local_time(failure["at"], zone)
        lines.append(f"  {at}  {failure['kind']:16} {cell(failure['detail'])[:100]}")
    lines += [_alert_line(alert, zone) for alert in report["alerts"]]
    if not report["alerts"]:
        lines.append("alerts: none raised")
    return lines


@cli.command(name="status")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@database_option
@settings_option
def status_command(as_json: bool, database, settings_file) -> None:
    """Show per mailbox whether it is connected and its last fetch, what waits, the
    outbox queue, the last failures and the alerts raised.

    \b
    Example:
        gateway status
    """
    report = status(open_case_log(database, settings_file))
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    for line in status_lines(report, load_settings(settings_file).timezone):
        click.echo(line)
