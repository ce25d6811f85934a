"""The period report as mail: the monthly report's comparison, and the interim and
annual reports (issue 19, point 8).

The figures are gateway/period_report.py's (counts and times only). The scheduled
reports add the list of closed cases (reference, category, cause, measures) unless
``follow_up: closed_case_list`` is off; the cause and the measures pass through the
privacy redactor first, as a digest's subject does, so that no name, number or address
of a person reaches the board. The list holds at most ``follow_up:
closed_case_list_max`` cases, the most recently closed: the ones an earlier report (the
interim before the annual) has not shown, whose measures are fresh. Past the bound the
mail says how many more there are and the command that writes them all
(``gateway report --closed-cases``, through ``closed_csv`` here). The monthly report
keeps to figures: its readers have always had only those.
"""

from __future__ import annotations

import csv
import datetime as dt
import email.utils
import io
from email.message import EmailMessage
from email.policy import SMTP

from gateway import period_report
from gateway.followup.common import redacted
from gateway.models import Outgoing
from gateway.render import Renderer
from gateway.rules.base import RuleSet
from gateway.rules.own_mail import MARKER
from gateway.stats import Counter
from gateway.store.db import Database
from gateway.store.period import ClosedCase, closed_cases, closed_count


def span_label(span: period_report.Span) -> str:
    """A period as a reader names it: ``2026``, ``2026-08`` or ``2026-01–2026-08``."""
    start, end = span
    if start.month == 1 and (end.month, end.day) == (12, 31) and start.year == end.year:
        return f"{start.year}"
    if (start.year, start.month) == (end.year, end.month):
        return f"{start:%Y-%m}"
    return f"{start:%Y-%m}–{end:%Y-%m}"


def _deidentified(cases: list[ClosedCase], ruleset: RuleSet) -> list[dict]:
    """Each case's cause and measures through the redactor, each distinct text once (a
    year's closings repeat the same measures: "Byttet batteri" a thousand times)."""
    seen: dict[str, str] = {}

    def clean(text: str) -> str:
        found = seen.get(text)
        if found is None:
            found = seen[text] = redacted(ruleset, text)
        return found

    return [
        {
            "reference": case.reference,
            "category": case.category,
            "cause": clean(case.cause) if case.cause else None,
            "measures": [clean(m) for m in case.measures if m],
        }
        for case in cases
    ]


def context(db: Database, ruleset: RuleSet, span, before_span, *, closed: bool,
            counter: Counter | None = None) -> dict:  # fmt: skip
    """What period_table.html.j2 and period_report.txt.j2 print."""
    show = closed and ruleset.follow_up.closed_case_list
    days = [f"{d:%Y-%m-%d}" for d in span]
    most = ruleset.follow_up.closed_case_list_max
    listed = closed_cases(db, *days, newest=most) if show else []
    # only a full list may have left some out: then they are counted, not read
    total = closed_count(db, *days) if len(listed) == most else len(listed)
    return {
        "label": span_label(span),
        "before_label": span_label(before_span),
        "lines": period_report.between(db, ruleset, span, before_span, counter),
        "show_closed": show,
        "closed": _deidentified(listed, ruleset),
        "closed_more": total - len(listed),  # closed in the period, not in the list
        "closed_span": "..".join(days),  # gateway report --closed-cases --period FROM..TO
    }


CLOSED_HEADER = ("reference", "category", "cause", "measures")


def closed_csv(db: Database, ruleset: RuleSet, span: period_report.Span) -> str:
    """Every case closed in ``span``, de-identified as the mail's list is, as CSV (for
    programs, like ``gateway report``'s figures): the whole of what a mail's bounded
    list leaves out. Measures are joined by ``; `` as the mail shows them."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CLOSED_HEADER)
    cases = closed_cases(db, *(f"{d:%Y-%m-%d}" for d in span))
    for case in _deidentified(cases, ruleset):
        writer.writerow([case["reference"], case["category"] or "", case["cause"] or "",
                         "; ".join(case["measures"])])  # fmt: skip
    return out.getvalue()


def table_html(renderer: Renderer, values: dict) -> str:
    """The report's HTML section, to stand in a mail of its own or in the monthly's."""
    return renderer.env.get_template("period_table.html.j2").render(values)


def monthly_section(db: Database, ruleset: RuleSet, renderer: Renderer, first: dt.date,
                    counter: Counter | None = None) -> str:  # fmt: skip
    """The month against the month before, in total and per municipality (figures only).
    ``counter``: the monthly report's, which has counted the month already."""
    span = period_report.period(f"{first:%Y-%m}")[:2]
    before = (period_report.period(f"{first - dt.timedelta(days=1):%Y-%m}"))[:2]
    values = context(db, ruleset, span, before, closed=False, counter=counter)
    return table_html(renderer, values)


def scheduled_report(db: Database, ruleset: RuleSet, renderer: Renderer, kind: str,
                     today: dt.date, to: list[str], csv_style: str = "semicolon",
                     ) -> Outgoing:  # fmt: skip
    """An interim or annual report (``kind`` a period of rules/period_reports.PERIODS)."""
    _, span, before = period_report.scheduled(kind, today)
    values = context(db, ruleset, span, before, closed=True)
    subject, text = renderer.parts("period_report.txt.j2", values)
    html = f"<!DOCTYPE html>\n<html><body>\n{table_html(renderer, values)}</body></html>\n"
    msg = EmailMessage(policy=SMTP)
    msg["From"] = email.utils.formataddr((renderer.gateway_name, renderer.gateway_address))
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject = " ".join(subject.split())
    msg["Date"] = email.utils.format_datetime(dt.datetime.now(dt.UTC))
    msg["Message-ID"] = message_id = email.utils.make_msgid(domain=renderer.domain)
    msg[MARKER] = "report"
    msg.set_content(text, charset="utf-8", cte="quoted-printable")
    msg.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    msg.add_attachment(
        period_report.to_csv(values["lines"], csv_style).encode("utf-8-sig"), "text", "csv",
        filename=f"{values['label']}.csv", params={"charset": "utf-8"},
    )  # fmt: skip
    return Outgoing(purpose="report", mail_from=renderer.gateway_address,
                    recipients=tuple(dict.fromkeys(to)), raw=msg.as_bytes(policy=SMTP),
                    message_id=message_id, subject=subject)  # fmt: skip
