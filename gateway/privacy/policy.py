"""De-identify a message for a party that must not see personal data (rules.yaml privacy:).

The subject, the text, the sender's display name and the attachment names are redacted
with markers. An attachment with personal data in it is held back; so is one that cannot
be read completely (an image, a scanned or encrypted PDF, an unknown format, a scanner
that hit a limit: see scanners/), unless the deployment chose otherwise with
``privacy: unreadable_attachments: relay``. Fail closed: what was not read is not clean.
outgoing.py then scans the rendered message itself before it leaves.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from gateway.i18n import DEFAULT_LANGUAGE, phrases
from gateway.models import ParsedMessage
from gateway.privacy.detect import KINDS, Finding, find_in_name, find_personal_data
from gateway.privacy.extract import part_bytes, read_attachment
from gateway.privacy.normalise import decoded_words
from gateway.privacy.redact import redact
from gateway.rules.base import RuleSet


@dataclass(frozen=True)
class Deidentified:
    subject: str
    text: str
    new_text: str  # the new text alone, de-identified too (what the case log shows)
    findings: list[Finding] = field(default_factory=list)
    withheld: list[str] = field(default_factory=list)  # names (redacted) held back
    # original attachment names not to relay ("": those without a name)
    skip: frozenset[str] = frozenset()
    language: str = DEFAULT_LANGUAGE  # of the markers, and of summary()
    from_name: str = ""  # the sender's display name, de-identified (a reply's header block)
    # of `withheld`, those held back because they could not be read completely
    unreadable: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """'2 fødselsnummer, 1 telefonnummer' for receipts and the event log."""
        counts = Counter(f.kind for f in self.findings)
        return ", ".join(KINDS[k].label(n, self.language) for k, n in counts.most_common())


def known_addresses(ruleset: RuleSet) -> list[str]:
    """The gateway's own addresses (its intake mailboxes, its sender address) and the
    parties' addresses in rules.yaml are not personal data to hide from each other: a
    relay that says "write to support@..." must stay answerable."""
    parties = ruleset.directory.parties.values()
    return [
        *ruleset.mailboxes.values(),
        *ruleset.own_addresses,
        *ruleset.follow_up.management,
        *(a for p in parties for a in (*p.senders, *p.receivers)),
    ]


def needs_redaction(ruleset: RuleSet, recipients: list[str]) -> bool:
    """True when any recipient receives for a party in ``privacy.redact_for``."""
    wanted = {a for key in ruleset.privacy.redact_for for a in ruleset.directory[key].receivers}
    return any(address.lower() in wanted for address in recipients)


def detect_options(ruleset: RuleSet) -> dict:
    """find_personal_data's options under the deployment's privacy policy."""
    return {
        "known_addresses": known_addresses(ruleset),
        "phones": ruleset.privacy.phone_numbers,
        "emails": ruleset.privacy.email_addresses,
    }


def deidentify(msg: ParsedMessage, ruleset: RuleSet) -> Deidentified:
    """The message as a party in ``privacy.redact_for`` may see it."""
    language = ruleset.language
    options = detect_options(ruleset)
    findings: list[Finding] = []

    def clean(text: str) -> str:
        found = find_personal_data(text, **options)
        findings.extend(found)
        return redact(text, found, language) if found else text

    subject = clean(msg.subject)
    body_found = find_personal_data(msg.body, **options)
    findings.extend(body_found)
    text = redact(msg.body, body_found, language) if body_found else msg.body
    if msg.new_text == msg.body:  # a new report: the new text is the whole body
        new_text = text
    else:  # a reply: its new text is a part of the body, not counted again
        found = new_text_findings(msg.body, msg.new_text, body_found)
        if found is None:
            found = find_personal_data(msg.new_text, **options)
        new_text = redact(msg.new_text, found, language) if found else msg.new_text
    withheld, unreadable, skip = _withheld(msg, clean, options, findings, ruleset)
    name_found = find_personal_data(msg.from_name, **options)  # shown in replies only:
    from_name = redact(msg.from_name, name_found, language)  # not counted with the rest
    return Deidentified(
        subject, text, new_text, findings, withheld, skip, language, from_name, unreadable
    )


def _withheld(
    msg: ParsedMessage, clean, options: dict, findings: list[Finding], ruleset: RuleSet
) -> tuple[list[str], list[str], frozenset[str]]:
    """The attachments held back: their names as shown (redacted); those of them held
    back because they could not be read completely; and the names as written and as
    shown ("" for one without a name) for the renderer to skip."""
    withheld, unreadable, skip = [], [], set()
    hold_unreadable = ruleset.privacy.unreadable_attachments == "hold"
    unnamed = phrases(ruleset.language)("render.unnamed_attachment")
    for part in msg.message.walk():
        name = part.get_filename()
        if part.is_multipart() or not (name or part.get_content_disposition() == "attachment"):
            continue
        decoded = decoded_words(" ".join(name.split())) if name else unnamed  # as shown
        in_name = find_in_name(decoded, **options)
        findings.extend(in_name)
        shown = redact(decoded, in_name, ruleset.language) if in_name else decoded
        found, complete = _scan(part, decoded, options, findings)
        if shown != decoded or found or (hold_unreadable and not complete):
            withheld.append(shown)
            skip.update({name or "", decoded if name else ""})  # as written, as shown
            if not found and shown == decoded:
                unreadable.append(shown)
    return withheld, unreadable, frozenset(skip)


def redacted(text: str, ruleset: RuleSet) -> str:
    """A name or subject as a redacted party may read it, encoded words decoded."""
    decoded = decoded_words(" ".join(text.split()))
    found = find_in_name(decoded, **detect_options(ruleset))
    return redact(decoded, found, ruleset.language) if found else decoded


def new_text_findings(body: str, new_text: str, found: list[Finding]) -> list[Finding] | None:
    """The body's findings at their places in its new text, when that is the whole body
    but for CRLF line endings and trailing blank lines (a new report, mostly): what a
    second scan would find, without it. None when the new text is anything else.

    The patterns find the same in CRLF and LF text (tests/test_detect_fast.py holds
    them to it), and nothing in trailing blank lines; a lone CR or a byte-order mark
    (which new_text() turns into LF or drops) takes the second scan."""
    lf = body.replace("\r\n", "\n")
    if "\r" in lf or "\ufeff" in lf or not lf.startswith(new_text) or lf[len(new_text) :].strip():
        return None
    shifted = []
    for f in found:
        before = body.count("\r", 0, f.start)  # each one the CR of a CRLF, gone in LF
        g = Finding(f.kind, f.start - before, f.end - before, f.text)
        if new_text[g.start : g.end] != g.text:
            return None
        shifted.append(g)
    return shifted


def _scan(part, name: str, options: dict, findings: list[Finding]) -> tuple[bool, bool]:
    """(personal data found, read completely) for one attachment; see scanners/."""
    read = read_attachment(name, part.get("Content-Type", ""), part_bytes(part))
    found = find_personal_data(read.text, **options) if read.text else []
    findings.extend(found)
    return bool(found), read.complete
