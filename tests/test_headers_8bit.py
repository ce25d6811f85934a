"""Undeclared 8-bit headers (issue 16, point 12): decoded as mail clients do, UTF-8 when
valid, else Windows-1252, and the decoding recorded as an event."""

from __future__ import annotations

import datetime as dt

import pytest

from gateway.decide.classify import classify_bytes
from gateway.intake import accept
from gateway.parse import parse
from gateway.pipeline import Pipeline
from gateway.render import Renderer
from gateway.settings import Settings

AT = dt.datetime(2026, 3, 10, 10, 0, tzinfo=dt.UTC)
STAFF = "operator.responssenter@kristiansand.kommune.example"


def _raw(subject: str, encoding: str, frm: str = f"Kåre <{STAFF}>") -> bytes:
    head = (
        f"From: {frm}\r\nTo: responssenter@trygghet-agder.example\r\n"
        f"Subject: {subject}\r\nMessage-ID: <8bit-{encoding}@test.example>\r\n"
        "Date: Tue, 10 Mar 2026 10:12:00 +0100\r\n\r\n"
    )
    return head.encode(encoding) + b"En bruker har ikke kontakt.\r\n"


@pytest.mark.parametrize("encoding", ["utf-8", "windows-1252"])
def test_an_undeclared_8bit_subject_reads_as_a_mail_client_shows_it(encoding):
    msg = parse(_raw("Alarm i Risør – søndag", encoding))
    assert msg.subject == "Alarm i Risør – søndag"
    assert msg.header("subject") == "Alarm i Risør – søndag"
    assert msg.from_name == "Kåre"
    assert f"Undeclared8BitHeader(Subject: {encoding})" in msg.defects


def test_invalid_utf8_falls_back_to_windows_1252():
    raw = _raw("Ærlig talt", "utf-8").replace("Ærlig".encode(), "Ærlig".encode("cp1252"))
    raw = raw.replace(b"\xc3\x85", b"\xc5")  # the From name in windows-1252 too
    assert parse(raw).subject == "Ærlig talt"


def test_a_folded_8bit_subject_is_unfolded():
    raw = _raw("Alarm i\r\n Risør", "windows-1252")
    assert parse(raw).subject == "Alarm i Risør"


def test_an_ascii_subject_is_no_decoding():
    msg = parse(_raw("=?utf-8?q?Alarm_i_Ris=C3=B8r?=", "ascii", frm=STAFF))
    assert msg.subject == "Alarm i Risør"
    assert not any(d.startswith("Undeclared8Bit") for d in msg.defects)


@pytest.mark.parametrize("encoding", ["utf-8", "windows-1252"])
def test_the_municipality_in_an_8bit_subject_is_found(ruleset, encoding):
    got = classify_bytes(_raw("Alarm i Risør", encoding), ruleset, "responssenter", AT, None)
    assert (got["decision"], got["flow"], got["municipality"]) == ("relay", "c", "Risør")


def test_the_decoding_is_an_event(fresh_db, ruleset):
    accept(fresh_db, _raw("Alarm i Risør", "windows-1252"), "responssenter", "t")
    renderer = Renderer("avviksgateway@trygghet-agder.example", "Avviksgatewayen")
    while Pipeline(fresh_db, lambda: ruleset, renderer, Settings()).process_batch():
        pass
    details = [r["detail"] for r in fresh_db.query("SELECT detail FROM events WHERE kind = ?",
                                                    ["header-decoded"])]  # fmt: skip
    assert sorted(details) == [
        "undeclared 8-bit header From: windows-1252",
        "undeclared 8-bit header Subject: windows-1252",
    ]
