"""The review digest: what arrived since the last review, for the on-call duty.

Outside service hours the on-call duty reviews the non-urgent cases (urgent ones reached
it at once). The digest lists each with reference, flow, parties, arrival and a redacted
subject; replying to it with ``#vurdert <vurdering>`` or ``#haster`` acts on the cases it
lists (gateway/followup/commands.py). Sent also when nothing arrived, so that the duty
knows the review ran.
"""

from __future__ import annotations

import datetime as dt

from gateway.followup.common import (
    case_line,
    compose,
    in_batches,
    local_moment,
    on_call_addresses,
    queue,
)
from gateway.followup.context import JobContext
from gateway.store import events
from gateway.store.followup import not_yet_in_digest

HORIZON = dt.timedelta(days=7)
MARKS = 500  # cases marked in one write transaction


def _stamp(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat(timespec="milliseconds")


def prepare_digest(ctx: JobContext) -> tuple[list, list[str], object] | None:
    """The cases for the digest and the digest itself, made before the job's write."""
    ruleset = ctx.ruleset
    to = on_call_addresses(ruleset)
    if not to:
        return None
    since = ctx.since or ctx.now - dt.timedelta(days=1)
    # Every non-urgent case not yet in a digest, by its events, not by a time window: a
    # case decided late (an administrator's triage decision hours after arrival, or a
    # message decided just after the last digest) still comes, and a failed run loses
    # nothing. The horizon keeps an old case log from flooding the first digest.
    cases = not_yet_in_digest(ctx.db, _stamp(ctx.now - HORIZON))
    context = {
        "cases": [case_line(ruleset, c) for c in cases],
        "since": local_moment(ruleset, since),
        "until": local_moment(ruleset, ctx.now),
    }
    mail = compose(ctx.db, ctx.renderer, "digest.txt.j2", context, purpose="digest", to=to,
                   ruleset=ruleset)  # fmt: skip
    return cases, to, mail


def review_digest(ctx: JobContext) -> str:
    """The digest, queued in the run's claim; the mark on each case it lists follows
    (``digest_marks``)."""
    made = ctx.prepared if ctx.prepared is not None else prepare_digest(ctx)
    if made is None:
        return "no on_call party in follow_up: nothing sent"
    cases, to, mail = made
    ctx.written = (cases, queue(ctx.db, mail), f"in the review digest to {', '.join(to)}")
    return f"{len(cases)} case(s) to {', '.join(to)}"


def digest_marks(ctx: JobContext) -> None:
    """On each case of the digest, that it was in it, which keeps it out of the next:
    in short write transactions of ``MARKS`` cases (a fortnight's backlog on a log of a
    million cases is 4,000, one write of 110 ms). A crash between them lists the cases
    not yet marked again in the next digest: twice, never not at all."""
    if ctx.written is None:
        return
    cases, row, detail = ctx.written
    chunks = [[c.id for c in cases[i : i + MARKS]] for i in range(0, len(cases), MARKS)]
    in_batches(ctx.db, chunks, lambda ids: events(ctx.db, "in-digest", detail, ids, row), 1)


review_digest.prepare = prepare_digest  # type: ignore[attr-defined]
review_digest.after = digest_marks  # type: ignore[attr-defined]
