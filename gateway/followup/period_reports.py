"""The interim and the annual report, as scheduled jobs (``interim-report``,
``annual-report``): off unless ``follow_up: schedules`` names them; what each covers
and to whom is ``follow_up: period_reports`` (gateway/rules/period_reports.py)."""

from __future__ import annotations

from gateway.followup.common import local_date
from gateway.followup.context import Job, JobContext
from gateway.outbox.queue import enqueue


def period_job(name: str) -> Job:
    """The job of one period report: made before the write (``prepare``), queued in it."""

    def prepare(ctx: JobContext):
        from gateway.period_mail import scheduled_report

        spec = ctx.ruleset.follow_up.period_reports[name]
        to = list(spec.to or ctx.ruleset.follow_up.management)
        if not to:
            return None
        today = local_date(ctx.ruleset, ctx.now)
        return spec.period, scheduled_report(ctx.db, ctx.ruleset, ctx.renderer, spec.period,
                                             today, to, ctx.settings.csv_style)  # fmt: skip

    def job(ctx: JobContext) -> str:
        made = ctx.prepared if ctx.prepared is not None else prepare(ctx)
        if made is None:
            return f"{name}: no address in period_reports or management: nothing sent"
        kind, mail = made
        enqueue(ctx.db, mail)
        return f"{name} ({kind}): {mail.subject} to {', '.join(mail.recipients)}"

    job.prepare = prepare  # type: ignore[attr-defined]
    job.__doc__ = f"The {name}, queued."
    return job
