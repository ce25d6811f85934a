"""Issue 17, points 6 and 7: change notices credit the right side, and no subject
carries a prefix twice or the gateway's own words into the other side's relay."""

from __future__ import annotations

from conftest import make_mail
from test_threads import REPORTER, SUPPLIER, open_case, reply, talk  # noqa: F401

from gateway.references import strip_own_words
from gateway.templating import unprefixed


def text(msg) -> str:
    return msg.get_body(("plain",)).get_content()


def test_the_reporters_reopening_is_not_credited_to_the_receiver(talk):  # noqa: F811
    ref, relay = open_case(talk)
    talk.send(reply(relay, SUPPLIER, "#lukk Nytt batteri.\n"))
    closed = [m for p, _, m in talk.outgoing() if p == "status"]
    assert "endret av mottakeren" in text(closed[-1])
    assert "gjenåpner" in text(closed[-1])  # it is closed: a reply reopens it
    talk.send(make_mail(frm=REPORTER, subject=f"SV: [{ref}] x", body="Det skjedde igjen."))
    sent = {p: m for p, _, m in talk.outgoing()}
    notice = text(sent["status"])
    assert "mottakeren" not in notice and f"etter et svar fra {REPORTER}" in notice
    assert "gjenåpner" not in notice  # the case is open now


def test_no_doubled_urgent_prefix(talk):  # noqa: F811
    talk.send(make_mail(frm=REPORTER, subject="HASTER: alarm uten lyd"))
    relay = next(m for p, _, m in talk.outgoing() if p == "relay")
    assert relay["Subject"] == f"[{relay['X-Avviksgateway']}] HASTER: alarm uten lyd"
    assert unprefixed("Haster : HASTER: x", "HASTER") == "x"


def test_the_gateways_own_subject_words_are_not_relayed(talk):  # noqa: F811
    talk.send(make_mail(frm=REPORTER, subject="Alarm uten lyd"))
    receipt = next(m for p, _, m in talk.outgoing() if p == "receipt")
    ref = receipt["X-Avviksgateway"]
    answer = make_mail(frm=REPORTER, subject=f"SV: {receipt['Subject']}", body="Mer info.")
    talk.send(answer)
    relayed = next(m for p, _, m in talk.outgoing() if p == "reply")
    assert relayed["Subject"] == f"SV: [{ref}] Alarm uten lyd"
    words = ("Mottatt", "Endret", "Til vurdering")
    assert strip_own_words("Re: SV: Endret: Mottatt: [X-1] y", words) == "[X-1] y"
    assert strip_own_words("SV: [Til vurdering #3] y", words) == "y"
    assert strip_own_words("Mottatte varer", words) == "Mottatte varer"


def test_a_relayed_answer_carries_its_new_text_and_the_original_apart(talk):  # noqa: F811
    """Issue 17, point 8: the new text first, without its command lines (a refused #lukk
    changed nothing) and without the quoted history, which holds the receiver's command
    footer; the whole answer goes along as an attached message."""
    ref, relay = open_case(talk)
    quoted = "\n".join("> " + line for line in text(relay).splitlines())
    talk.send(reply(relay, SUPPLIER, f"Vi bytter batteriet i dag.\n#lukk\n\n{quoted}\n"))
    answer = next(m for p, _, m in talk.outgoing() if p == "reply")
    body = text(answer)
    assert "Vi bytter batteriet i dag." in body
    assert "#lukk" not in body and "#status" not in body  # refused; the footer is quoted
    assert "\n> " not in body
    (original,) = [p for p in answer.iter_attachments() if p.get_content_type() == "message/rfc822"]
    inner = original.get_content()
    assert "#status under behandling" in inner.get_body(("plain",)).get_content()
