"""A confidential reporter (issue 21, nav-lillehammer): ``#konfidensiell`` on a line of
its own in a new report. The receiver never sees the reporter's name or address, in the
bytes or in anything a mail client decodes from them; answers still reach the reporter;
the reporter's later replies go on the same way; who reported is shown only to the
profile's readers. In-process here (the pipeline, the store, the renderer); through
Dovecot and the SMTP sink in test_profiles_e2e.py."""

from __future__ import annotations

import base64
import email
import email.header
import functools
import quopri
import re
import time
from email.message import EmailMessage
from email.policy import default

import pytest
from conftest import ROOT, dovecot_available
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from test_end_to_end import wait_for_log
from test_profiles_e2e import _queued, _settings

from gateway.intake import accept
from gateway.models import Outgoing
from gateway.parse import parse
from gateway.pipeline import Pipeline
from gateway.privacy.confidential import (
    attachment_parts,
    conceal,
    reporter,
    requested,
    shown_reporter,
)
from gateway.privacy.outgoing import PersonalDataInOutgoing, guard
from gateway.render import Renderer
from gateway.rules.loader import load_rules
from gateway.settings import Settings
from gateway.store import open_db

INTAKE = "avvik@nav-lg.example"
TQM = "tqm@lillehammer.kommune.example"


def report(frm: str, name: str, subject: str, body: str, attachments=(), word="konfidensiell"):
    msg = EmailMessage()
    msg["From"] = email.utils.formataddr((name, frm)) if name else frm
    msg["To"] = INTAKE
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{frm.replace('@', '.')}.1@{frm.partition('@')[2]}>"
    msg.set_content(body.replace("#konfidensiell", f"#{word}"))
    for filename, data, ctype in attachments:
        maintype, _, subtype = ctype.partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes()


def every_reading(raw: bytes) -> str:
    """The bytes as they are, and every way a part or header can be decoded: base64,
    quoted-printable, RFC 2047 encoded words, RFC 2231 parameters, all lower case."""
    out = [raw.decode("utf-8", "replace")]
    msg = email.message_from_bytes(raw, policy=default)
    for part in msg.walk():
        for value in part.values():
            out.append(str(value))
            out.append(str(email.header.make_header(email.header.decode_header(str(value)))))
        payload = part.get_payload(decode=True)
        if payload:
            out.append(payload.decode("utf-8", "replace"))
        if part.get_filename():
            out.append(part.get_filename())
    for chunk in re.findall(rb"[A-Za-z0-9+/=\r\n]{16,}", raw):
        try:
            out.append(base64.b64decode(chunk, validate=False).decode("utf-8", "replace"))
        except ValueError:
            pass
    out.append(quopri.decodestring(raw).decode("utf-8", "replace"))
    return "\n".join(out).lower()


def leaks(raw: bytes, *words: str) -> list[str]:
    text = every_reading(raw)
    whole = r"(?<![^\W_]){}(?![^\W_])"
    return [w for w in words if w and re.search(whole.format(re.escape(w.lower())), text)]


BODY = (
    "Hei,\n\nEn kommunal enhet i TQM-saken om sosialhjelp behandlet en bruker dårlig.\n"
    "#konfidensiell\n\nMed vennlig hilsen\nKari Nordmann\nkari.nordmann@nav.example\n"
)


_NOT_RELAYED = ("quarantine", "triage")


@functools.lru_cache(maxsize=1)
def _rules():
    return load_rules(ROOT / "profiles" / "nav-lillehammer" / "rules.yaml")


def _run_report(raw: bytes):
    rules = _rules()
    db = open_db(None)
    renderer = Renderer("avviksgateway@nav-lg.example", "Avviksgatewayen", rules=lambda: rules)
    pipeline = Pipeline(db, lambda: rules, renderer, Settings())
    accept(db, raw, "avvik", "t")
    pipeline.process_batch()
    return db, rules, pipeline


def test_the_word_counts_on_a_line_of_its_own_in_every_language():
    for word in ("konfidensiell", "Konfidensiell", "konfidentiell", "confidential"):
        assert requested(parse(report("a@nav.example", "", "s", f"Tekst\n#{word}\n")))
    assert not requested(parse(report("a@nav.example", "", "s", "Er dette #konfidensiell?\n")))
    assert not requested(parse(report("a@nav.example", "", "s", "Tekst\n> #konfidensiell\n")))


