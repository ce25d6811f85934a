"""``gateway cases`` and ``gateway quarantine``: reading and tending the case log."""

from __future__ import annotations

from pathlib import Path

import click

from gateway import caselog, quarantine
from gateway.cli import _settings, cli, settings_option
from gateway.store import open_db


def database_option(fn):
    return click.option(
        "--database",
        type=click.Path(dir_okay=False, path_type=Path),
        help="The case log (default: the settings' database).",
    )(fn)


def _open_case_log(database: Path | None, settings_file: Path | None):
    path = database or _settings(settings_file).database_path
    if not path.exists():
        raise click.ClickException(
            f"{path}: no case log here (start the gateway once, or --database)"
        )
    return open_db(path)


@cli.group(name="quarantine")
def quarantine_group():
    """Messages parked for a human: list, show, release or drop them."""


@quarantine_group.command(name="list")
@database_option
@settings_option
def quarantine_list(database, settings_file):
    """List quarantined messages with their reasons.

    \b
    Example:
        gateway quarantine list
    """
    rows = quarantine.list_quarantined(_open_case_log(database, settings_file))
    for row in rows:
        click.echo(
            f"{row['id']:>6}  {row['received_at'][:19]}  {row['mailbox'] or '-':13} "
            f"{(row['from_addr'] or '-')[:40]:40}  {row['reason']}"
        )
    click.echo(f"{len(rows)} message(s) in quarantine")


@quarantine_group.command(name="show")
@click.argument("message_id", type=int)
@click.option("--raw", is_flag=True, help="Print the whole raw message.")
@database_option
@settings_option
def quarantine_show(message_id, raw, database, settings_file):
    """Show one quarantined message: where it came from, why, and its header.

    \b
    Example:
        gateway quarantine show 42 --raw
    """
    try:
        row = quarantine.get(_open_case_log(database, settings_file), message_id)
    except quarantine.NotQuarantined as exc:
        raise click.ClickException(str(exc)) from None
    for key in ("id", "received_at", "mailbox", "source", "from_addr", "subject", "size", "reason"):
        click.echo(f"{key:12} {row[key]}")
    data = row["raw"] or b""
    click.echo("")
    click.echo((data if raw else data.split(b"\n\n", 1)[0][:4000]).decode("utf-8", "replace"))


@quarantine_group.command(name="release")
@click.argument("message_id", type=int)
@database_option
@settings_option
def quarantine_release(message_id, database, settings_file):
    """Give a message back to the pipeline, to be decided again.

    \b
    Example:
        gateway quarantine release 42
    """
    try:
        quarantine.release(_open_case_log(database, settings_file), message_id)
    except quarantine.NotQuarantined as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"message {message_id} released: the running gateway decides it again")


@quarantine_group.command(name="drop")
@click.argument("message_id", type=int)
@click.option("--why", required=True, help="Why it is dropped (kept in the case log).")
@database_option
@settings_option
def quarantine_drop(message_id, why, database, settings_file):
    """Drop a message for good: the record and the reason stay, the bytes go.

    \b
    Example:
        gateway quarantine drop 42 --why "spam"
    """
    try:
        quarantine.drop(_open_case_log(database, settings_file), message_id, why)
    except quarantine.NotQuarantined as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"message {message_id} dropped")


@cli.group(name="cases")
def cases_group():
    """Read the case log: list cases, show one with its messages and events."""


@cases_group.command(name="list")
@click.option("--status", help="Only cases with this status (registrert, lukket ...).")
@click.option("--limit", default=50, show_default=True, help="How many, newest first.")
@database_option
@settings_option
def cases_list(status, limit, database, settings_file):
    """List the newest cases.

    \b
    Example:
        gateway cases list --status "under behandling"
    """
    rows = caselog.list_cases(_open_case_log(database, settings_file), status, limit)
    for r in rows:
        click.echo(
            f"{r['reference']}  {r['flow'] or '-'}  {r['status']:16} "
            f"{'HASTER ' if r['urgent'] else ''}{r['municipality'] or '-':16} "
            f"{r['receiving_party'] or '-':20} {r['received_at'][:16]}  frist {r['close_due']}"
        )
    click.echo(f"{len(rows)} case(s)")


@cases_group.command(name="show")
@click.argument("reference")
@click.option(
    "--original",
    is_flag=True,
    help="Show the messages as they arrived, personal data included (logged).",
)
@database_option
@settings_option
def cases_show(reference, original, database, settings_file):
    """Show a case: its fields, messages and events. Text is shown de-identified as
    stored, unless --original is given.

    \b
    Example:
        gateway cases show AVVIK-2026-0042
    """
    db = _open_case_log(database, settings_file)
    try:
        case = caselog.get_case(db, reference)
    except caselog.NoSuchCase as exc:
        raise click.ClickException(str(exc)) from None
    for key in (
        "reference",
        "flow",
        "kind",
        "status",
        "severity",
        "urgent",
        "reporting_party",
        "receiving_party",
        "municipality",
        "subject",
        "received_at",
        "measures_due",
        "close_due",
        "external_ref",
        "measure",
        "related_reference",
    ):
        if case.get(key) not in (None, ""):
            click.echo(f"{key:17} {case[key]}")
    for m in case["messages"]:
        click.echo(
            f"\n--- message {m['id']} ({m['direction']}, {m['outcome']}) "
            f"{m['received_at'][:16]} {m['from_addr'] or ''} -> {m['to_addrs'] or ''}"
        )
        if original and m["direction"] == "in":
            caselog.record_original_view(db, case["id"], m["id"])
            click.echo(caselog.original_text(db, m["id"]) or "(the original is purged)")
        elif m["new_text"]:
            click.echo(m["new_text"])
    click.echo("\n--- events")
    for e in case["events"]:
        click.echo(f"{e['at'][:19]}  {e['kind']:18} {e['detail']}")


