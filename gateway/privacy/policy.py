"""De-identify a message for a party that must not see personal data (rules.yaml privacy:).

The subject, the text and the attachment names are redacted with markers. A scanned
attachment (text, CSV, HTML, PDF, DOCX) with personal data in it is held back. What
cannot be read is treated alike, whatever its format: images, spreadsheets, archives,
and PDFs without a text layer are relayed as they are. The README says exactly which
formats are checked, so no one takes a relay for more de-identified than it is.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import PurePath

from gateway.i18n import DEFAULT_LANGUAGE, phrases
from gateway.models import ParsedMessage
from gateway.privacy.detect import KINDS, Finding, find_personal_data
from gateway.privacy.extract import attachment_text
from gateway.privacy.normalise import decoded_words
from gateway.privacy.redact import redact
from gateway.rules.base import RuleSet

_SCANNED_SUFFIXES = {".txt", ".csv", ".htm", ".html", ".pdf", ".docx", ".log"}
_SCANNED_TYPES = (
    "text/",
    "application/pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml",
)


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

    def summary(self) -> str:
        """'2 fødselsnummer, 1 telefonnummer' for receipts and the event log."""
        counts = Counter(f.kind for f in self.findings)
        return ", ".join(KINDS[k].label(n, self.language) for k, n in counts.most_common())


def known_addresses(ruleset: RuleSet) -> list[str]:
    """The parties' own addresses are not personal data to hide from each other."""
    parties = ruleset.directory.parties.values()
    return [*ruleset.mailboxes.values(), *(a for p in parties for a in (*p.senders, *p.receivers))]


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
    withheld, skip = _withheld(msg, clean, options, findings, language)
    name_found = find_personal_data(msg.from_name, **options)  # shown in replies only:
    from_name = redact(msg.from_name, name_found, language)  # not counted with the rest
    return Deidentified(subject, text, new_text, findings, withheld, skip, language, from_name)


def _withheld(
    msg: ParsedMessage, clean, options: dict, findings: list[Finding], language: str
) -> tuple[list[str], frozenset[str]]:
    """The attachments held back: their names as shown (redacted), and as they are
    ("" for one without a name) for the renderer to skip."""
    withheld, skip = [], set()
    unnamed = phrases(language)("render.unnamed_attachment")
    for part in msg.message.walk():
        name = part.get_filename()
        if part.is_multipart() or not (name or part.get_content_disposition() == "attachment"):
            continue
        decoded = decoded_words(" ".join(name.split())) if name else unnamed  # as shown
        shown = clean(decoded)
        if shown != decoded or _has_personal_data(part, decoded, options, findings):
            withheld.append(shown)
            skip.update({name or "", decoded if name else ""})  # as written, as shown
    return withheld, frozenset(skip)


def redacted(text: str, ruleset: RuleSet) -> str:
    """A name or subject as a redacted party may read it, encoded words decoded."""
    decoded = decoded_words(" ".join(text.split()))
    found = find_personal_data(decoded, **detect_options(ruleset))
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


def _has_personal_data(part, name: str, options: dict, findings: list[Finding]) -> bool:
    ctype = part.get_content_type()
    if PurePath(name.lower()).suffix not in _SCANNED_SUFFIXES and not ctype.startswith(
        _SCANNED_TYPES
    ):
        return False  # a format we do not read: relayed as it is
    content = attachment_text(name, ctype, part.get_payload(decode=True) or b"")
    if not content:  # not a scanned format, or no text in it (like an image): as is
        return False
    found = find_personal_data(content, **options)
    findings.extend(found)
    return bool(found)