def test_a_confidential_report_reaches_tqm_without_the_reporter_and_the_receipt_says_so():
    raw = report(
        "kari.nordmann@nav.example",
        "Kari Nordmann",
        "Sosialhjelp - Kari Nordmann",
        BODY,
        [("notat_nordmann.pdf", b"%PDF-1.4 Author Kari", "application/pdf")],
    )
    db, rules, _ = _run_report(raw)
    sent = _queued(db)
    ((_, to, relay),) = [s for s in sent if s[0] == "relay"]
    assert to == [TQM]
    relay_raw = relay.as_bytes()
    assert leaks(relay_raw, "kari.nordmann@nav.example", "kari", "nordmann") == []
    text = relay.get_body(("plain",)).get_content()
    assert "Meldt av:      ansatt ved kontoret" in text
    assert "melderens navn og adresse, 1 vedlegg fjernet" in text
    assert not list(relay.iter_attachments())
    ((_, rto, receipt),) = [s for s in sent if s[0] == "receipt"]
    assert rto == ["kari.nordmann@nav.example"]
    assert "sendt videre konfidensielt" in receipt.get_body(("plain",)).get_content()
    case = next(db.query("SELECT * FROM cases"))
    assert case["confidential"] == 1 and case["reporter_address"] == "kari.nordmann@nav.example"
    assert case["reporter_name"] == "Kari Nordmann" and "Nordmann" not in case["subject"]


def test_without_the_word_the_relay_names_the_reporter_as_before():
    raw = report(
        "kari.nordmann@nav.example",
        "Kari Nordmann",
        "Sosialhjelp",
        BODY.replace("#konfidensiell\n", ""),
    )
    db, _, _ = _run_report(raw)
    ((_, _, relay),) = [s for s in _queued(db) if s[0] == "relay"]
    assert "kari.nordmann@nav.example" in relay.get_body(("plain",)).get_content()
    assert next(db.query("SELECT confidential FROM cases"))["confidential"] == 0


def test_the_guard_fails_closed_when_the_reporter_is_still_named():
    _, rules, _ = _run_report(report("x@nav.example", "", "s", "sosialhjelp\n"))
    who = reporter(["kari.nordmann@nav.example"], ["Kari Nordmann"])
    out = Outgoing(
        "relay",
        "gw@nav-lg.example",
        (TQM,),
        b"Subject: =?utf-8?q?Hei_N=C3=B8rd?=\r\n\r\nfrom Kari\r\n",
        "<1@x>",
        "s",
        None,
    )
    try:
        guard(out, rules, hidden=who)
    except PersonalDataInOutgoing as exc:
        assert any("the reporter" in p for p in exc.problems)
    else:
        raise AssertionError("not held")


def test_who_reported_is_shown_to_the_readers_only():
    _, rules, _ = _run_report(report("x@nav.example", "", "s", "sosialhjelp\n"))
    address = "kari.nordmann@nav.example"
    assert shown_reporter(rules, True, address, "kvalitet@nav-lg.example") == address
    assert shown_reporter(rules, True, address, TQM) == "ansatt ved kontoret"
    assert shown_reporter(rules, True, address, None) == "ansatt ved kontoret"
    assert shown_reporter(rules, False, address, TQM) == address


def _report_by(first: str, last: str, local: str, where) -> tuple[bytes, str, str]:
    """A confidential report whose reporter's name and address are written ``where``."""
    ascii_last = "".join(c for c in last.lower() if c.isascii())
    address = f"{local}.{ascii_last}@nav.example" if ascii_last else f"{local}@nav.example"
    name = f"{first} {last}"
    subject = "Sosialhjelp" + (f" fra {name}" if "subject" in where else "")
    body = "Hei,\n\nEn sak om sosialhjelp ble behandlet feil.\n#konfidensiell\n"
    if "body" in where:
        body += f"Jeg, {first}, skrev til {address} i går.\n"
    if "signature" in where:
        body += f"\n-- \n{name}\n{address}\n"
    if "quoted" in where:
        body += f"\nDen 1.12. skrev {name} <{address}>:\n> {last} sa noe\n"
    files = [(f"notat_{last}.txt", f"{name}".encode(), "text/plain")] if "file" in where else []
    return report(address, name, subject, body, files), address, name


@functools.cache
def _own_words(where: frozenset[str]) -> bytes:
    """The relay of the same report by a reporter whose name is in no text: what the
    gateway and the report write themselves."""
    db, _, _ = _run_report(_report_by("Qxzvw", "Wyxqz", "qxzvw", where)[0])
    return b"".join(relay.as_bytes() for purpose, _, relay in _queued(db) if purpose == "relay")


