"""The sender, read once and strictly (issue 16, point 9): a From that parsers read
differently goes to triage, and so does one our own server read as another domain."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import make_mail

from gateway.decide.classify import classify_bytes
from gateway.from_header import read_sender
from gateway.parse import parse

AT = dt.datetime(2026, 3, 10, 10, 0, tzinfo=dt.UTC)
KARI = "kari@vennesla.kommune.example"


def _with_from(value: str, extra: bytes = b"") -> bytes:
    raw = make_mail(frm="placeholder@x.example")
    return extra + raw.replace(b"From: placeholder@x.example", b"From: " + value.encode())


@pytest.mark.parametrize(
    "value",
    [
        f"<@evil.example:{KARI}>",  # obsolete route syntax
        f"kari@evil.example (<{KARI}>)",  # an address in a comment
        f"Kari <{KARI}> (x@evil.example)",
        f"{KARI}, kari@evil.example",  # several addresses
        f"{KARI} <kari@evil.example>",  # broken: two readings
        f"{KARI}@evil.example",
        f"Kari <{KARI}",  # unclosed
    ],
)
def test_a_from_parsers_read_differently_is_triaged(ruleset, value):
    raw = _with_from(value)
    assert "AmbiguousFrom" in parse(raw).defects
    got = classify_bytes(raw, ruleset, "support", AT, None)
    assert (got["decision"], got["chain"][-1]) == ("triage", "ambiguous-sender")
    assert got["explanation"].startswith("avsenderfeltet (From) kan leses som mer enn")


@pytest.mark.parametrize(
    "value",
    [
        f"Kari Nordmann <{KARI}>",
        f"{KARI} (Kari Nordmann)",  # an old-style comment with a name
        f'"Nordmann, Kari" <{KARI}>',
        f"=?utf-8?q?Kari_N=C3=B8rdmann?= <{KARI}>",
        f"Kari <{KARI.upper()}>",
    ],
)
def test_a_plain_from_is_read_as_before(ruleset, value):
    assert read_sender([value]).address == KARI
    got = classify_bytes(_with_from(value), ruleset, "support", AT, None)
    assert (got["decision"], got["flow"]) == ("relay", "a")


def test_no_address_at_all_is_no_sender_not_an_unclear_one():
    assert (
        read_sender(["MAILER-DAEMON"])
        == read_sender([])
        == read_sender(["<>"]).__class__("", "", False)
    )


def test_the_same_address_twice_is_one_sender():
    assert read_sender([KARI, KARI.upper()]).address == KARI


@pytest.mark.parametrize(
    "results",
    [
        "mx.trygghet-agder.example; dmarc=pass header.from=evil.example",
        "mx.trygghet-agder.example; spf=pass smtp.mailfrom=x; dmarc=fail header.from=evil.example",
    ],
)
def test_our_server_reading_another_from_domain_is_a_forged_sender(ruleset, results):
    extra = f"Authentication-Results: {results}\r\n".encode()
    got = classify_bytes(extra + make_mail(frm=KARI), ruleset, "support", AT, None)
    assert (got["decision"], got["chain"][-1]) == ("triage", "forged-sender")
    assert got["explanation"].startswith(
        "vår e-postserver leste avsenderdomenet som evil.example, men gatewayen leste "
        "vennesla.kommune.example"
    )


def test_our_server_agreeing_on_the_domain_is_no_forgery(ruleset):
    extra = b"Authentication-Results: mx; dmarc=pass header.from=Vennesla.Kommune.Example\r\n"
    got = classify_bytes(extra + make_mail(frm=KARI), ruleset, "support", AT, None)
    assert got["decision"] == "relay"
