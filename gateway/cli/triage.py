"""``gateway triage``: what the rules left to the administrators; list it, decide it."""

from __future__ import annotations

import getpass

import click

from gateway.cli.base import (
    cli,
    database_option,
    load_ruleset,
    load_settings,
    make_renderer,
    open_case_log,
    rules_option,
    settings_option,
)
from gateway.cli.output import local_time, table
from gateway.stage import StageContext
from gateway.store import write
from gateway.triage import TriageError, decide_triaged, waiting


@cli.group(name="triage")
def triage_group() -> None:
    """What the rules left to the administrators: list it, decide it."""


@triage_group.command(name="list")
@database_option
@settings_option
def triage_list(database, settings_file) -> None:
    """List triaged and held messages waiting for a decision.

    \b
    Example:
        gateway triage list
    """
    rows = waiting(open_case_log(database, settings_file))
    zone = load_settings(settings_file).timezone
    lines = table(
        ("id", "received", "outcome", "from", "subject", "reason"),
        [
            (r.id, local_time(r.received_at, zone), r.outcome, r.from_addr, r.subject, r.reason)
            for r in rows
        ],
        (6, 21, 7, 36, 40),
    )
    for line in lines:
        click.echo(line)
    click.echo(f"{len(rows)} message(s) waiting")


def _one_choice(**options: str | None) -> tuple[str, str]:
    """The one action given, as (action, value); a usage error for none or several."""
    chosen = [(action, value) for action, value in options.items() if value]
    if len(chosen) != 1:
        raise click.UsageError("give exactly one of --flow, --send, --ignore, --case")
    return chosen[0]


@triage_group.command(name="decide")
@click.argument("message_id", type=int)
@click.option(
    "--flow", help="Decide as this flow (a-d), from its sender and mailbox; with --send: its flow."
)
@click.option("--send", "send_to", help="Relay to this receiver (a known party's address).")
@click.option("--ignore", "ignore_why", help="Do not relay; the reason is kept.")
@click.option("--case", "case_ref", help="Add the message to this case (AVVIK-2026-0042).")
@rules_option
@database_option
@settings_option
def triage_decide(
    message_id, flow, send_to, ignore_why, case_ref, rules_file, database, settings_file
) -> None:
    """Decide a triaged message; the running gateway sends what it queues.

    \b
    Example:
        gateway triage decide 17 --flow b
        gateway triage decide 18 --send kontakt.tt@vennesla.kommune.example
        gateway triage decide 19 --send kontakt.tt@vennesla.kommune.example --flow c

    With --send, the flow is the one the rules give between the sender and the
    receiver; when they give none or several, the output asks for --flow.
    """
    if send_to and flow:  # --send ADDRESS --flow b: that flow, to that receiver
        send_to, flow = f"{send_to} {flow}", None
    action, value = _one_choice(flow=flow, send=send_to, ignore=ignore_why, case=case_ref)
    settings = load_settings(settings_file)
    db = open_case_log(database, settings_file)
    ruleset = load_ruleset(rules_file, settings_file)
    who = f"cli:{getpass.getuser()}"
    try:
        with write(db):
            stage = StageContext(db, ruleset, settings, make_renderer(settings, ruleset))
            summary = decide_triaged(stage, message_id, action, value, who)
    except TriageError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(summary)
