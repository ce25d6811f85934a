"""A confidential reporter: ``#konfidensiell`` on a line of its own in a new report.

Some deviations are reported by someone who must not be known to the place of report
(a colleague's conduct, a unit's own manager). The reporter writes ``#konfidensiell``
(nynorsk the same, Swedish ``#konfidentiell``, English ``#confidential``: commands.yaml
``report: confidential``) and the case becomes confidential for good:

- every relay to the receivers names the reporter by a label (rules.yaml ``privacy:
  confidential_label``, else the language's phrase), never by name or address: the
  texts have the reporter's address, its parts and the display name replaced by a
  marker, and what the personal-data detector finds redacted as for any redacted party;
- every attachment is held back (its name, and metadata such as a document's author,
  could tell), and the relay and the receipt say how many;
- the relay does not thread on the reporter's own Message-ID: it carries only the
  gateway's, and answers find the case by its reference and our Message-IDs;
- outgoing.py refuses any message in the case to someone off the reporter's side that
  still names the reporter (fail closed: the pipeline holds it for the administrators).

The case log keeps who reported (``reporter_address``, ``reporter_name``); it is shown
only to the readers the profile names (``privacy: confidential_readers``), see
``shown_reporter``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable

from gateway.i18n import command_words, phrases
from gateway.models import ParsedMessage
from gateway.privacy import identity as names
from gateway.privacy.identity import Identity
from gateway.privacy.normalise import decoded_words
from gateway.privacy.policy import Deidentified, deidentify
from gateway.rules.base import RuleSet


def requested(msg: ParsedMessage) -> bool:
    """True when the new text has ``#konfidensiell`` (any language's word) on a line of
    its own: the reporter's own choice, so quoted text and signatures do not count."""
    if "#" not in msg.new_text:  # no line can start with it: most reports, read at C speed
        return False
    words = {w for w, meaning in command_words().get("report", {}).items()
             if meaning == "confidential"}  # fmt: skip
    for line in msg.new_text.splitlines():
        line = line.strip()
        if line.startswith("#") and line[1:].strip().rstrip(".").lower() in words:
            return True
    return False


def label(ruleset: RuleSet) -> str:
    """What the receivers read instead of the reporter ("ansatt ved kontoret")."""
    return ruleset.privacy.confidential_label or phrases(ruleset.language)("confidential.label")


def reporter(addresses: Iterable[str | None], display_names: Iterable[str | None] = ()) -> Identity:
    """The words that name the reporter: the case's address and name, and a replier's."""
    shown = [decoded_words(" ".join(n.split())) for n in display_names if n]  # as read
    return names.identity([a for a in addresses if a], shown)


def attachment_parts(msg: ParsedMessage) -> list:
    """Every part a relay would carry as an attachment (named, or disposed as one)."""
    return [
        part
        for part in msg.message.walk()
        if not part.is_multipart()
        and (part.get_filename() or part.get_content_disposition() == "attachment")
    ]


def conceal(
    msg: ParsedMessage, ruleset: RuleSet, who: Identity, shown: Deidentified | None = None
) -> Deidentified:
    """The message as the receivers may see it: de-identified (``shown``, or worked out
    here), the reporter's words replaced by the marker, every attachment held back."""
    base = shown or deidentify(msg, ruleset)
    marker = phrases(ruleset.language)("confidential.marker")

    def hide(text: str) -> str:
        return names.conceal(text, who, marker)

    written = {part.get_filename() or "" for part in attachment_parts(msg)}
    shown_names = {decoded_words(" ".join(n.split())) for n in written if n}
    listed = {a.filename for a in msg.attachments if a.filename}
    return dataclasses.replace(
        base,
        subject=hide(base.subject),
        text=hide(base.text),
        new_text=hide(base.new_text),
        withheld=[],  # not by name: a name can tell; relay_context counts them
        unreadable=[],
        skip=frozenset(base.skip | written | shown_names | listed),
        from_name=label(ruleset),
    )


def anonymous(msg: ParsedMessage) -> ParsedMessage:
    """The report without its own Message-ID and references, for the relay's thread
    headers: the reporter's mail client may have put the name in them."""
    return dataclasses.replace(msg, message_id="", references=(), in_reply_to="")


def relay_context(context: dict, ruleset: RuleSet, msg: ParsedMessage, shown: Deidentified):
    """The relay's context with the label for the reporter, and what was removed."""
    say = phrases(ruleset.language)
    held = len(attachment_parts(msg))
    removed = [say("confidential.removed"), shown.summary()]
    if held:
        removed.append(say("confidential.attachments", count=held))
    who = label(ruleset)
    return context | {
        "reporter": who,
        "reporting_party": who,
        "removed": ", ".join(r for r in removed if r),
        "attachments": [],
        "withheld": [],
    }


def receipt_context(context: dict, ruleset: RuleSet, msg: ParsedMessage) -> dict:
    """The receipt's context: it says the report went on confidentially."""
    say = phrases(ruleset.language)
    text = say("confidential.receipt")
    held = len(attachment_parts(msg))
    if held:
        text += "\n" + say("confidential.receipt_attachments", count=held)
    return context | {"confidential": text}


def hidden_for(
    confidential: bool, who: Identity, to: Iterable[str], reporters: Iterable[str]
) -> Identity | None:
    """`who`, for the outgoing guard, when a message in a confidential case goes to
    anyone off the reporter's side; else None (the reporter may read their own name)."""
    side = {a.lower() for a in reporters}
    if confidential and who and any(a.lower() not in side for a in to):
        return who
    return None


def readers(ruleset: RuleSet) -> set[str]:
    """The addresses that may read who reported (rules.yaml ``privacy:
    confidential_readers``: addresses, or parties, whose exact addresses count)."""
    found: set[str] = set()
    for reader in ruleset.privacy.confidential_readers:
        if "@" in reader:
            found.add(reader.lower())
        elif reader in ruleset.directory.parties:
            party = ruleset.directory.parties[reader]
            found.update(a.lower() for a in (*party.senders, *party.receivers) if "*" not in a)
    return found


def shown_reporter(ruleset: RuleSet, confidential: bool, address: str, viewer: str | None) -> str:
    """Who reported, as `viewer` may read it: the address, unless the case is
    confidential and `viewer` is not one of the profile's readers (then the label).
    `viewer` None: an administrator's view without --original, which shows the label."""
    if not confidential or (viewer and viewer.lower() in readers(ruleset)):
        return address
    return label(ruleset)


def mask(
    ruleset: RuleSet,
    confidential: bool,
    address: str | None,
    name: str | None,
    viewer: str | None,
    original: bool = False,
) -> Callable[[str | None], str | None] | None:
    """For the case log's readers (``gateway cases show``, the web view): a function
    that puts the label where a text names a confidential case's reporter, or None when
    `viewer` may read who reported (one of the profile's readers, or an administrator
    who asked for the originals, which is logged)."""
    if not confidential or original or (viewer and viewer.lower() in readers(ruleset)):
        return None
    who, shown = reporter([address], [name]), label(ruleset)

    def hide(text: str | None) -> str | None:
        return names.conceal(text, who, shown) if text else text

    return hide
