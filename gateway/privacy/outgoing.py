"""The last check before a message leaves for a party that must not see personal data.

De-identification works on the parts of a report; the renderer then puts them together
(the subject into ``Subject`` and ``Thread-Topic``, a display name into the header block,
names into ``Content-Disposition``). This module reads the final bytes as a mail client
shows them, every header decoded, every text part decoded from its transfer encoding and
charset, format=flowed undone, HTML as text, attachment names and contents, forwarded
messages inside it, and scans all of that. Anything found, or anything it cannot read,
is a problem, and the caller does not send the message (fail closed).
"""

from __future__ import annotations

import email
import email.message
import email.policy
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from email.feedparser import headerRE

from gateway.models import Outgoing
from gateway.privacy.detect import find_in_name, find_personal_data
from gateway.privacy.extract import html_to_text, part_bytes, read_attachment
from gateway.privacy.identity import Identity, named
from gateway.privacy.normalise import decoded_words
from gateway.privacy.policy import detect_options, needs_redaction
from gateway.rules.base import RuleSet

# Headers with no text a person reads as the message's: ids, dates, structure, tracing.
_STRUCTURAL = frozenset(
    {
        "message-id", "in-reply-to", "references", "thread-index", "date", "mime-version",
        "content-type", "content-transfer-encoding", "content-disposition", "content-id",
        "received", "return-path", "dkim-signature", "arc-seal", "arc-message-signature",
        "x-auto-response-suppress", "auto-submitted", "precedence", "list-id",
    }
)  # fmt: skip
# Of those, the ones that can carry a person's name or address: ids and tracing.
_IDS = frozenset({"message-id", "in-reply-to", "references", "received", "return-path",
                  "content-id", "list-id"})  # fmt: skip
_MAX_DEPTH = 5  # forwarded messages inside forwarded messages


@dataclass(frozen=True)
class Seen:
    """One piece of what the receiver sees, and where (for the event that names it)."""

    where: str  # "Subject", "Thread-Topic", "body", "name of attachment 2", ...
    text: str | None  # None: there, but not readable as text
    name: bool = False  # a file name: scanned with its extension and without


