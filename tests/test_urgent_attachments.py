"""``#haster`` sends the case again with its attachments, and names those held back and
why (issue 17, point 9): through the pipeline, the digest and the on-call duty's reply."""

from __future__ import annotations

from conftest import make_mail
from test_followup import ON_CALL, at, local, mails, run, runner_for, text
from test_privacy import FNR, make_pdf
from test_threads import REPORTER, Conversation, reply

ATTACHMENTS = [
    ("feilkode.pdf", make_pdf("Feilkode 42"), "application/pdf"),
    ("logg.pdf", make_pdf(f"Bruker {FNR}"), "application/pdf"),
    ("skjermbilde.png", b"\x89PNG fake", "image/png"),
    ("oppdatering.exe", b"MZ\x90\x00", "application/octet-stream"),
]


def urgent_after_digest(fresh_db, ruleset, mailbox="support"):
    talk = Conversation(fresh_db, ruleset)
    runner = runner_for(fresh_db, ruleset)
    report = make_mail(frm=REPORTER, subject="Alarm uten lyd", attachments=ATTACHMENTS)
    at(talk, local(2026, 5, 11, 16, 0), report, mailbox)  # support: flow a, de-identified
    ((_, relay),) = mails(talk, "relay")
    run(runner, "review-digest", local(2026, 5, 11, 19, 0))
    ((_, digest),) = mails(talk, "digest")
    assert (
        at(talk, local(2026, 5, 11, 19, 20), reply(digest, ON_CALL, "#haster\n"))["outcome"]
        == "command"
    )
    ((to, urgent),) = [(t, m) for p, t, m in talk.outgoing() if p == "urgent"]
    return talk, relay, to, urgent


def test_haster_resends_the_attachments_the_relay_carried(fresh_db, ruleset):
    talk, relay, to, urgent = urgent_after_digest(fresh_db, ruleset)
    relayed = sorted(a.get_filename() for a in relay.iter_attachments())
    assert sorted(a.get_filename() for a in urgent.iter_attachments()) == relayed
    assert relayed == ["feilkode.pdf"]
    body = text(urgent).replace("\r\n", "\n")
    assert "Vedlegg:       feilkode.pdf (sendt med igjen)" in body
    assert "Holdt tilbake: logg.pdf (inneholder\n               personopplysninger)" in body
    assert "Holdt tilbake: skjermbilde.png, oppdatering.exe (kunne ikke leses helt" in body
    assert FNR not in urgent.as_string()


def test_haster_to_a_party_that_sees_everything_holds_back_only_executables(fresh_db, ruleset):
    talk, relay, to, urgent = urgent_after_digest(fresh_db, ruleset, "responssenter")
    names = sorted(a.get_filename() for a in urgent.iter_attachments())
    assert names == ["feilkode.pdf", "logg.pdf", "skjermbilde.png"]
    assert "Holdt tilbake: oppdatering.exe (kjørbare filer sendes ikke" in text(urgent)


def test_haster_says_so_when_the_original_is_purged(fresh_db, ruleset):
    talk = Conversation(fresh_db, ruleset)
    runner = runner_for(fresh_db, ruleset)
    at(
        talk,
        local(2026, 5, 11, 16, 0),
        make_mail(frm=REPORTER, subject="Alarm", attachments=ATTACHMENTS[:1]),
    )
    run(runner, "review-digest", local(2026, 5, 11, 19, 0))
    ((_, digest),) = mails(talk, "digest")
    fresh_db.execute("UPDATE raw_messages SET raw = NULL WHERE id = 1")  # as retention does
    at(talk, local(2026, 5, 11, 19, 20), reply(digest, ON_CALL, "#haster\n"))
    ((_, urgent),) = [(t, m) for p, t, m in talk.outgoing() if p == "urgent"]
    assert list(urgent.iter_attachments()) == []
    assert "ikke sendt med: den opprinnelige meldingen er ikke lenger lagret" in text(urgent)
