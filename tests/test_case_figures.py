"""The narrow copy of what statistics read of each case (schema.m017_i22_case_figures) is
kept in step by triggers whatever happens to a case, and filled for an existing log."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.store import insert, open_db, write
from gateway.store.schema import _FIGURES, m017_i22_case_figures

COPIED = ", ".join(_FIGURES)
PROJECTION = f"SELECT id, {COPIED} FROM cases ORDER BY id"

values = st.fixed_dictionaries({
    "received_at": st.sampled_from(["2025-01-02T10:00:00.000+00:00",
                                    "2026-03-04T08:00:00.000+00:00"]),
    "closed_at": st.sampled_from([None, "2026-05-01T09:00:00.000+00:00"]),
    "first_answer_at": st.sampled_from([None, "2026-03-04T09:30:00.000+00:00"]),
    "status": st.sampled_from(["registrert", "lukket"]),
    "flow": st.sampled_from(["a", "b", None]),
    "cause": st.sampled_from([None, "slitasje"]),  # not copied: changing it changes nothing
    "severity": st.sampled_from([None, "high"]),
    "close_due": st.sampled_from([None, "2026-04-01"]),
})  # fmt: skip
steps = st.lists(
    st.tuples(
        st.sampled_from(["insert", "update", "delete", "subject"]), values, st.integers(0, 9)
    ),  # fmt: skip
    max_size=25,
)


def copy(db) -> list[tuple]:
    return [tuple(r) for r in db.execute(f"SELECT id, {COPIED} FROM case_figures ORDER BY id")]


@settings(max_examples=80, deadline=None, derandomize=True)
@given(steps=steps)
def test_the_copy_follows_every_change_to_a_case(steps):
    db = open_db(None)
    for n, (what, change, pick) in enumerate(steps):
        ids = [r[0] for r in db.execute("SELECT id FROM cases ORDER BY id")]
        with write(db):
            if what == "insert" or not ids:
                insert(db, "cases", {**change, "reference": f"AVVIK-2026-{n:04d}"})
            elif what == "update":
                sets = ", ".join(f"{k} = ?" for k in change)
                db.execute(
                    f"UPDATE cases SET {sets} WHERE id = ?",
                    [*change.values(), ids[pick % len(ids)]],
                )
            elif what == "subject":  # a column statistics do not read
                db.execute("UPDATE cases SET subject = 'x' WHERE id = ?", [ids[pick % len(ids)]])
            else:
                db.execute("DELETE FROM cases WHERE id = ?", [ids[pick % len(ids)]])
        assert copy(db) == [tuple(r) for r in db.execute(PROJECTION)]


def test_an_existing_log_is_copied_whole():
    db = open_db(None)
    for n, cause in enumerate([None, "", "slitasje"]):
        insert(db, "cases", {"reference": f"AVVIK-2026-{n:04d}", "flow": "a", "cause": cause,
                             "received_at": "2026-01-0{n}T10:00:00.000+00:00"})  # fmt: skip
    for name in ("in", "change", "out"):
        db.execute(f"DROP TRIGGER case_figures_{name}")
    db.execute("DROP TABLE case_figures")
    m017_i22_case_figures(db)
    assert copy(db) == [tuple(r) for r in db.execute(PROJECTION)]