class PersonalDataInOutgoing(Exception):
    """Raised by ``guard``: the message must not be sent. The pipeline quarantines the
    report it came from, so nothing leaves and an administrator looks at it."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def seen(raw: bytes) -> list[Seen]:
    """Every text a mail client shows of the message in `raw`, decoded."""
    return list(_message(parsed(raw), "", 0))


def parsed(raw: bytes) -> email.message.Message:
    """`raw` as ``email.message_from_bytes(raw, policy=compat32)`` reads it. The parser
    reads a body line by line, to find the boundaries of parts: a message of one part
    that is not a message itself (most the gateway writes) has none, so its headers are
    parsed alone and the rest is its body, as the parser would have joined it. Only when
    the parser would end the headers at the first empty line: every line before it ends
    in CRLF and is a header line or a folded one (feedparser.headerRE), and none but the
    first is an envelope "From " line (the parser reads one last as the body's start)."""
    end = raw.find(b"\r\n\r\n")
    head = raw[: end + 2].decode("ascii", "surrogateescape")
    if end > 0 and _header_lines(head):
        msg = email.message_from_string(head + "\r\n", policy=email.policy.compat32)
        if msg.get_content_maintype() not in ("multipart", "message"):
            msg.set_payload(raw[end + 4 :].decode("ascii", "surrogateescape"))
            return msg
    return email.message_from_bytes(raw, policy=email.policy.compat32)


def _header_lines(head: str) -> bool:
    """True when the parser reads every line of `head` as a header line."""
    lines = head.split("\r\n")[:-1]
    if not head.count("\r") == head.count("\n") == len(lines):
        return False  # a bare CR or LF: a line break the split above does not see
    return all(headerRE.match(x) and not (i and x[:5] == "From ") for i, x in enumerate(lines))


def _message(msg, prefix: str, depth: int) -> Iterator[Seen]:
    for name, value in msg.items():
        if name.lower() not in _STRUCTURAL:
            yield Seen(prefix + name, _header_text(value))
    attachment = 0
    for part in msg.walk() if depth <= _MAX_DEPTH else ():
        if part.is_multipart():
            continue
        filename = part.get_filename()
        if (
            part.get_content_type() == "message/rfc822"
            or filename
            or (part.get_content_disposition() == "attachment")
        ):
            attachment += 1
            yield from _attachment(part, f"{prefix}attachment {attachment}", depth)
        elif part.get_content_maintype() == "text":
            yield Seen(prefix + "body", _body_text(part))
        else:
            yield Seen(prefix + "body part", None)


def _attachment(part, where: str, depth: int) -> Iterator[Seen]:
    for param in ("filename", "name"):
        for holder in (part.get_param(param, header="content-disposition"),
                       part.get_param(param)):  # fmt: skip
            if holder:
                value = email.utils.collapse_rfc2231_value(holder)
                yield Seen(f"{where} name", decoded_words(" ".join(str(value).split())), True)
    if part.get_content_type() == "message/rfc822":
        inner = part.get_payload()
        for msg in inner if isinstance(inner, list) else []:
            yield from _message(msg, f"{where}: ", depth + 1)
        return
    name = decoded_words(part.get_filename() or "")
    read = read_attachment(name, part.get("Content-Type", ""), part_bytes(part))
    yield Seen(f"{where} content", read.text if read.complete else None)


def _header_text(value) -> str:
    """A header as a client shows it: unfolded, encoded words decoded."""
    return decoded_words(" ".join(str(value).split()))


def _body_text(part) -> str | None:
    payload = part.get_payload(decode=True)
    if payload is None:
        return None
    text = payload.decode(part.get_content_charset() or "utf-8", errors="replace")
    if part.get_param("format", "").lower() == "flowed":
        text = unflow(text, part.get_param("delsp", "").lower() == "yes")
    return html_to_text(text) if part.get_content_subtype() == "html" else text


_SOFT_BREAK = re.compile(r" \r?\n(?!-- \r?\n)")


def unflow(text: str, delsp: bool = False) -> str:
    """RFC 3676: a line ending in a space goes on in the next line."""
    return _SOFT_BREAK.sub("" if delsp else " ", text)


def problems(raw: bytes, *, hold_unreadable: bool = True, **options) -> list[str]:
    """What must stop the message: '<where>: <kind>' for each finding, '<where>:
    unreadable' for what cannot be read (unless the deployment relays that, rules.yaml
    privacy: unreadable_attachments: relay). `options` as for find_personal_data.
    A text seen twice (a file name as filename= and as name=) is scanned once."""
    found = []
    kinds: dict[tuple[str, bool], list[str]] = {}
    for piece in seen(raw):
        if piece.text is None:
            if hold_unreadable:
                found.append(f"{piece.where}: unreadable")
            continue
        key = (piece.text, piece.name)
        if key not in kinds:
            scan = find_in_name if piece.name else find_personal_data
            kinds[key] = [f.kind for f in scan(piece.text, **options)]
        found += [f"{piece.where}: {kind}" for kind in kinds[key]]
    return found


def check(
    out: Outgoing, ruleset: RuleSet, known: Iterable[str] = (), hidden: Identity | None = None
) -> list[str]:
    """The problems of an outgoing message if a recipient must not see personal data
    (``privacy.redact_for``), else none. `known`: addresses the message names on
    purpose (the reporter or replier in its header block), besides the parties'.
    `hidden`: a confidential reporter, who must not be named anywhere in it."""
    found = reporter_named(out.raw, hidden) if hidden else []
    if not needs_redaction(ruleset, list(out.recipients)):
        return found
    options = detect_options(ruleset)
    options["known_addresses"] = [*options["known_addresses"], out.mail_from, *known]
    hold = ruleset.privacy.unreadable_attachments == "hold"
    return found + problems(out.raw, hold_unreadable=hold, **options)


def reporter_named(raw: bytes, who: Identity) -> list[str]:
    """Where a confidential reporter is still named: in the ids and tracing headers, or
    in anything a mail client shows (headers decoded, parts decoded, attachment names and
    contents); what cannot be read cannot be vouched for, and counts too."""
    msg = parsed(raw)
    found = [
        f"{name}: the reporter"  # ids and tracing: a client shows them, and they can tell
        for name, value in msg.items()
        if name.lower() in _IDS and named(_header_text(value), who)
    ]
    for piece in seen(raw):
        if piece.text is None:
            found.append(f"{piece.where}: unreadable")
        elif named(piece.text, who):
            found.append(f"{piece.where}: the reporter")
    return found


def guard(
    out: Outgoing, ruleset: RuleSet, known: Iterable[str] = (), hidden: Identity | None = None
) -> Outgoing:
    """`out` unchanged when it may be sent; else PersonalDataInOutgoing."""
    found = check(out, ruleset, known, hidden)
    if found:
        raise PersonalDataInOutgoing(found)
    return out
