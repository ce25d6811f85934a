"""What the supplier receives is scanned as its mail client shows it (outgoing.py): every
outgoing message of a pipeline run, in its final bytes, after every decoding."""

from __future__ import annotations

import base64
import json
import quopri

import pytest
from conftest import make_mail
from test_privacy import DNR, FNR, PNR
from test_privacy_flow import run

from gateway.intake import accept
from gateway.models import Outgoing
from gateway.privacy import outgoing

SUPPLIER = "support@leverandor.example"
HEAD = (
    "From: Kari Nordmann <kari.nordmann@vennesla.kommune.example>\r\n"
    "To: support@trygghet-agder.example\r\n"
    "Date: Tue, 10 Mar 2026 10:12:00 +0100\r\n"
    "MIME-Version: 1.0\r\n"
)


def mail(subject: str, body: bytes, ctype: str = "text/plain; charset=utf-8", cte: str = "8bit",
         extra: str = "", mid: str = "a") -> bytes:  # fmt: skip
    head = f"{HEAD}Message-ID: <{mid}@test.example>\r\nSubject: {subject}\r\n{extra}"
    return (
        f"{head}Content-Type: {ctype}\r\nContent-Transfer-Encoding: {cte}\r\n\r\n".encode() + body
    )


def b64(text: str) -> bytes:
    return base64.encodebytes(text.encode())


def with_attachment(name_param: str, data: bytes, ctype: str = "text/plain") -> bytes:
    body = (
        (
            "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSe vedlegg.\r\n"
            f"--b\r\nContent-Type: {ctype}\r\nContent-Disposition: attachment; {name_param}\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n"
        ).encode()
        + base64.encodebytes(data)
        + b"--b--\r\n"
    )
    return mail("Alarm", body, 'multipart/mixed; boundary="b"', "7bit")


REPORTS = {
    "folded subject": mail(f"Alarm hos bruker med et langt emne som brettes {FNR[:6]}\r\n"
                           f" {FNR[6:]}", b"Hei\r\n"),
    "folded encoded subject": mail(f"=?utf-8?q?Alarm_{FNR[:6]}?=\r\n =?utf-8?q?_{FNR[6:]}?=",
                                   b"Hei\r\n"),
    "subject with soft hyphen": mail(f"=?utf-8?b?{b64(FNR[:6] + chr(0xAD) + FNR[6:]).decode()}?=",
                                     b"x\r\n"),
    "quoted-printable body": mail("Alarm", quopri.encodestring(
        f"Bruker {FNR[:6]}\u2013{FNR[6:]} har tlf 412\u00a034\u00a0567.\r\n".encode()),
        cte="quoted-printable"),
    "base64 body": mail("Alarm", b64(f"D-nummer {DNR}, pnr{PNR}\r\n"), cte="base64"),
    "flowed body": mail("Alarm", f"Bruker har fnr {FNR[:6]} \r\n{FNR[6:]} og mer.\r\n".encode(),
                        "text/plain; charset=utf-8; format=flowed"),
    "flowed delsp body": mail("Alarm", f"Bruker har fnr {FNR[:4]} \r\n{FNR[4:]} her.\r\n".encode(),
                              "text/plain; charset=utf-8; format=flowed; delsp=yes"),
    "html body": mail("Alarm", f"<p>Fnr <b>{FNR[:6]}</b>&#8203;{FNR[6:]}</p>".encode(),
                      "text/html; charset=utf-8"),
    "RFC 2047 attachment name": with_attachment(
        f'filename="=?utf-8?b?{b64("journal_" + FNR + ".txt").decode().strip()}?="', b"ok"),
    "RFC 2231 attachment name": with_attachment(
        f"filename*=utf-8''journal%20{FNR[:6]}%E2%80%93{FNR[6:]}.txt", b"ok"),
}  # fmt: skip
# Fixed by the diffs in the report of branch p16a to gateway/case/opening.py (the
# executables' "held back" line) and gateway/threads/reply.py (the display name).
NEEDS_LEAD = pytest.mark.xfail(strict=True, reason="needs the opening.py/reply.py diff")
EXECUTABLE = with_attachment(f'filename="skjema_{FNR}.exe"', b"MZ", "application/octet-stream")


