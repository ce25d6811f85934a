"""Tracking references: allocated without gaps or duplicates, found again in mangled subjects."""

from __future__ import annotations

import threading

import pytest

from gateway.references import find_reference, strip_prefixes
from gateway.store import next_reference, open_db, write


@pytest.mark.parametrize("subject, ref", [
    ("[AVVIK-2026-0042] Trygghetsalarm", "AVVIK-2026-0042"),
    ("SV: [AVVIK-2026-0042] Trygghetsalarm", "AVVIK-2026-0042"),
    ("Sv: VS: RE: [AVVIK-2026-0042] Trygghetsalarm", "AVVIK-2026-0042"),
    ("AW: Antw: Fwd: avvik-2026-0042 alarm", "AVVIK-2026-0042"),
    ("RE[2]: Re: [EXT] Mottatt: [AVVIK-2026-10042] x", "AVVIK-2026-10042"),
    ("Trygghetsalarm uten kontakt", None),
    ("XAVVIK-2026-0042", None),
    ("AVVIK-26-42", None),
])  # fmt: skip
def test_find_reference_after_prefixes(subject, ref):
    assert find_reference(subject) == ref


def test_strip_prefixes_in_several_languages():
    assert strip_prefixes("SV: VS: RE: Fwd: AW: Antw: Tr: Alarm") == "Alarm"
    assert strip_prefixes("Resultat: ok") == "Resultat: ok"  # a word, not a prefix


def test_references_count_up_per_year(fresh_db):
    with write(fresh_db):
        refs = [next_reference(fresh_db, "AVVIK", 2026) for _ in range(3)]
        refs.append(next_reference(fresh_db, "AVVIK", 2027))
    assert refs == ["AVVIK-2026-0001", "AVVIK-2026-0002", "AVVIK-2026-0003", "AVVIK-2027-0001"]


def test_a_rolled_back_transaction_leaves_no_gap(fresh_db):
    with pytest.raises(RuntimeError), write(fresh_db):
        next_reference(fresh_db, "AVVIK", 2026)
        raise RuntimeError("the case could not be written")
    with write(fresh_db):
        assert next_reference(fresh_db, "AVVIK", 2026) == "AVVIK-2026-0001"


def test_concurrent_writers_get_unique_gap_free_numbers(db_path):
    open_db(db_path).close()
    got: list[str] = []
    lock = threading.Lock()

    def worker():
        db = open_db(db_path)
        for _ in range(25):
            with write(db):
                ref = next_reference(db, "AVVIK", 2026)
            with lock:
                got.append(ref)
        db.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == [f"AVVIK-2026-{n:04d}" for n in range(1, 101)]
