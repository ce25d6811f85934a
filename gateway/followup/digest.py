"""The review digest: what arrived since the last review, for the on-call duty.

Outside service hours the on-call duty reviews the non-urgent cases (urgent ones reached
it at once). The digest lists each with reference, flow, parties, arrival and a redacted
subject; replying to it with ``#vurdert <vurdering>`` or ``#haster`` acts on the cases it
lists (gateway/followup/commands.py). Sent also when nothing arrived, so that the duty
knows the review ran.
"""

from __future__ import annotations

import datetime as dt

from gateway.followup.common import case_line, note, on_call_addresses, send
from gateway.scheduler.runner import JobContext


def _stamp(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat(timespec="milliseconds")


def review_digest(ctx: JobContext) -> str:
    ruleset = ctx.ruleset
    to = on_call_addresses(ruleset)
    if not to:
        return "no on_call party in follow_up: nothing sent"
    since = ctx.since or ctx.now - dt.timedelta(days=1)
    cases = list(
        ctx.db.query(
            "SELECT * FROM cases WHERE urgent = 0 AND received_at > ? AND received_at <= ? "
            "ORDER BY received_at",
            [_stamp(since), _stamp(ctx.now)],
        )
    )
    hours = ruleset.hours
    row = send(
        ctx.db,
        ctx.renderer,
        "digest.txt.j2",
        {
            "cases": [case_line(ruleset, c) for c in cases],
            "since": hours.local(since).strftime("%d.%m.%Y kl. %H:%M"),
            "until": hours.local(ctx.now).strftime("%d.%m.%Y kl. %H:%M"),
        },
        purpose="digest",
        to=to,
        ruleset=ruleset,
    )
    for case in cases:
        note(ctx.db, case, "in-digest", f"in the review digest to {', '.join(to)}", row)
    return f"{len(cases)} case(s) to {', '.join(to)}"
