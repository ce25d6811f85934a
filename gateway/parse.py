"""Parse raw bytes once, with mail-parser, into a ParsedMessage the rules can read.

Parsing is tolerant: mail-parser (on top of the stdlib email package) keeps going on
broken MIME and records defects, which we keep with the message. Only a message that
cannot be read at all raises ``UnparseableMessage``; the pipeline quarantines it.
"""

from __future__ import annotations

import email.header
import email.message
import email.utils
import re
from email.parser import BytesFeedParser

import mailparser

from gateway.models import Attachment, ParsedMessage
from gateway.text import html_to_text, new_text

_CHUNK = 1 << 20
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]+")
_MSGID = re.compile(r"<[^<>\s]+>")


class UnparseableMessage(Exception):
    """The bytes are not a message we can read; the reason goes to quarantine."""


def _message_from_bytes(raw: bytes) -> email.message.Message:
    """The stdlib parse, fed in 1 MB chunks: ``message_from_bytes`` splits the whole text
    at once and peaks at about eight times the message size; this stays near three."""
    parser = BytesFeedParser()
    view = memoryview(raw)
    for start in range(0, len(raw), _CHUNK):
        parser.feed(view[start : start + _CHUNK].tobytes())
    return parser.close()


def _clean(value: object) -> str:
    """One line of header text: control characters (CR, LF, NUL) become spaces.

    Takes what mail-parser and the stdlib hand back for odd headers too: a Header
    object (raw 8-bit or undecodable text), a list (a repeated header), or None.
    """
    if isinstance(value, (list, tuple)):
        value = " ".join(_clean(v) for v in value)
    elif isinstance(value, email.header.Header):
        value = str(value)
    return _CONTROL.sub(" ", str(value or "")).strip()


def _addresses(values: list[str]) -> tuple[str, ...]:
    found = []
    for _name, addr in email.utils.getaddresses([_clean(v) for v in values]):
        addr = addr.strip().lower()
        if "@" in addr and addr not in found:
            found.append(addr)
    return tuple(found)


def _headers(msg) -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for name, value in msg.items():
        out.setdefault(name.lower(), []).append(_clean(value))
    return {k: tuple(v) for k, v in out.items()}


def _sender(msg) -> tuple[str, str]:
    """The From address and display name; '' when From is missing or names several."""
    pairs = email.utils.getaddresses([_clean(v) for v in msg.get_all("From", [])])
    addrs = {a.strip().lower() for _n, a in pairs if "@" in a}
    if len(addrs) != 1:
        return "", ""
    name = next(n for n, a in pairs if "@" in a)
    return addrs.pop(), _clean(name)


def _body(mail) -> str:
    plain = [t for t in mail.text_plain if t and t.strip()]
    if plain:
        return "\n".join(plain)
    html = [t for t in mail.text_html if t and t.strip()]
    return "\n".join(html_to_text(h) for h in html)


def parse(raw: bytes) -> ParsedMessage:
    """Parse a message; raises UnparseableMessage with a reason when it cannot be read."""
    try:
        return _parse(raw)
    except RecursionError as exc:  # the stdlib recurses on hostile MIME and address lists
        raise UnparseableMessage("structure nested too deeply to read") from exc


def _parse(raw: bytes) -> ParsedMessage:
    if not raw or not raw.strip():
        raise UnparseableMessage("empty message")
    try:
        mail = mailparser.MailParser(_message_from_bytes(raw))
    except RecursionError:
        raise
    except Exception as exc:  # mail-parser raises many kinds on hostile input
        raise UnparseableMessage(f"mail-parser failed: {type(exc).__name__}: {exc}") from exc
    msg = mail.message
    if not msg.keys():
        raise UnparseableMessage("no header fields")
    from_addr, from_name = _sender(msg)
    body = _body(mail)
    refs = tuple(_MSGID.findall(_clean(msg.get_all("References", []))))
    irt = _MSGID.findall(_clean(msg.get("In-Reply-To")))
    mid = _MSGID.findall(_clean(msg.get("Message-ID")))
    attachments = tuple(
        Attachment(
            filename=_clean(a.get("filename") or "unnamed"),
            content_type=(a.get("mail_content_type") or "application/octet-stream").lower(),
            size=len(a.get("payload") or ""),
        )
        for a in mail.attachments
    )
    return ParsedMessage(
        message_id=mid[0] if mid else "",
        subject=_clean(mail.subject),
        from_addr=from_addr,
        from_name=from_name,
        to=_addresses(msg.get_all("To", [])),
        cc=_addresses(msg.get_all("Cc", [])),
        date=_clean(msg.get("Date")),
        in_reply_to=irt[0] if irt else "",
        references=refs,
        headers=_headers(msg),
        body=body,
        new_text=new_text(body),
        attachments=attachments,
        content_type=msg.get_content_type(),
        defects=tuple(sorted({d.__class__.__name__ for d in getattr(msg, "defects", [])})),
        size=len(raw),
        message=msg,
    )
