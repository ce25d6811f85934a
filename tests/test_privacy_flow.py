"""Privacy end to end: what the supplier gets is de-identified; the response centre's is not."""

from __future__ import annotations

import email
import json
import os
from email.policy import default

import pytest
from conftest import make_mail
from test_privacy import DNR, FNR, FNR_BAD, PNR, make_docx, make_pdf

from gateway.intake import accept
from gateway.pipeline import Pipeline
from gateway.render import Renderer
from gateway.settings import Settings
from gateway.store import open_db

REPORTER = "kari.nordmann@vennesla.kommune.example"


def run(db, ruleset) -> None:
    Pipeline(
        db, lambda: ruleset, Renderer("gw@trygghet-agder.example", "GW"), Settings()
    ).process_batch()


def sent(db, purpose: str) -> list[tuple[list[str], email.message.EmailMessage, bytes]]:
    rows = db.query(
        "SELECT o.recipients, r.raw FROM outbox o JOIN raw_messages r "
        "ON r.id = o.message_id WHERE o.purpose = ? ORDER BY o.id",
        [purpose],
    )
    return [
        (json.loads(r["recipients"]), email.message_from_bytes(r["raw"], policy=default), r["raw"])
        for r in rows
    ]


def report(**kw) -> bytes:
    return make_mail(
        subject=f"Alarm hos bruker {FNR}",
        body=f"Brukeren har D-nummer {DNR}, pårørende i Sverige har {PNR}.\n"
        f"Kontonummeret {FNR_BAD} er ikke et fødselsnummer.\n",
        attachments=[
            (f"journal_{FNR}.txt", b"ingen personopplysninger her", "text/plain"),
            ("logg.pdf", make_pdf(f"Bruker {FNR}"), "application/pdf"),
            (
                "notat.docx",
                make_docx(),
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            ),
            ("feilkode.pdf", make_pdf("Feilkode 42"), "application/pdf"),
            ("skjermbilde.png", b"\x89PNG fake", "image/png"),
        ],
        **kw,
    )


def test_relay_to_the_supplier_is_de_identified_everywhere(fresh_db, ruleset):
    accept(fresh_db, report(), "support", "t")
    run(fresh_db, ruleset)
    ((to, relay, raw),) = sent(fresh_db, "relay")
    assert to == ["support@leverandor.example"]
    for number in (FNR, DNR, PNR.replace("-", ""), PNR):
        assert number.encode() not in raw and number not in str(relay)
    assert "[fødselsnummer fjernet]" in relay["Subject"]
    text = relay.get_body(("plain",)).get_content()
    assert "[D-nummer fjernet]" in text and "[personnummer fjernet]" in text
    assert FNR_BAD in text  # a number that fails the check digits is left alone
    names = [a.get_filename() for a in relay.iter_attachments()]
    assert names == ["feilkode.pdf"]  # clean: relayed; an image cannot be read: held back
    assert "Holdt tilbake: journal_[fødselsnummer fjernet].txt, logg.pdf, notat.docx" in text
    assert "Holdt tilbake: skjermbilde.png (kunne ikke leses helt" in text
    assert "Personvern:" in text

    ((rto, receipt, _),) = sent(fresh_db, "receipt")
    body = receipt.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert rto == [REPORTER]
    assert (
        "Personopplysninger ble fjernet før meldingen ble sendt videre:\n4 fødselsnummer, "
        "2 personnummer, 1 D-nummer, 1 telefonnummer." in body
    )  # text, names and attachments
    assert "notat.docx" in body and "avidentifisert versjon" in body

    case = next(fresh_db.query("SELECT * FROM cases"))
    assert FNR not in case["subject"] and "[fødselsnummer fjernet]" in case["subject"]
    message = next(fresh_db["messages"].rows_where("direction = 'in'"))
    assert FNR not in message["subject"] and DNR not in message["new_text"]
    assert fresh_db["events"].count_where("kind = 'redacted'") == 1
    redacted = next(fresh_db["events"].rows_where("kind = 'redacted'"))["detail"]
    assert FNR not in redacted and "fødselsnummer" in redacted


