"""Issue 17, point 11: the words of the relay and the receipt as people write them."""

from __future__ import annotations

from conftest import RECEIPT_CONTEXT, make_mail
from test_threads import talk  # noqa: F401


def text(msg) -> str:
    return msg.get_body(("plain",)).get_content()


def test_the_reporters_reference_is_melders_ref(talk):  # noqa: F811
    talk.send(make_mail(subject="Alarm uten lyd", body="Registrert i TQM 55146.\n"))
    relay = next(m for p, _, m in talk.outgoing() if p == "relay")
    assert "Melders ref.:  TQM 55146" in text(relay)
    assert "Meldernes" not in text(relay)


def test_a_suggestion_is_named_once_without_nested_brackets(talk):  # noqa: F811
    talk.send(make_mail(subject="Forbedringsforslag: lyd i alarmen", body="Et forslag.\n"))
    receipt = next(m for p, _, m in talk.outgoing() if p == "receipt")
    body = text(receipt)
    assert "(forbedringsforslag, ikke et avvik)" in body and "((" not in body


def test_an_address_without_a_name_is_printed_once():
    from gateway.render import Renderer

    context = RECEIPT_CONTEXT | {
        "flow": "a", "urgent": False, "reporter": "ola@gmail.example",
        "reporting_party": "ola@gmail.example", "external_ref": None, "text": "Hei",
        "attachments": [], "withheld": [], "unreadable_withheld": [], "related_reference": None,
    }  # fmt: skip
    subject, body = Renderer("gw@trygghet-agder.example", "GW").parts("relay.txt.j2", context)
    assert "Meldt av:      ola@gmail.example\n" in body
    assert "<ola@gmail.example>" not in body


def test_a_relayed_answer_names_a_sender_without_a_name_once(talk):  # noqa: F811
    from test_threads import SUPPLIER, open_case, reply

    _ref, relay = open_case(talk)
    talk.send(reply(relay, SUPPLIER, "Vi ser på det."))  # From: a bare address
    (answer,) = [m for p, _, m in talk.outgoing() if p == "reply"]
    assert f"fra {SUPPLIER}\r\n" in text(answer) or f"fra {SUPPLIER}\n" in text(answer)
    assert f"<{SUPPLIER}>" not in text(answer)
