"""The web view's speed on a large case log: the case list with filters and a case page
with 30 messages, timed in the application (Flask's test client: server time, no network)."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from gateway.settings import Settings
from gateway.store import open_db, write
from gateway.web.app import SESSION_COOKIE
from gateway.web.factory import create_app
from gateway.web.server import make_web

ADMIN = "admin@trygghet-agder.example"
SUPPLIER = "tekniker@leverandor.example"  # a party member: only the supplier's cases
LISTS = (
    "/saker",
    "/saker?status=lukket",
    "/saker?flyt=a&status=under+behandling",
    "/saker?kommune=Vennesla",
    "/saker?forfalt=1",
    "/saker?side=50",
    "/saker?sok=basestasjon",
)


def _case_with_30_messages(db) -> str:
    """The newest case, given 30 messages (copies of its first one)."""
    case_id, reference = db.execute(
        "SELECT id, reference FROM cases ORDER BY id DESC LIMIT 1"
    ).fetchone()
    with write(db):
        have = db.execute("SELECT COUNT(*) FROM messages WHERE case_id = ?", [case_id]).fetchone()
        for _ in range(max(0, 30 - have[0])):
            db.execute(
                "INSERT INTO messages (direction, mailbox, source, received_at, state, outcome, "
                "reason, case_id, from_addr, subject, new_text) SELECT direction, mailbox, source, "
                "received_at, state, 'thread', reason, case_id, from_addr, subject, new_text "
                "FROM messages WHERE case_id = ? ORDER BY id LIMIT 1",
                [case_id],
            )
    return reference


def _p95(times: list[float]) -> float:
    return round(statistics.quantiles(times, n=20)[-1] if len(times) > 1 else times[0], 1)


def web_times(path: Path, ruleset, rounds: int = 6) -> dict:
    """p95 and median server time (ms) of the case list (with filters) and a case page,
    after one untimed request of each: a running server has compiled its templates."""
    reference = _case_with_30_messages(open_db(path))
    settings = Settings(data_dir=path.parent, database=path, web_cookie_secure=False)
    web = make_web(settings, lambda: ruleset)
    app = create_app(web)
    out = {}
    for who in (ADMIN, SUPPLIER):
        client = app.test_client()
        client.set_cookie(SESSION_COOKIE, web.sessions.start(who))
        for name, paths in (("case_list", LISTS), ("case_page", (f"/saker/{reference}",))):
            for url in paths:  # untimed: a running server has compiled the page's
                client.get(url)  # templates and read its case's pages once already
            times = []  # some 40 of each: of 6 (a case page's, before), p95 was the worst
            for _ in range(rounds * max(1, 40 // (rounds * len(paths)))):
                for url in paths:
                    started = time.perf_counter()
                    status = client.get(url).status_code
                    times.append((time.perf_counter() - started) * 1000)
                    assert status in (200, 404), (url, status)  # 404: not the supplier's case
            role = "admin" if who == ADMIN else "party"
            out[f"{name}_{role}_p95_ms"] = _p95(times)
            out[f"{name}_{role}_median_ms"] = round(statistics.median(times), 1)
    return out