def sent_to_supplier(db) -> list[bytes]:
    rows = db.query(
        "SELECT o.recipients, r.raw FROM outbox o JOIN raw_messages r ON r.id = o.message_id"
    )
    return [r["raw"] for r in rows if SUPPLIER in json.loads(r["recipients"])]


def findings(raw: bytes, ruleset) -> list[str]:
    out = Outgoing("relay", "gw@trygghet-agder.example", (SUPPLIER,), raw, "<m>")
    return [p for p in outgoing.check(out, ruleset) if "unreadable" not in p]


@pytest.mark.parametrize("case", [*REPORTS, "executable with a number in its name"])
def test_nothing_sent_to_the_supplier_holds_personal_data(fresh_db, ruleset, case):
    accept(fresh_db, REPORTS.get(case, EXECUTABLE), "support", "t")
    run(fresh_db, ruleset)
    relays = sent_to_supplier(fresh_db)
    assert relays, "the report was relayed"
    for raw in relays:
        assert findings(raw, ruleset) == [], case


def test_a_reply_with_a_number_in_the_display_name_and_subject(fresh_db, ruleset):
    accept(fresh_db, make_mail(subject="Alarm"), "support", "t")
    run(fresh_db, ruleset)
    (relay,) = sent_to_supplier(fresh_db)
    subject = next(ln for ln in relay.decode().splitlines() if ln.startswith("Subject:"))[9:]
    reply = mail(f"SV: {subject} {FNR[:6]}\r\n {FNR[6:]}", f"Gjelder {FNR}\r\n".encode(),
                 extra="In-Reply-To: <x>\r\n", mid="b")  # fmt: skip
    reply = reply.replace(b"Kari Nordmann", f"Kari {FNR}".encode())
    accept(fresh_db, reply, "support", "t")
    run(fresh_db, ruleset)
    for raw in sent_to_supplier(fresh_db):
        assert findings(raw, ruleset) == []


def test_the_scan_reads_what_a_client_decodes():
    raw = mail(
        f"=?utf-8?q?Bruker_{FNR[:6]}?= =?utf-8?q?{FNR[6:]}?=",
        f"tlf 412 34=\r\n 567, fnr {FNR[:6]}=20\r\n{FNR[6:]}".encode(),  # QP soft breaks
        "text/plain; charset=utf-8; format=flowed",
        "quoted-printable",
        extra=f"Thread-Topic: {FNR}\r\n",
    )
    found = outgoing.problems(raw)
    assert "Subject: fodselsnummer" in found and "Thread-Topic: fodselsnummer" in found
    assert "body: fodselsnummer" in found and "body: telefonnummer" in found


def test_guard_refuses_a_message_with_findings(ruleset):
    out = Outgoing("relay", "gw@x.example", (SUPPLIER,), mail(f"Alarm {FNR}", b"x\r\n"), "<m>")
    with pytest.raises(outgoing.PersonalDataInOutgoing, match="Subject: fodselsnummer"):
        outgoing.guard(out, ruleset)
    to_centre = Outgoing("relay", "gw@x.example", ("other@x.example",), out.raw, "<m>")
    assert outgoing.guard(to_centre, ruleset) is to_centre


def test_guard_allows_the_addresses_the_message_names_on_purpose(ruleset):
    """The header block names the reporter: the caller passes that address as known."""
    raw = mail("Alarm", b"Meldt av: ukjent.melder@gmail.example\r\n")
    out = Outgoing("relay", "gw@x.example", (SUPPLIER,), raw, "<m>")
    assert outgoing.check(out, ruleset) == ["body: e-postadresse"]
    assert outgoing.guard(out, ruleset, known=["ukjent.melder@gmail.example"]) is out