_LETTERS = "abcdefghijklmnopqrstuvwxyzæøåäöéü"
_name = st.text(alphabet=_LETTERS, min_size=3, max_size=10).map(str.capitalize)
_local = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=3, max_size=8)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    first=_name, last=_name, local=_local,
    where=st.sets(st.sampled_from(["subject", "body", "quoted", "signature", "file"]),
                  min_size=1),
)  # fmt: skip
def test_no_trace_of_the_reporter_wherever_the_name_or_address_is_written(
    first, last, local, where
):
    # A name that is a word the relay writes itself ("ved" of "ansatt ved kontoret") is
    # no trace of the reporter: such draws are left out.
    assume(not leaks(_own_words(frozenset(where)), local, first, last))
    raw, address, name = _report_by(first, last, local, where)
    msg = parse(raw)  # what the relay is made of: concealed, whatever the guard does
    shown = conceal(msg, _rules(), reporter([msg.from_addr], [msg.from_name]))
    for text in (shown.subject, shown.text, shown.new_text, shown.from_name):
        assert leaks(text.encode(), address, local, first, last, name) == [], text
    assert all(part.get_filename() in shown.skip for part in attachment_parts(msg))
    db, _, _ = _run_report(raw)
    relays = [s for s in _queued(db) if s[0] == "relay"]
    if not relays:  # held for the administrators rather than relayed with a trace, or
        # triaged (a name that is a topic word, "Aap")
        assert next(db.query("SELECT outcome FROM messages"))["outcome"] in _NOT_RELAYED
        return
    ((_, _, relay),) = relays
    assert leaks(relay.as_bytes(), address, local, first, last, name) == []


@pytest.mark.skipif(not dovecot_available(), reason="dovecot is not installed")
def test_end_to_end_the_coordinator_answers_and_the_reporters_reply_stays_confidential(
    smtp_sink, gateway_process, monkeypatch, tmp_path
):
    """Through Dovecot, `gateway serve` and the SMTP sink: the relay reaches TQM without
    the reporter in any bytes, TQM's answer reaches the reporter, and the reporter's
    next reply is relayed to TQM without them again."""
    from servers import Dovecot

    reporter_address, name = "kari.nordmann@nav.example", "Kari Nordmann"
    words = (reporter_address, "kari.nordmann", "kari", "nordmann", name)
    rules = _rules()
    with Dovecot(tmp_path / "dovecot", users={b: "secret" for b in rules.mailboxes}) as dovecot:
        monkeypatch.setenv("TEST_IMAP_PASSWORD", "secret")
        settings_text = _settings(
            "nav-lillehammer",
            "avviksgateway@nav-lg.example",
            tmp_path / "var",
            smtp_sink.port,
            dovecot,
            rules.mailboxes,
        )
        gateway = gateway_process(settings_text)
        gateway.start()
        wait_for_log(gateway, "avvik: connected")
        attachment = [("notat_nordmann.txt", b"Skrevet av Kari Nordmann", "text/plain")]
        dovecot.append(
            "avvik", report(reporter_address, name, "Sosialhjelp (Kari Nordmann)", BODY, attachment)
        )
        got = smtp_sink.wait_for(2, timeout=30)
        relay = next(m for m in got if m.rcpt_tos == [TQM])
        assert leaks(relay.data, *words) == [], leaks(relay.data, *words)
        assert "ansatt ved kontoret" in every_reading(relay.data)
        receipt = next(m for m in got if m.rcpt_tos == [reporter_address])
        assert "konfidensielt" in every_reading(receipt.data)

        answer = EmailMessage()
        answer["From"], answer["To"] = TQM, INTAKE
        answer["Subject"] = "SV: " + relay.message["Subject"]
        answer["In-Reply-To"] = relay.message["Message-ID"]
        answer["Message-ID"] = f"<{time.monotonic_ns()}@tqm.example>"
        answer.set_content("Hei,\n\nTakk. Hvilken enhet gjaldt det?\n")
        dovecot.append("avvik", answer.as_bytes())
        got = smtp_sink.wait_for(3, timeout=30)
        told = got[-1]
        assert told.rcpt_tos == [reporter_address]
        assert "hvilken enhet gjaldt det?" in every_reading(told.data)

        again = EmailMessage()
        again["From"] = email.utils.formataddr((name, reporter_address))
        again["To"] = INTAKE
        again["Subject"] = "SV: " + told.message["Subject"]
        again["In-Reply-To"] = told.message["Message-ID"]
        again["References"] = f"<kari.nordmann.1@nav.example> {told.message['Message-ID']}"
        again["Message-ID"] = f"<kari.nordmann.{time.monotonic_ns()}@nav.example>"
        again.set_content(
            "Det gjaldt barneverntjenesten.\n\nHilsen Kari Nordmann\n"
            "kari.nordmann@nav.example\n\n> Hvilken enhet gjaldt det?\n"
        )
        dovecot.append("avvik", again.as_bytes())
        got = smtp_sink.wait_for(4, timeout=30)
        second = got[-1]
        assert second.rcpt_tos == [TQM]
        assert "barneverntjenesten" in every_reading(second.data)
        assert leaks(second.data, *words) == [], leaks(second.data, *words)
        assert gateway.stop() == 0


