"""Statistics for management and the administrators: the figures of ``gateway stats``
for any period, the monthly report's charts, and CSV. Counts and times only: no text.
"""

from __future__ import annotations

import datetime as dt
from functools import wraps

from flask import Blueprint, Response, abort, g, request

from gateway import report
from gateway.stats import DIMENSIONS, figures, to_csv
from gateway.store import event, write
from gateway.web.app import db, render, viewer, web

pages = Blueprint("stats", __name__)


def stats_viewers(fn):
    @wraps(fn)
    def wrapper(*args, **kwargs):
        if g.get("viewer") is None:
            abort(401)
        if not viewer().sees_stats:
            abort(404)
        return fn(*args, **kwargs)

    return wrapper


def _period() -> tuple[dt.date, dt.date, list[str]]:
    """From the query: ``fra``, ``til`` (default: the last twelve months) and ``etter``."""
    today = web().rules().hours.local(dt.datetime.now(dt.UTC)).date()
    start = (today.replace(day=1) - dt.timedelta(days=335)).replace(day=1)
    try:
        first = dt.date.fromisoformat(request.args.get("fra") or start.isoformat())
        last = dt.date.fromisoformat(request.args.get("til") or today.isoformat())
    except ValueError:
        abort(400)
    if last < first or (last - first).days > 3660:
        abort(400)
    by = [d for d in request.args.getlist("etter") if d in DIMENSIONS] or ["flow"]
    return first, last, by


def _record(what: str) -> None:
    conn = db()
    with write(conn):
        event(conn, "web-stats-viewed", f"{what} by {viewer().address}")


@pages.get("/statistikk")
@stats_viewers
def stats_page():
    first, last, by = _period()
    rules = web().rules()
    say = report._phrases(rules)
    rows = figures(db(), rules, first, last, by)
    _record(f"{first}..{last} by {','.join(by)}")
    return render(
        "stats.html",
        rows=[{"key": r.key, **report.cells(r, say)} for r in rows],
        total=report.cells(figures(db(), rules, first, last)[0], say),
        by=by,
        dimensions=DIMENSIONS,
        first=first.isoformat(),
        last=last.isoformat(),
        query=request.query_string.decode(),
    )


@pages.get("/statistikk/diagram.png")
@stats_viewers
def stats_chart():
    first, last, _by = _period()
    rules = web().rules()
    say = report._phrases(rules)
    trend = figures(db(), rules, first, last, ["month", "flow"])
    parties = figures(db(), rules, first, last, ["party"])
    flows = report._flows(trend, rules)
    labels = report._flow_labels(flows, rules, web().renderer, say)
    pivot = report._pivot(trend, first.replace(day=1), last.replace(day=1))
    png = report.chart_png(pivot, flows, parties, last, labels.__getitem__, say)
    return Response(png, mimetype="image/png")


@pages.get("/statistikk.csv")
@stats_viewers
def stats_csv():
    first, last, by = _period()
    rows = figures(db(), web().rules(), first, last, by)
    _record(f"CSV {first}..{last} by {','.join(by)}")
    response = Response(to_csv(rows, by, web().settings.csv_style), mimetype="text/csv")
    response.headers.set("Content-Disposition", "attachment", filename=f"avvik-{first}-{last}.csv")
    return response
