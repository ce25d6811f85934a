"""``pipeline_workers``: worker processes parse and de-identify ahead of the pipeline
thread (gateway/prepare.py), and the case log comes out as it does without them."""

from __future__ import annotations

import datetime as dt
import email
import json
from email.policy import default

import pytest
from conftest import EXAMPLES, ROOT, make_mail
from worker_tasks import HANG, KILL, dies_or_hangs

from gateway.intake import accept
from gateway.pipeline import Pipeline
from gateway.prepare import Lost, Prepared, load_keyed
from gateway.render import Renderer
from gateway.settings import Settings, SettingsError, load
from gateway.settings_check import usable_cores
from gateway.store import clock, open_db
from gateway.workers import Workers

SHIPPED = (ROOT / "rules.yaml").read_text(encoding="utf-8")


class Counting(Workers):
    """Workers that count what they handed the thread: the test must see them work."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen: list[Prepared | Lost | None] = []

    def ahead(self, *args, **kwargs):
        for row, prepared in super().ahead(*args, **kwargs):
            self.seen.append(prepared)
            yield row, prepared


def settings_for(tmp_path, name: str, rules=ROOT / "rules.yaml") -> Settings:
    return Settings(data_dir=tmp_path / name, rules_file=rules, smtp_intake_port=None)


def pipeline_for(settings: Settings, workers: Workers | None):
    """The case log and a pipeline on it, its workers told the rules' digest."""
    db = open_db(settings.database_path)
    ruleset, key = load_keyed(settings.rules_file)
    if workers is not None:
        workers.key_of = lambda r: key if r is ruleset else None
    renderer = Renderer(settings.gateway_address, settings.gateway_name)
    return db, Pipeline(db, lambda: ruleset, renderer, settings, workers)


def run(settings: Settings, raws: list[tuple[bytes, str]], workers: Workers | None):
    """The messages through one pipeline, in batches of 10 as intake stored them."""
    db, pipeline = pipeline_for(settings, workers)
    for raw, mailbox in raws:
        accept(db, raw, mailbox, "test")
    while pipeline.process_batch(10):
        pass
    return db


def case_log(db) -> dict:
    """What the case log holds, without the stamps and the generated Message-IDs and
    MIME boundaries that differ from run to run; every outgoing mail part by part."""
    tables = {}
    for table in ("messages", "cases", "events", "outbox", "participants"):
        rows = []
        for row in db.query(f"SELECT * FROM {table} ORDER BY rowid"):
            drop = {k for k in row if k.endswith(("_at", "_until")) or k == "at"}
            if row.get("direction") == "out":
                drop |= {"message_id", "sha256", "size"}
            rows.append({k: v for k, v in row.items() if k not in drop})
        tables[table] = rows
    mails = []
    for row in db.query(
        "SELECT r.raw FROM outbox o JOIN raw_messages r ON r.id = o.message_id ORDER BY o.id"
    ):
        mail = email.message_from_bytes(row["raw"], policy=default)
        parts = [
            (p.get_content_type(), p.get_filename(), p.get_payload(decode=True))
            for p in mail.walk()
            if not p.is_multipart()
        ]
        mails.append((mail["Subject"], mail["To"], mail["Cc"], parts))
    tables["mails"] = mails
    return tables


def mix() -> list[tuple[bytes, str]]:
    """The scenario's examples, a duplicate, a message that cannot be read, a reply."""
    raws = []
    for eml in sorted(EXAMPLES.glob("*.eml")):
        expected = json.loads(eml.with_suffix(".expected.json").read_text())
        raws.append((eml.read_bytes(), expected.get("mailbox") or "support"))
    raws.append(raws[0])  # the same bytes again
    raws.append((b"\r\n\r\n", "support"))  # no header fields: quarantined
    body = "Hei,\n\nKari Nordmann, fnr 01017012345, tlf 912 34 567, har ingen alarm.\n"
    raws.append((make_mail(subject="Personopplysninger", body=body), "support"))
    return raws


