"""``gateway status``: the mailboxes, what waits, the outbox, failures and alerts."""

from __future__ import annotations

import json

import click

from gateway.cli.base import cli, database_option, open_case_log, settings_option
from gateway.health import status


def _mailbox_line(box: dict) -> str:
    state = "connected" if box["connected"] else "NOT connected"
    line = f"mailbox {box['name']:14} {state:14} last fetch {box['last_fetch_at'] or '-'}"
    if box["last_error"]:
        line += f"  last error {box['last_error_at']}: {box['last_error']}"
    return line


def _alert_line(alert: dict) -> str:
    told = f"raised {alert['raised_at'][:19]}" if alert["state"] == "raised" else "not yet told"
    return (
        f"ALERT {alert['key']:20} since {alert['since'][:19]} ({told}): "
        f"{(alert['detail'] or '')[:100]}"
    )


def status_lines(report: dict) -> list[str]:
    """The plain-text status, one line each."""
    lines = [_mailbox_line(box) for box in report["mailboxes"]]
    lines.append(
        f"waiting to be decided: {report['waiting']}   triage/held: {report['triage']}   "
        f"quarantined: {report['quarantined']}"
    )
    lines.append("outbox: " + ", ".join(f"{k} {v}" for k, v in report["outbox"].items()))
    for failure in report["last_failures"]:
        lines.append(f"  {failure['at'][:19]}  {failure['kind']:16} {failure['detail'][:100]}")
    lines += [_alert_line(alert) for alert in report["alerts"]]
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
    for line in status_lines(report):
        click.echo(line)
