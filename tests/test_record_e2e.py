"""The deviation record's life cycle through Dovecot, ``gateway serve`` and the aiosmtpd
sink (issue 19): a flow b report; the receiver answers with the short form; one measure
is done; ``#lukk`` is refused until the second is; *til lukking*; the reporter's
``#bekreft``; *lukket*."""

from __future__ import annotations

import pytest
from conftest import EXAMPLES, ROOT, make_mail
from servers import free_port
from test_end_to_end import settings_toml, wait_for_log

pytestmark = pytest.mark.skipif(not EXAMPLES.exists(), reason="examples not beside the repo")

REPORTER = "kari.nordmann@vennesla.kommune.example"
CENTRE = "avvik.responssenter@kristiansand.kommune.example"
CENTRE_STAFF = "operator.responssenter@kristiansand.kommune.example"
TQM = """    confirm_by: reporter
    require_cause: true
    require_measures_done: true"""


def tqm_rules(tmp_path):
    text = (ROOT / "rules.yaml").read_text(encoding="utf-8")
    old = "    confirm_by: none\n    require_cause: false\n    require_measures_done: false"
    assert old in text
    path = tmp_path / "rules.yaml"
    path.write_text(text.replace(old, TQM), encoding="utf-8")
    return path


def test_the_life_cycle_of_a_flow_b_case(dovecot, smtp_sink, gateway_process, monkeypatch,
                                         tmp_path):  # fmt: skip
    monkeypatch.setenv("TEST_IMAP_PASSWORD", dovecot.users["responssenter"])
    settings = settings_toml(tmp_path / "var", free_port(), smtp_sink.port, dovecot)
    gateway = gateway_process(f'rules_file = "{tqm_rules(tmp_path)}"\n' + settings)
    gateway.start()
    wait_for_log(gateway, "support: connected")
    wait_for_log(gateway, "responssenter: connected")
    count = 0

    def deliver(raw: bytes, to: str, n: int = 1):
        nonlocal count
        dovecot.append("responssenter", raw)
        count += n
        got = smtp_sink.wait_for(count, timeout=60)
        return [m for m in got if to in m.rcpt_tos][-1].message

    def answer(to_msg, frm, body):
        return make_mail(frm=frm, to="responssenter@trygghet-agder.example", body=body,
                         subject=f"SV: {to_msg['Subject']}",
                         headers={"In-Reply-To": to_msg["Message-ID"],
                                  "References": to_msg["Message-ID"]})  # fmt: skip

    def text(msg) -> str:
        return msg.get_body(("plain",)).get_content()

    report = make_mail(frm=REPORTER, subject="Trygghetsalarm til responssenteret svarer ikke",
                       body="Alarmen hos en bruker i Vennesla kommer ikke fram til "
                       "responssenteret.\n")  # fmt: skip
    relay = deliver(report, CENTRE, 2)  # the relay and the receipt
    reference = relay["X-Avviksgateway"]
    assert "Årsak:" in text(relay) and "Tiltak:" in text(relay)

    form = ("Vi har sett på saken.\n\nÅrsak: Feil nummer lagt inn i alarmen\n"
            "Strakstiltak: Ringte brukeren og testet alarmen\n"
            "Tiltak: Rette nummeret frist 2026-12-15 ansvarlig drift@kristiansand.kommune.example\n"
            "Tiltak: Kontrollere numrene i alle alarmer, frist 15.01.2027\n")  # fmt: skip
    to_reporter = deliver(answer(relay, CENTRE_STAFF, form), REPORTER)
    assert "Årsak:         Feil nummer lagt inn i alarmen" in text(to_reporter)
    assert "Tiltak 2:" in text(to_reporter)

    error = deliver(answer(relay, CENTRE_STAFF, "#tiltak utført 1\n#lukk\n"), CENTRE_STAFF, 2)
    assert "før tiltak 2 er utført" in text(error)
    request = deliver(answer(relay, CENTRE_STAFF, "#tiltak utført 2\n#lukk\n"), REPORTER, 2)
    assert request["Subject"].startswith("Til lukking:") and "#bekreft" in text(request)
    closed = deliver(answer(request, REPORTER, "#bekreft\n"), CENTRE, 2)
    assert "lukket" in text(closed)
    assert gateway.stop() == 0

    db = gateway.db()
    case = next(db.query("SELECT * FROM cases WHERE reference = ?", [reference]))
    assert (case["status"], case["cause"]) == ("lukket", "Feil nummer lagt inn i alarmen")
    assert case["close_requested_by"] == CENTRE_STAFF and case["closed_at"]
    states = [r["state"] for r in db.query("SELECT state FROM case_measures ORDER BY number")]
    assert states == ["done", "done"]
    kinds = [r["kind"] for r in db.query("SELECT kind FROM events WHERE case_id = ?", [case["id"]])]
    assert {"record", "measure", "measure-done", "close-requested", "close-confirmed"} <= set(kinds)
