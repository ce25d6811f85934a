"""``gateway demo DIR``: a throw-away case log of invented cases, to see the gateway at once.

A new user should not have to wait three months for the statistics, the monthly report
and the digest to show anything. The invented messages of ``templates/<lang>/demo.yaml``
go through the real intake and pipeline, with the store's clock fixed at each message's
day (store/clock.py): reports are relayed, receivers answer and close with ``#lukk``, one
suggestion and one unknown sender (triage) come in. Then the monthly report for the last
whole month and the review digest run as the scheduler would run them, and everything
queued is written as .eml files into DIR/outbox-sent/. Nothing is sent anywhere.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import yaml

from gateway.followup.context import JobContext
from gateway.followup.monthly import previous_month, report_for_month
from gateway.i18n import TEMPLATES
from gateway.intake import accept
from gateway.merging import Merger
from gateway.outbox.sender import Sender
from gateway.pipeline import Pipeline
from gateway.render import Renderer
from gateway.rules.base import RuleSet
from gateway.scheduler.runner import Runner
from gateway.settings import Settings
from gateway.store import clock, open_db
from gateway.store.caselog import case_by_reference, newest_cases
from gateway.store.db import Database


@dataclass(frozen=True)
class Demo:
    """What ``fill`` made: the case log, the mails written, and the period it covers."""

    database: Path
    outbox: Path
    first: dt.date  # the first day of the demo's first month
    report_month: dt.date  # the month the monthly report covers
    mails: int


def fill(folder: Path, ruleset: RuleSet, today: dt.date) -> Demo:
    """Fill ``folder`` (new or empty) with a case log of invented cases over the three
    months before ``today``'s month."""
    if folder.exists() and any(folder.iterdir()):
        raise ValueError(f"{folder} is not empty: give a new folder for the demo")
    folder.mkdir(parents=True, exist_ok=True)
    settings = Settings(data_dir=folder)
    db = open_db(settings.database_path)
    renderer = Renderer(settings.gateway_address, settings.gateway_name, rules=ruleset)
    pipeline = Pipeline(db, lambda: ruleset, renderer, settings)
    first = previous_month(previous_month(previous_month(today)))
    runner = Runner(db, lambda: ruleset, renderer, settings)
    for report in _reports(ruleset):
        _one_case(db, pipeline, ruleset, report, first)
        evening = _moment(ruleset, first, report["day"], "19:00")  # the day's review digest
        with clock.fixed(evening):
            runner.run("review-digest", evening)
    last_month = previous_month(today)
    with clock.fixed(_moment(ruleset, today.replace(day=1), 0, "06:00")):  # as scheduled
        ctx = JobContext(db, ruleset, renderer, settings, clock.current(), None)
        report_for_month(ctx, last_month)
    mails = 0
    sender = Sender(db, settings)
    while sent := sender.deliver_due():
        mails += sent
    merger = Merger(db)  # what the daemon's idle pipeline thread would have merged
    while merger.step(busy=False):
        pass
    db.close()
    return Demo(settings.database_path, settings.outbox_path, first, last_month, mails)


def _reports(ruleset: RuleSet) -> list[dict]:
    path = TEMPLATES / ruleset.language / "demo.yaml"
    if not path.exists():
        path = TEMPLATES / "nb" / "demo.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))["reports"]


def _moment(ruleset: RuleSet, first: dt.date, day: int, at: str) -> dt.datetime:
    """``day`` days after ``first``, at the local time ``at`` (service hours' zone)."""
    hour, minute = (int(x) for x in at.split(":"))
    local = dt.datetime.combine(first + dt.timedelta(days=day), dt.time(hour, minute))
    return ruleset.hours.local(local)


def _one_case(db: Database, pipeline: Pipeline, ruleset: RuleSet, report: dict, first) -> None:
    """The report, and the receiver's answer and closing when the demo has them."""
    arrived = _moment(ruleset, first, report["day"], report["at"])
    before = newest_cases(db, None, 1)
    with clock.fixed(arrived):
        accept(db, _mail(report["from"], report["mailbox"], report["subject"],
                         report["body"], arrived), report["mailbox"], "demo")  # fmt: skip
        pipeline.process_batch()
    after = newest_cases(db, None, 1)
    if not after or after == before:
        return  # triaged: no case
    case = case_by_reference(db, after[0].reference)
    receiver = next(iter(ruleset.directory[case.receiving_party].receivers), None)
    for step, unit in (("answer", "hours"), ("close", "days")):
        if step not in report or receiver is None:
            continue
        at = arrived + dt.timedelta(**{unit: report[step][unit]})
        subject = f"SV: [{case.reference}] {report['subject']}"
        with clock.fixed(at):
            accept(db, _mail(receiver, case.mailbox, subject, report[step]["text"], at),
                   case.mailbox, "demo")  # fmt: skip
            pipeline.process_batch()


def _mail(frm: str, mailbox: str, subject: str, body: str, at: dt.datetime) -> bytes:
    msg = EmailMessage()
    msg["From"] = frm
    msg["To"] = f"{mailbox}@trygghet-agder.example"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(at)
    msg["Message-ID"] = make_msgid(domain="demo.example")
    msg.set_content(body)
    return msg.as_bytes()