@pytest.mark.skipif(not EXAMPLES.exists(), reason="examples not beside the repo")
def test_the_case_log_is_the_same_with_workers(tmp_path):
    raws = mix()
    # one moment for both runs: a receipt shows its minute, and the runs take seconds
    with clock.fixed(dt.datetime.now(dt.UTC)):
        alone = case_log(run(settings_for(tmp_path, "alone"), raws, None))
        settings = settings_for(tmp_path, "workers")
        workers = Counting(2, settings, key_of=lambda r: None)
        try:
            together = case_log(run(settings, raws, workers))
        finally:
            workers.close()
    assert together == alone
    # The workers did the work: every message parsed there, decided, and the relays to
    # the supplier (privacy.redact_for) de-identified there.
    prepared = [p for p in workers.seen if isinstance(p, Prepared)]
    assert len(prepared) == len(raws)
    assert sum(p.decision is not None for p in prepared) == len(raws) - 1  # not the unread
    assert sum(p.shown is not None for p in prepared) >= 5
    assert any(isinstance(p.parsed, str) for p in prepared)  # why it cannot be read


def test_a_message_that_kills_or_hangs_a_worker_is_quarantined_and_the_rest_go_on(tmp_path):
    settings = settings_for(tmp_path, "crash")
    raws = [
        (make_mail(subject="Vanlig 1"), "support"),
        (KILL + b"\r\n" + make_mail(subject="Dreper arbeideren"), "support"),
        (make_mail(subject="Vanlig 2"), "support"),
        (HANG + b"\r\n" + make_mail(subject="Henger"), "support"),
        (make_mail(subject="Vanlig 3"), "support"),
    ]
    workers = Counting(2, settings, key_of=lambda r: None, timeout=3, task=dies_or_hangs)
    try:
        db = run(settings, raws, workers)
    finally:
        workers.close()
    rows = list(db.query("SELECT * FROM messages WHERE direction = 'in' ORDER BY id"))
    killer, hung = rows[1], rows[3]
    assert (killer["state"], hung["state"]) == ("quarantined", "quarantined")
    assert killer["reason"] == "a pipeline worker process died preparing it, twice"
    assert hung["reason"] == "a pipeline worker took longer than 3 s preparing it, twice"
    for row in (rows[0], rows[2], rows[4]):  # prepared in the pools that replaced the others
        assert (row["outcome"], row["attempts"]) == ("relay", 1)
    assert sum(isinstance(p, Prepared) for p in workers.seen) == 3
    assert db["cases"].count == 3


def test_workers_decide_with_the_rules_the_pipeline_has(tmp_path):
    """A worker loads rules.yaml itself, and decides only with the file the pipeline's
    rules came from: a file changed but not yet reloaded is not used, a reloaded one is."""
    from gateway.daemon import Rules

    path = tmp_path / "rules.yaml"
    path.write_text(SHIPPED)
    settings = settings_for(tmp_path, "reload", rules=path)
    rules = Rules(settings)
    db = open_db(settings.database_path)
    workers = Counting(1, settings, key_of=rules.key_of)
    renderer = Renderer(settings.gateway_address, settings.gateway_name)
    pipeline = Pipeline(db, rules, renderer, settings, workers)

    def one(subject: str) -> Prepared:
        accept(db, make_mail(subject=subject), "support", "test")
        assert pipeline.process_batch() == 1
        return workers.seen[-1]

    try:
        # Changed on disk after the pipeline loaded it, before the workers started: they
        # cannot load the pipeline's rules, so they only parse, and the thread decides.
        path.write_text(SHIPPED.replace("redact_for: [supplier]", "redact_for: []"))
        stale = one("Alarm 1")
        assert stale.parsed is not None and stale.decision is None and stale.shown is None
        assert rules.reload()
        fresh = one("Alarm 2")  # reloaded: the workers decide, with the new rules
        assert fresh.decision.to == ("support@leverandor.example",) and fresh.shown is None
        path.write_text(SHIPPED)
        assert rules.reload()
        again = one("Alarm 3")  # and with the old ones again: de-identified for the supplier
        assert again.decision is not None and again.shown is not None
    finally:
        workers.close()
    assert db["cases"].count == 3


def test_pipeline_workers_in_the_settings(tmp_path):
    assert Settings().pipeline_workers == usable_cores() >= 1
    path = tmp_path / "gateway.toml"
    path.write_text("pipeline_workers = 3\n")
    assert load(path, environ={}).pipeline_workers == 3
    assert Workers.for_settings(Settings(pipeline_workers=1), lambda r: None) is None
    assert Workers.for_settings(Settings(pipeline_workers=3), lambda r: None).processes == 2
    for text, message in (
        ("pipeline_workers = 0\n", "gateway.toml: pipeline_workers: must be 1 to 256, not 0"),
        ('pipeline_workers = "2"\n', "pipeline_workers: must be a whole number"),
    ):
        path.write_text(text)
        with pytest.raises(SettingsError, match=message):
            load(path, environ={})