def test_html_only_report_is_de_identified_too(fresh_db, ruleset):
    raw = make_mail(body="x").replace(b"Content-Type: text/plain", b"Content-Type: text/html")
    raw = raw.replace(b"\n\nx\n", f"\n\n<p>Bruker <b>{FNR}</b> falt.</p>\n".encode())
    accept(fresh_db, raw, "support", "t")
    run(fresh_db, ruleset)
    ((_, relay, raw_out),) = sent(fresh_db, "relay")
    assert FNR.encode() not in raw_out
    assert "[fødselsnummer fjernet]" in relay.get_body(("plain",)).get_content()


def test_relay_to_the_response_centre_keeps_everything(fresh_db, ruleset):
    accept(fresh_db, report(), "responssenter", "t")  # flow b: not a redacted party
    run(fresh_db, ruleset)
    ((to, relay, raw),) = sent(fresh_db, "relay")
    assert to == ["avvik.responssenter@kristiansand.kommune.example"]
    assert FNR in relay["Subject"] and DNR in relay.get_body(("plain",)).get_content()
    assert len(list(relay.iter_attachments())) == 5
    ((_, receipt, _),) = sent(fresh_db, "receipt")
    assert "Personopplysninger" not in receipt.get_body(("plain",)).get_content()


def test_a_reply_to_the_supplier_is_de_identified(fresh_db, ruleset):
    accept(fresh_db, make_mail(subject="Alarm"), "support", "t")
    run(fresh_db, ruleset)
    ((_, relay, _),) = sent(fresh_db, "relay")
    accept(
        fresh_db,
        make_mail(subject=f"SV: {relay['Subject']} {FNR}", body=f"Det gjelder {FNR}."),
        "support",
        "t",
    )
    run(fresh_db, ruleset)
    ((to, answer, raw),) = sent(fresh_db, "reply")
    assert to == ["support@leverandor.example"] and FNR.encode() not in raw
    stored = list(fresh_db["messages"].rows_where("direction = 'in'", order_by="id"))[-1]
    assert FNR not in stored["new_text"] and FNR not in stored["subject"]


def test_keep_original_keeps_the_case_log_text(fresh_db, ruleset):
    import dataclasses

    keep = dataclasses.replace(
        ruleset, privacy=dataclasses.replace(ruleset.privacy, keep_original=True)
    )
    accept(fresh_db, report(), "support", "t")
    run(fresh_db, keep)
    assert FNR in next(fresh_db.query("SELECT subject FROM cases"))["subject"]
    ((_, _, raw),) = sent(fresh_db, "relay")
    assert FNR.encode() not in raw  # the relay is de-identified all the same


def test_the_case_log_and_outbox_files_are_private(tmp_path):
    db = open_db(tmp_path / "var" / "gateway.db")
    db["probe"].insert({"x": 1})
    for name in ("gateway.db", "gateway.db-wal", "gateway.db-shm"):
        assert os.stat(tmp_path / "var" / name).st_mode & 0o777 == 0o600, name
    assert os.stat(tmp_path / "var").st_mode & 0o777 == 0o700
    from gateway.outbox.transport import FolderTransport

    folder = tmp_path / "var" / "outbox-sent"
    FolderTransport(folder).send("a@b.example", ["c@d.example"], b"Subject: x\r\n\r\ny", "000001")
    assert os.stat(folder).st_mode & 0o777 == 0o700
    assert os.stat(folder / "000001.eml").st_mode & 0o777 == 0o600


@pytest.mark.parametrize("number", [FNR, DNR, PNR])
def test_classify_needs_no_personal_data_to_decide(classify, number):
    assert str(classify(make_mail(body=f"Bruker {number}")).decision) == "relay"
