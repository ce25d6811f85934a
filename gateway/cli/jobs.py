"""``gateway jobs``: the scheduled follow-up jobs, their next run and last result."""

from __future__ import annotations

import datetime as dt

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
from gateway.scheduler.config import JOBS
from gateway.scheduler.runner import Runner


def _runner(database, settings_file, rules_file) -> Runner:
    settings = load_settings(settings_file)
    ruleset = load_ruleset(rules_file, settings_file)
    db = open_case_log(database, settings_file)
    return Runner(db, lambda: ruleset, make_renderer(settings, ruleset), settings)


def _local(runner: Runner, at: dt.datetime | str | None) -> str:
    if at is None:
        return "-"
    at = dt.datetime.fromisoformat(at) if isinstance(at, str) else at
    return runner.rules().hours.local(at).strftime("%Y-%m-%d %H:%M %Z")


@cli.group(name="jobs", invoke_without_command=True)
@database_option
@settings_option
@rules_option
@click.pass_context
def jobs_group(ctx, database, settings_file, rules_file):
    """The scheduled jobs (rules.yaml follow_up: schedules): next run, last result.

    Times are local (the service hours' time zone).

    \b
    Example:
        gateway jobs
    """
    ctx.obj = (database, settings_file, rules_file)
    if ctx.invoked_subcommand is not None:
        return
    runner = _runner(database, settings_file, rules_file)
    now = dt.datetime.now(dt.UTC)
    follow_up = runner.rules().follow_up
    click.echo(f"{'job':<16}{'next run':<22}{'last run':<22}{'result':<8}detail")
    for job in JOBS:
        last = runner.last_run(job) or {}
        if job not in follow_up.schedules:
            click.echo(f"{job:<16}{'(no schedule)':<22}{_local(runner, last.get('due_at')):<22}")
            continue
        click.echo(
            f"{job:<16}{_local(runner, runner.next_run(job, now)):<22}"
            f"{_local(runner, last.get('due_at')):<22}{last.get('result', '-'):<8}"
            f"{last.get('detail') or ''}"
        )


def _report_for(runner: Runner, name: str, month: str) -> str:
    """``--month``: the monthly report for that month, apart from the schedule."""
    from gateway.followup.context import JobContext
    from gateway.followup.monthly import report_for_month

    if name != "monthly-report":
        raise click.BadParameter("only monthly-report takes a month", param_hint="--month")
    try:
        first = dt.datetime.strptime(month, "%Y-%m").date()
    except ValueError:
        raise click.BadParameter(f"{month!r} is not YYYY-MM", param_hint="--month") from None
    now = dt.datetime.now(dt.UTC)
    ctx = JobContext(runner.db, runner.rules(), runner.renderer, runner.settings, now, None)
    try:
        return f"{name}: ok: {report_for_month(ctx, first)}"
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


@jobs_group.command(name="run")
@click.argument("name", type=click.Choice(JOBS))
@click.option("--month", help="monthly-report only: the month to report on, YYYY-MM.")
@click.pass_obj
def jobs_run(obj, name, month):
    """Run one job now; its mail goes out through the outbox of the running gateway.

    \b
    Example:
        gateway jobs run review-digest
        gateway jobs run monthly-report --month 2026-10
    """
    runner = _runner(*obj)
    if month is not None:
        click.echo(_report_for(runner, name, month))
        return
    runner.run(name, dt.datetime.now(dt.UTC))
    last = runner.last_run(name)
    click.echo(f"{name}: {last['result']}: {last['detail']}")
    if last["result"] != "ok":
        raise SystemExit(1)