NAV_RULES = ROOT / "profiles" / "nav-lillehammer" / "rules.yaml"
QUALITY = "kvalitet@nav-lg.example"  # the profile's confidential_readers (and triage)


def _file_log(tmp_path) -> tuple[str, str]:
    """A case log on disk with one confidential case; (its path, the reference)."""
    path = tmp_path / "gateway.db"
    db = open_db(path)
    rules = _rules()
    renderer = Renderer("avviksgateway@nav-lg.example", "Avviksgatewayen", rules=lambda: rules)
    accept(db, report("kari.nordmann@nav.example", "Kari Nordmann", "Sosialhjelp", BODY),
           "avvik", "t")  # fmt: skip
    Pipeline(db, lambda: rules, renderer, Settings()).process_batch()
    reference = next(db.query("SELECT reference FROM cases"))["reference"]
    db.close()
    return str(path), reference


def test_cases_show_gives_the_label_and_the_reporter_only_with_original_which_is_logged(
    tmp_path,
):
    from click.testing import CliRunner

    from gateway.cli import cli

    path, reference = _file_log(tmp_path)
    where = ["--database", path, "--rules", str(NAV_RULES)]
    plain = CliRunner().invoke(cli, ["cases", "show", *where, reference])
    assert plain.exit_code == 0, plain.output
    assert "kari" not in plain.output.lower() and "ansatt ved kontoret" in plain.output
    shown = CliRunner().invoke(cli, ["cases", "show", *where, "--original", reference])
    assert "kari.nordmann@nav.example" in shown.output and "Kari Nordmann" in shown.output
    db = open_db(path)
    assert list(db.query("SELECT id FROM events WHERE kind = 'original-viewed'"))


def test_the_web_view_shows_the_reporter_to_the_quality_coordinator_only(tmp_path):
    from web_helpers import Site, sign_in

    from gateway.web.config import WebConfig
    from gateway.web.factory import create_app
    from gateway.web.server import make_web

    site = Site(tmp_path)
    site.settings = Settings(data_dir=tmp_path, rules_file=NAV_RULES)
    site.rules = _rules()
    config = WebConfig(port=8080, base_url="https://avvik.example")
    site.web = make_web(site.settings, lambda: site.rules, config)
    site.app = create_app(site.web)
    attachment = [("notat_nordmann.txt", b"Kari", "text/plain")]
    accept(site.db, report("kari.nordmann@nav.example", "Kari Nordmann", "Sosialhjelp", BODY,
                           attachment), "avvik", "t")  # fmt: skip
    renderer = Renderer("avviksgateway@nav-lg.example", "GW", rules=site.rules)
    Pipeline(site.db, lambda: site.rules, renderer, site.settings).process_batch()
    reference = next(site.db.query("SELECT reference FROM cases"))["reference"]
    receiver = sign_in(site, TQM).get(f"/saker/{reference}").get_data(as_text=True)
    assert "ansatt ved kontoret" in receiver
    assert "kari" not in receiver.lower() and "nordmann" not in receiver.lower()
    reader = sign_in(site, QUALITY).get(f"/saker/{reference}").get_data(as_text=True)
    assert "kari.nordmann@nav.example" in reader


def test_a_relay_that_would_still_name_the_reporter_is_held_not_sent():
    """The reporter's name is a word the relay's own text has ("Referanse:"): it cannot
    be taken out, so the report is held in quarantine and nothing goes to TQM."""
    raw = report("referanse@nav.example", "Referanse", "Sosialhjelp", BODY)
    db, _, _ = _run_report(raw)
    assert not [s for s in _queued(db) if s[0] == "relay"]
    row = next(db.query("SELECT outcome, reason FROM messages"))
    assert row["outcome"] == "quarantine" and "the reporter" in row["reason"], row