@cli.command(name="purge")
@click.option("--dry-run", is_flag=True, help="Count what would be purged; change nothing.")
@click.option(
    "--rules",
    "rules_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Rules file with the retention time (default: the settings').",
)
@database_option
@settings_option
def purge_command(dry_run, rules_file, database, settings_file):
    """Purge raw messages and texts past retention (rules.yaml privacy: retention_days).

    The gateway does this by itself once a day; this runs it now.

    \b
    Example:
        gateway purge --dry-run
    """
    from gateway.cli import _ruleset
    from gateway.retention import purge

    days = _ruleset(rules_file, settings_file).privacy.retention_days
    report = purge(_open_case_log(database, settings_file), days, dry_run=dry_run)
    verb = "would purge" if dry_run else "purged"
    click.echo(
        f"{verb} {report.cases} closed case(s) and {report.messages} message(s), "
        f"{report.bytes / 2**20:.1f} MB, closed or received before {report.cutoff[:10]} "
        f"({days} days)"
    )


@cli.group(name="triage")
def triage_group():
    """What the rules left to the administrators: list it, decide it."""


@triage_group.command(name="list")
@database_option
@settings_option
def triage_list(database, settings_file):
    """List triaged and held messages waiting for a decision.

    \b
    Example:
        gateway triage list
    """
    from gateway.triage import waiting

    rows = waiting(_open_case_log(database, settings_file))
    for r in rows:
        click.echo(
            f"{r['id']:>6}  {r['received_at'][:16]}  {r['outcome']:6} "
            f"{(r['from_addr'] or '-')[:36]:36}  {r['reason']}"
        )
    click.echo(f"{len(rows)} message(s) waiting")


@triage_group.command(name="decide")
@click.argument("message_id", type=int)
@click.option("--flow", help="Decide as this flow (a-d), from its sender and mailbox.")
@click.option("--send", "send_to", help="Relay to this receiver (a known party's address).")
@click.option("--ignore", "ignore_why", help="Do not relay; the reason is kept.")
@click.option("--case", "case_ref", help="Add the message to this case (AVVIK-2026-0042).")
@click.option(
    "--rules",
    "rules_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Rules file (default: the settings').",
)
@database_option
@settings_option
def triage_decide(
    message_id, flow, send_to, ignore_why, case_ref, rules_file, database, settings_file
):
    """Decide a triaged message; the running gateway sends what it queues.

    \b
    Example:
        gateway triage decide 17 --flow b
        gateway triage decide 18 --send kontakt.tt@vennesla.kommune.example
    """
    import getpass

    from gateway.cli import _ruleset
    from gateway.render import Renderer
    from gateway.store import write
    from gateway.triage import TriageError, decide_triaged

    chosen = [
        (a, v)
        for a, v in (("flow", flow), ("send", send_to), ("ignore", ignore_why), ("case", case_ref))
        if v
    ]
    if len(chosen) != 1:
        raise click.UsageError("give exactly one of --flow, --send, --ignore, --case")
    settings = _settings(settings_file)
    db = _open_case_log(database, settings_file)
    renderer = Renderer(settings.gateway_address, settings.gateway_name, settings.templates_dir)
    try:
        with write(db):
            summary = decide_triaged(
                db,
                message_id,
                *chosen[0],
                _ruleset(rules_file, settings_file),
                renderer,
                settings,
                f"cli:{getpass.getuser()}",
            )
    except TriageError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(summary)


@cli.command(name="status")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@database_option
@settings_option
def status_command(as_json, database, settings_file):
    """Show per mailbox whether it is connected and its last fetch, what waits, the
    outbox queue, the last failures and the alerts raised.

    \b
    Example:
        gateway status
    """
    import json

    from gateway.health import status

    report = status(_open_case_log(database, settings_file))
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    for box in report["mailboxes"]:
        state = "connected" if box["connected"] else "NOT connected"
        click.echo(
            f"mailbox {box['name']:14} {state:14} last fetch {box['last_fetch_at'] or '-'}"
            + (
                f"  last error {box['last_error_at']}: {box['last_error']}"
                if box["last_error"]
                else ""
            )
        )
    click.echo(
        f"waiting to be decided: {report['waiting']}   triage/held: {report['triage']}   "
        f"quarantined: {report['quarantined']}"
    )
    click.echo("outbox: " + ", ".join(f"{k} {v}" for k, v in report["outbox"].items()))
    for failure in report["last_failures"]:
        click.echo(f"  {failure['at'][:19]}  {failure['kind']:16} {failure['detail'][:100]}")
    for alert in report["alerts"]:
        told = f"raised {alert['raised_at'][:19]}" if alert["state"] == "raised" else "not yet told"
        click.echo(
            f"ALERT {alert['key']:20} since {alert['since'][:19]} ({told}): "
            f"{(alert['detail'] or '')[:100]}"
        )
    if not report["alerts"]:
        click.echo("alerts: none raised")
