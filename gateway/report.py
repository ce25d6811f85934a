"""The monthly report to management: an HTML mail with the figures, a chart and the CSV.

The chart is a PNG (matplotlib, Agg) carried inside the mail as a ``multipart/related``
part and referenced by ``cid:``: Outlook shows it without fetching anything, where it
blocks ``data:`` URIs and remote images. The figures come from ``gateway.stats``, so the
report holds no subject, text or address, only counts and times.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import io
import secrets
from collections.abc import Callable, Sequence
from email.message import EmailMessage
from email.policy import SMTP

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from gateway.i18n import phrases
from gateway.models import Outgoing
from gateway.period_mail import monthly_section
from gateway.render import Renderer
from gateway.rules.base import RuleSet
from gateway.rules.own_mail import MARKER
from gateway.stats import Counter, Row, Times, to_csv
from gateway.store.db import Database

CSV_DIMENSIONS = ["month", "flow", "party"]


def monthly_report(
    db: Database,
    ruleset: RuleSet,
    renderer: Renderer,
    month: dt.date,
    to: Sequence[str] | None = None,
    now: dt.datetime | None = None,
    csv_style: str = "semicolon",
) -> Outgoing:
    """The report for the month of ``month``, addressed to ``to`` (default: rules.yaml's
    ``follow_up: management``), ready for ``outbox.queue.enqueue``."""
    recipients = list(to if to is not None else ruleset.follow_up.management)
    if not recipients:
        raise ValueError("no management address to send the monthly report to")
    first = month.replace(day=1)
    last = _next_month(first) - dt.timedelta(days=1)
    say = _phrases(ruleset)
    # one pass over the month's cases serves every table of it, and one the year's trend
    counter = Counter(db, ruleset, now, dims=["flow", "party", "municipality"])

    def rows(by: list[str], start: dt.date = first, times: bool = True) -> list[Row]:
        return counter.figures(start, last, by, times)

    context = _context(rows, ruleset, renderer, first, say)
    png = chart_png(context["trend"], context["trend_flows"], context["party_rows"], first,
                    context["flow_labels"].__getitem__, say)  # fmt: skip
    subject, text = renderer.parts("monthly_report.txt.j2", context)
    html = _with_comparison(
        renderer.env.get_template("monthly_report.html.j2").render(context),
        monthly_section(db, ruleset, renderer, first, counter),
    )
    csv_text = to_csv(rows(CSV_DIMENSIONS), CSV_DIMENSIONS, csv_style)
    return _message(renderer, recipients, " ".join(subject.split()), text, html, png, context,
                    csv_text, say)  # fmt: skip


def _with_comparison(html: str, section: str) -> str:
    """The month against the month before (gateway/period_mail.py), at the end of the
    report's HTML: after what it always showed, so that nothing of it moves."""
    at = html.rfind("</body>")
    return html + section if at < 0 else html[:at] + section + html[at:]


def _phrases(ruleset: RuleSet) -> Callable[..., str]:
    """The report's phrases in the deployment's language, keys without ``report.``."""
    table = phrases(ruleset.language)
    return lambda key, **values: table(f"report.{key}", **values)


def _context(rows, ruleset: RuleSet, renderer: Renderer, first: dt.date, say) -> dict:
    """What the report's templates print: the month's figures and the year's trend."""
    year_ago = _next_month(first.replace(year=first.year - 1))
    trend = rows(["month", "flow"], year_ago, times=False)  # counts only: see _pivot
    per_flow, parties = rows(["flow"]), rows(["party"])
    flows = _flows([*trend, *per_flow], ruleset)
    return {
        "year": first.year,
        "month": first.month,
        "total": cells(rows([])[0], say),
        "flows": [{"flow": r.key["flow"], **cells(r, say)} for r in per_flow],
        "parties": [{"party": r.key["party"], **cells(r, say)} for r in parties],
        "party_rows": parties,
        "trend": _pivot(trend, year_ago, first),
        "trend_flows": flows,
        "flow_labels": _flow_labels(flows, ruleset, renderer, say),
        "hours": ruleset.hours,
        "chart_cid": f"chart.{secrets.token_hex(6)}@{renderer.domain}",
        "csv_name": say("csv_file", month=f"{first:%Y-%m}"),
    }


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def _number(value: float | None, say) -> str:
    """One decimal in the language's notation (a decimal comma in nb); a dash for none."""
    if value is None:
        return say("no_value")
    whole, _, tenth = f"{value:.1f}".partition(".")
    return say("decimal", whole=whole, separator=say("decimal_separator"), tenth=tenth)


def _time_cells(times: Times, say) -> dict:
    return {
        stat: {
            "working": _number(getattr(times, f"working_{stat}"), say),
            "calendar": _number(getattr(times, f"calendar_{stat}"), say),
        }
        for stat in ("median", "p90")
    }


def cells(row: Row, say) -> dict:
    """One row of figures as the templates print them."""
    share = row.on_time_share
    return {
        "opened": row.opened,
        "suggestions": row.suggestions,
        "closed": row.closed,
        "on_time": say("no_value") if share is None else say("percent", value=f"{share:.0%}"[:-1]),
        "open_at_end": row.open_at_end,
        "overdue": row.overdue,
        "answer": _time_cells(row.answer, say),
        "close": _time_cells(row.close, say),
    }


def _flows(rows: list[Row], ruleset: RuleSet) -> list[str]:
    """The flows rules.yaml declares, in its order, then any other a case carries."""
    declared = list(ruleset.flows)
    seen = {r.key["flow"] for r in rows}
    return [*declared, *sorted(seen - set(declared))]


