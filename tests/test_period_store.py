"""The period report's reads of a large log (gateway/store/period.py, issue 22): the
closed cases found by the index of closing times, with all their measures in one query,
are the ones the dates' comparison over every case found, in the same order; the
reviews' and measures' counts read indexes, not the case table."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.store import insert, open_db
from gateway.store.period import ClosedCase, closed_cases, record_figures

CLOSINGS = [None, "2025-12-31T23:59:59.999+00:00", "2026-01-01T00:00:00.000+00:00",
            "2026-01-01T00:30:00.000+01:00", "2026-01-31T22:00:00.000+00:00",
            "2026-01-31T23:30:00.000-02:00", "2026-02-01T00:00:00.000+00:00",
            "2026-01-15 10:00:00", "2026-01-15"]  # fmt: skip
case = st.fixed_dictionaries({
    "closed_at": st.sampled_from(CLOSINGS),
    "status": st.sampled_from(["lukket", "registrert"]),
    "category": st.sampled_from([None, "alarm"]),
    "cause": st.sampled_from([None, "", "Batteriet var tomt"]),
    "measure": st.sampled_from([None, "", "Byttet batteri", "Ny ruter"]),
    "measures": st.lists(st.sampled_from(["Byttet batteri", "Ny ruter", ""]), max_size=3),
})  # fmt: skip


def before(db, start: str, end: str) -> list[ClosedCase]:
    """The list as it was read before: every case's closing date compared, then one query
    of measures per case."""
    rows = db.execute(
        "SELECT id, reference, category, cause, measure FROM cases WHERE status = 'lukket' "
        "AND substr(closed_at, 1, 10) BETWEEN ? AND ? ORDER BY closed_at, id",
        [start, end],
    ).fetchall()
    out = []
    for case_id, reference, category, cause, closing in rows:
        found = db.execute(
            "SELECT text FROM case_measures WHERE case_id = ? ORDER BY number", [case_id]
        ).fetchall()
        measures = [m[0] for m in found]
        if closing and closing not in measures:
            measures.append(closing)
        out.append(ClosedCase(reference, category, cause, tuple(measures)))
    return out


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    log=st.lists(case, max_size=25),
    period=st.sampled_from(
        [("2026-01-01", "2026-01-31"), ("2025-12-31", "2025-12-31"), ("2026-01-15", "2026-02-01")]
    ),
)
def test_the_closed_cases_are_those_read_case_by_case(log, period):  # fmt: skip
    db = open_db(None)
    for n, values in enumerate(log):
        row = {k: v for k, v in values.items() if k != "measures"}
        case_id = insert(db, "cases", {**row, "reference": f"AVVIK-2026-{n:04d}",
                                       "received_at": "2025-12-01T10:00:00.000+00:00"})  # fmt: skip
        for number, text in enumerate(reversed(values["measures"]), start=1):
            insert(db, "case_measures", {"case_id": case_id, "number": 4 - number, "text": text})
    assert closed_cases(db, *period) == before(db, *period)


def test_the_reviews_and_measures_are_counted_from_indexes():
    db = open_db(None)
    asked: list[str] = []
    db.conn.set_trace_callback(asked.append)  # the statements, with their values
    record_figures(db, "2026-01-01", "2026-12-31")
    db.conn.set_trace_callback(None)
    plans = [" ".join(r[-1] for r in db.execute(f"EXPLAIN QUERY PLAN {sql}")) for sql in asked]
    assert len(plans) == 2
    assert "COVERING INDEX idx_case_measures_dates" in plans[0]
    assert "COVERING INDEX idx_cases_reviews" in plans[1]


def test_each_distinct_text_is_de_identified_once(ruleset, monkeypatch):
    import gateway.period_mail as period_mail

    real, asked = period_mail.redacted, []
    monkeypatch.setattr(
        period_mail, "redacted", lambda rs, text: asked.append(text) or real(rs, text)
    )
    closed = [ClosedCase(f"AVVIK-{n}", None, "Tomt batteri, ring 912 34 567", ("Byttet", ""))
              for n in range(50)]  # fmt: skip
    shown = period_mail._deidentified(closed, ruleset)
    assert sorted(asked) == ["Byttet", "Tomt batteri, ring 912 34 567"]
    assert [c["reference"] for c in shown] == [c.reference for c in closed]
    assert all(c == {**shown[0], "reference": c["reference"]} for c in shown)
    assert "912 34 567" not in shown[0]["cause"] and shown[0]["measures"] == ["Byttet"]
