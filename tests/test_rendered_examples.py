"""Every message the pipeline writes for the 20 examples, byte for byte as before.

The renderer, the header writer and the privacy guard are tuned for speed; this holds
each change to the exact bytes the gateway wrote before it (relays, receipts, notices):
a digest of every outbox message per example, with the clock, the Message-IDs and the
MIME boundaries made fixed. After a deliberate change to what the mail says, write the
digests again with ``AVVIK_WRITE_RENDERED=1`` and say why in the commit.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import itertools
import json
import os
import uuid
from pathlib import Path

import pytest
from conftest import EXAMPLES

from bench.reports import small_reports
from gateway.intake import accept
from gateway.pipeline import Pipeline
from gateway.render import Renderer
from gateway.settings import Settings

DIGESTS = Path(__file__).with_name("rendered_examples.json")
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.eml")) if EXAMPLES.exists() else []


@pytest.fixture
def fixed(monkeypatch):
    """The clock of the Date header, Message-IDs and random boundaries made the same on
    every run (the renderer calls them through their modules)."""

    def restart():
        counter = itertools.count(1)
        monkeypatch.setattr(email.utils, "make_msgid", lambda domain=None, **_: (
            f"<fixed.{next(counter)}@{domain}>"))  # fmt: skip
        monkeypatch.setattr(uuid, "uuid4", lambda: uuid.UUID(int=next(counter)))

    date = "Tue, 10 Mar 2026 09:30:00 +0000"
    monkeypatch.setattr(email.utils, "format_datetime", lambda *_: date)
    monkeypatch.setattr(email.utils, "formatdate", lambda *_, **__: date)  # bench/reports.py
    return restart


def _outbox(db) -> list[tuple[str, bytes]]:
    rows = db.query(
        "SELECT o.purpose, r.raw FROM outbox o JOIN raw_messages r ON r.id = o.message_id "
        "ORDER BY o.id"
    )
    return [(r["purpose"], r["raw"]) for r in rows]


def _rendered(eml: Path | bytes, ruleset, fresh_db) -> list[dict]:
    if isinstance(eml, bytes):  # a benchmark report, as if it came to support at 10:12
        want = {"mailbox": "support", "at": "2026-03-10T10:12:00+01:00"}
        accept(fresh_db, eml, want["mailbox"], "test")
    else:
        want = json.loads(eml.with_suffix(".expected.json").read_text(encoding="utf-8"))
        accept(fresh_db, eml.read_bytes(), want["mailbox"], "test")
    at = dt.datetime.fromisoformat(want["at"]).astimezone(dt.UTC)
    fresh_db.execute("UPDATE messages SET received_at = ?", [at.isoformat(timespec="milliseconds")])
    renderer = Renderer("avviksgateway@trygghet-agder.example", "Avviksgatewayen")
    assert Pipeline(fresh_db, lambda: ruleset, renderer, Settings()).process_batch() == 1
    return [
        {"purpose": purpose, "bytes": len(raw), "sha256": hashlib.sha256(raw).hexdigest()}
        for purpose, raw in _outbox(fresh_db)
    ]


@pytest.mark.skipif(not EXAMPLE_FILES, reason="../shared/scenario/examples is not beside the repo")
@pytest.mark.parametrize("eml", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_the_mail_of_each_example_is_byte_identical(eml, ruleset, fresh_db, fixed):
    fixed()
    got = _rendered(eml, ruleset, fresh_db)
    digests = json.loads(DIGESTS.read_text()) if DIGESTS.exists() else {}
    if os.environ.get("AVVIK_WRITE_RENDERED"):
        digests[eml.stem] = got
        DIGESTS.write_text(json.dumps(digests, indent=1, sort_keys=True) + "\n")
    assert got == digests[eml.stem]


@pytest.mark.parametrize("n", range(10))
def test_the_mail_of_benchmark_reports_is_byte_identical(n, ruleset, fresh_db, fixed):
    """The benchmark's reports: HTML only, ISO-8859-1, multipart, small attachments."""
    fixed()
    got = _rendered(small_reports(10, seed=3)[n], ruleset, fresh_db)
    digests = json.loads(DIGESTS.read_text()) if DIGESTS.exists() else {}
    if os.environ.get("AVVIK_WRITE_RENDERED"):
        digests[f"bench-{n}"] = got
        DIGESTS.write_text(json.dumps(digests, indent=1, sort_keys=True) + "\n")
    assert got == digests[f"bench-{n}"]


def test_the_fixed_clock_and_ids_make_the_same_bytes_twice(ruleset, tmp_path, fixed):
    """The digests mean something only if nothing else in the mail changes by itself."""
    if not EXAMPLE_FILES:
        pytest.skip("../shared/scenario/examples is not beside the repo")
    from gateway.store import open_db

    runs = []
    for n in range(2):
        fixed()
        runs.append(_rendered(EXAMPLE_FILES[0], ruleset, open_db(tmp_path / f"{n}.db")))
    assert runs[0] == runs[1]