def _flow_labels(flows: list[str], ruleset: RuleSet, renderer: Renderer, say) -> dict[str, str]:
    """Each flow's label as rules.yaml declares it; one not declared is "not decided"."""
    return {
        flow: say("flow", name=flow, label=ruleset.flows[flow].label)
        if flow in ruleset.flows
        else say("no_flow")
        for flow in flows
    }


def _pivot(trend: list[Row], first: dt.date, last: dt.date) -> list[dict]:
    """Deviations opened per month and flow, every month from ``first`` to ``last``."""
    months, day = [], first
    while day <= last:
        months.append(day)
        day = _next_month(day)
    out = []
    for m in months:
        mine = [r for r in trend if r.key["month"] == f"{m:%Y-%m}"]
        counts = {r.key["flow"]: r.opened for r in mine}
        out.append(
            {
                "year": m.year,
                "month": m.month,
                "counts": counts,
                "suggestions": sum(r.suggestions for r in mine),
            }
        )
    return out


def chart_png(
    trend: list[dict],
    flows: list[str],
    parties: list[Row],
    month: dt.date,
    flow_label: Callable[[str], str],
    say: Callable[..., str],
) -> bytes:
    """Two charts in one PNG: deviations per month per flow (stacked), and the median and
    90th percentile time to close per receiving party in the month (working hours)."""
    fig = Figure(figsize=(8, 7.5), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    top, bottom = fig.subplots(2, 1, height_ratios=[3, 2])
    _flows_chart(top, trend, flows, flow_label, say)
    _close_chart(bottom, parties, month, say)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def _flows_chart(ax, trend: list[dict], flows: list[str], flow_label, say) -> None:
    names = say("months_short").split()
    x = [f"{names[m['month'] - 1]}\n{m['year']}" for m in trend]
    base = [0] * len(trend)
    for flow in flows:
        heights = [m["counts"].get(flow, 0) for m in trend]
        ax.bar(x, heights, bottom=base, label=flow_label(flow))
        base = [b + h for b, h in zip(base, heights, strict=True)]
    ax.set_title(say("flows_title"), loc="left", fontweight="bold")
    ax.set_ylabel(say("flows_axis"))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.tick_params(axis="x", labelsize=8)
    if flows:  # a month without any case has none to name
        ax.legend(loc="upper left", fontsize=8, frameon=False)
    ax.set_ylim(0, max(max(base, default=0), 1) * 1.45)  # room for the legend
    ax.spines[["top", "right"]].set_visible(False)


def _close_chart(ax, parties: list[Row], month: dt.date, say) -> None:
    month_name = f"{say('months_short').split()[month.month - 1]} {month.year}"
    ax.set_title(say("close_title", month=month_name), loc="left", fontweight="bold")
    ax.spines[["top", "right"]].set_visible(False)
    closed = [r for r in parties if r.close.count]
    if not closed:
        ax.text(0.5, 0.5, say("no_cases_closed"), ha="center", va="center",
                transform=ax.transAxes)  # fmt: skip
        ax.set_xticks([])
        ax.set_yticks([])
        return
    names = [r.key["party"] for r in closed]
    p90 = [r.close.working_p90 for r in closed]
    median = [r.close.working_median for r in closed]
    ax.barh(names, p90, height=0.6, color="#c6dbef", label=say("p90"))
    ax.barh(names, median, height=0.3, color="#2171b5", label=say("median"))
    for y, (m, p) in enumerate(zip(median, p90, strict=True)):
        label = say("values", median=_number(m, say), p90=_number(p, say))
        ax.text(p, y, f"  {label}", va="center", fontsize=8)
    ax.set_ylim(max(len(names), 3) - 0.5, -0.5)  # thin bars, the first party on top
    ax.set_xlim(0, max(max(p90), 1.0) * 1.5)
    ax.legend(loc="lower right", fontsize=8, frameon=False)


def _message(
    renderer: Renderer,
    recipients: list[str],
    subject: str,
    text: str,
    html: str,
    png: bytes,
    context: dict,
    csv_text: str,
    say: Callable[..., str],
) -> Outgoing:
    """multipart/mixed: [alternative: [plain, related: [html, png]], csv]."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = email.utils.formataddr((renderer.gateway_name, renderer.gateway_address))
    msg["To"] = ", ".join(recipients)
    msg["Subject"] = subject
    msg["Date"] = email.utils.format_datetime(dt.datetime.now(dt.UTC))
    message_id = email.utils.make_msgid(domain=renderer.domain)
    msg["Message-ID"] = message_id
    msg[MARKER] = "report"
    msg.set_content(text, charset="utf-8", cte="quoted-printable")
    msg.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    msg.get_payload()[1].add_related(
        png, "image", "png", cid=f"<{context['chart_cid']}>", disposition="inline",
        filename=say("chart_file"),
    )  # fmt: skip
    msg.add_attachment(
        csv_text.encode("utf-8-sig"),  # the byte order mark makes Excel read it as UTF-8
        "text", "csv", filename=context["csv_name"], params={"charset": "utf-8"},
    )  # fmt: skip
    return Outgoing(
        purpose="report",
        mail_from=renderer.gateway_address,
        recipients=tuple(dict.fromkeys(recipients)),
        raw=msg.as_bytes(policy=SMTP),
        message_id=message_id,
        subject=subject,
    )
