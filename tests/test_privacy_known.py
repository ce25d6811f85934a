"""The gateway's own addresses and the parties' addresses are never redacted (issue 17, 5),
and the relay counts what it removed in correct Norwegian ("1 e-postadresse fjernet")."""

from __future__ import annotations

import pytest
from conftest import make_mail
from test_privacy_flow import run, sent

from gateway.intake import accept
from gateway.privacy.policy import known_addresses
from gateway.settings import Settings
from gateway.stage import StageContext

KNOWN = [
    "gw@trygghet-agder.example",  # the renderer's sender address (run() uses it)
    "avviksgateway@trygghet-agder.example",  # settings.gateway_address (the default)
    "support@trygghet-agder.example",  # an intake mailbox
    "avvik.responssenter@kristiansand.kommune.example",  # a party's receiver
    "ledelse@trygghet-agder.example",  # follow_up: management
]


@pytest.mark.parametrize(
    ("personal", "counted"),
    [
        (["ola.hansen@privat.example"], "1 e-postadresse fjernet"),
        (["ola.hansen@privat.example", "kari@hjemme.example"], "2 e-postadresser fjernet"),
    ],
)
def test_own_and_party_addresses_survive_a_redacted_relay(fresh_db, ruleset, personal, counted):
    body = "Svar til " + ", ".join(KNOWN) + ".\nPårørende: " + " og ".join(personal) + ".\n"
    accept(fresh_db, make_mail(body=body), "support", "t")  # flow a: the supplier is redacted
    run(fresh_db, ruleset)
    ((to, relay, raw),) = sent(fresh_db, "relay")
    assert to == ["support@leverandor.example"]
    text = relay.get_body(("plain",)).get_content()
    for address in KNOWN:
        assert address in text
    for address in personal:
        assert address.encode() not in raw
    assert text.count("[e-postadresse fjernet]") == len(personal)
    assert f"Personvern:    {counted} før videresending" in text


def test_the_stage_teaches_the_rules_the_gateway_address(ruleset):
    """Without the stage's settings the rules cannot know the gateway's own address."""
    assert "noreply@gw.example" not in known_addresses(ruleset)
    stage = StageContext(None, ruleset, Settings(gateway_address="NoReply@gw.example"))
    assert "noreply@gw.example" in known_addresses(stage.rules)
    assert StageContext(None, stage.rules, stage.settings).rules is stage.rules  # once
