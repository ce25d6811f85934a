"""``gateway status`` lists the newest failures, newest first, whatever the mix of
kinds: the same five a plain "all failures by id" would give (one query per kind now,
so that a log of a million cases answers at once)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.health import FAILURES
from gateway.store import event, open_db, write
from gateway.store.health import last_events

KINDS = (*FAILURES, "decided", "delivered")


@settings(max_examples=40, deadline=None)
@given(kinds=st.lists(st.sampled_from(KINDS), max_size=40), limit=st.integers(1, 8))
def test_the_newest_failures_of_any_kinds_newest_first(tmp_path_factory, kinds, limit):
    db = open_db(tmp_path_factory.mktemp("log") / "caselog.db")
    with write(db):
        for i, kind in enumerate(kinds):
            event(db, kind, f"number {i}")
    want = [(kind, f"number {i}") for i, kind in enumerate(kinds) if kind in FAILURES]
    want = want[::-1][:limit]
    got = [(line.kind, line.detail) for line in last_events(db, FAILURES, limit)]
    assert got == want
