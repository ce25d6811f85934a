"""Parse raw bytes once, with the stdlib email package, into a ParsedMessage the rules
can read.

Parsing is tolerant: the stdlib keeps going on broken MIME and records defects, which
we keep with the message; its parts are read as mail-parser read them
(``mime_parts``). Only a message that cannot be read at all raises
``UnparseableMessage``; the pipeline quarantines it.
"""

from __future__ import annotations

import binascii
import email.header
import email.message
import email.utils
import re
import uuid
from email.parser import BytesFeedParser

from gateway.from_header import AMBIGUOUS, read_sender
from gateway.mime_parts import Parts, decode_headers, read_parts
from gateway.models import Attachment, ParsedMessage
from gateway.text import html_to_text, new_text

_CHUNK = 1 << 20
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]+")
_MSGID = re.compile(r"<[^<>\s]+>")
_UNFOLD = re.compile(r"\r?\n(?=[ \t])")
# Long runs of base64 lines (an attachment's body) in a message from LAZY_BYTES on are
# kept out of the stdlib parser, which would make a str per line, and read from the raw
# bytes when the part's payload is asked for (see _Part).
LAZY_BYTES = 256 * 1024
_RUN_BYTES = 64 * 1024
_BASE64_RUN = re.compile(rb"(?:^[A-Za-z0-9+/=]{16,998}\r?\n){64,}+", re.M)


# What a plain base64 body holds: the alphabet, line breaks, and padding at its end.
_NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/=\r\n]")
_PADS = (b"=", b"==")


class UnparseableMessage(Exception):
    """The bytes are not a message we can read; the reason goes to quarantine."""


class _Part(email.message.Message):
    """A message part as the stdlib parser makes it, with two differences that change
    no result: its payload may stay in the raw bytes (``_lazy``: raw, start, end) until
    it is asked for, and ``get_payload()`` returns ASCII text without first encoding a
    copy of it to look for surrogate escapes (ASCII text has none)."""

    _lazy: tuple[bytes, int, int] | None = None

    @property
    def _payload(self):
        if self._lazy is not None:
            raw, start, end = self._lazy
            return str(memoryview(raw)[start:end], "ascii", "surrogateescape")
        return self.__dict__.get("_stored_payload")

    @_payload.setter
    def _payload(self, value) -> None:
        self.__dict__["_stored_payload"] = value
        self._lazy = None

    def is_multipart(self) -> bool:
        return self._lazy is None and isinstance(self.__dict__.get("_stored_payload"), list)

    def get_payload(self, i=None, decode=False):
        if i is None and not decode and not self.is_multipart():
            payload = self._payload
            if isinstance(payload, str) and payload.isascii():
                return payload
        if i is None and decode and not self.is_multipart():
            if (data := self._plain_base64()) is not None:
                return data
        return super().get_payload(i, decode)

    def _plain_base64(self) -> bytes | None:
        """A base64 body decoded in one step. The stdlib first splits the body into one
        bytes object per line and joins them (for a 25 MB attachment about 130 MB at
        once); for plain, valid base64 its answer is these same bytes. None for anything
        else (missing padding, other characters), which the stdlib decodes, noting the
        defect."""
        if str(self.get("content-transfer-encoding", "")).lower() != "base64":
            return None
        if self._lazy is not None:
            raw, start, end = self._lazy
            data = bytes(memoryview(raw)[start:end])
        else:
            payload = self.__dict__.get("_stored_payload")
            if not isinstance(payload, str) or not payload.isascii():
                return None
            data = payload.encode("ascii")
        pad = data.find(b"=")
        if _NOT_BASE64.search(data) or (pad >= 0 and data[pad:].strip(b"\r\n") not in _PADS):
            return None
        if (len(data) - data.count(b"\n") - data.count(b"\r")) % 4:
            return None  # padding missing: the stdlib adds it and notes the defect
        try:
            return binascii.a2b_base64(data)
        except binascii.Error:
            return None


def _feed(parser: BytesFeedParser, view: memoryview) -> None:
    for start in range(0, len(view), _CHUNK):
        parser.feed(view[start : start + _CHUNK].tobytes())


def _message_from_bytes(raw: bytes) -> email.message.Message:
    """The stdlib parse, fed in 1 MB chunks: ``message_from_bytes`` splits the whole text
    at once and peaks at about eight times the message size; this stays near three, and
    near one for a message whose size is in base64 attachments (``_lazy_parse``)."""
    if len(raw) >= LAZY_BYTES and (msg := _lazy_parse(raw)) is not None:
        return msg
    if (msg := _single_part(raw)) is not None:
        return msg
    parser = BytesFeedParser(_factory=_Part)
    _feed(parser, memoryview(raw))
    return parser.close()


# The end of the header block: a line break, then an empty line (a line break is CRLF, CR
# or LF, as the parser splits lines; the atomic groups keep CRLF one).
_HEADER_END = re.compile(rb"(?>\r\n|\r|\n)(?>\r\n|\r|\n)")
_CONTAINER = re.compile(rb"multipart|message/", re.I)
_BODY_KEY = "AVVIKBODY8d1f0c3e"


def _single_part(raw: bytes) -> email.message.Message | None:
    """A message of one part, parsed with its header block alone: the parser reads a
    single part's body line by line only to join the lines again (most of a report's
    parse). Its header block and a placeholder are parsed; when the placeholder is all
    of the body, the parser took the header block as a header block and the rest as the
    body, and the body becomes the rest of ``raw``, as the parser would have made it.
    None (a plain parse) when the header block names a container type, or for anything
    else (no empty line, a line that ends the headers early, no headers)."""
    found = _HEADER_END.search(raw)
    if found is None or _CONTAINER.search(raw, 0, found.end()) is not None:
        return None
    parser = BytesFeedParser(_factory=_Part)
    parser.feed(raw[: found.end()])
    parser.feed(_BODY_KEY.encode("ascii"))
    msg = parser.close()
    if msg.is_multipart() or msg.__dict__.get("_stored_payload") != _BODY_KEY:
        return None
    msg.set_payload(str(memoryview(raw)[found.end() :], "ascii", "surrogateescape"))
    return msg


def _lazy_parse(raw: bytes) -> email.message.Message | None:
    """Parse with each long run of base64 lines replaced by a placeholder line, then give
    each part whose payload is a placeholder the run's place in ``raw`` instead.

    A run's lines hold no colon, start with no space or dash, and are not "From " lines,
    so the parser treats the placeholder as it would the lines (as body text); the line
    break after the run stays, for the parser to give to a boundary as usual. A
    placeholder inside longer text is put back as text. None, for a plain parse, when a
    placeholder landed anywhere else (a preamble or epilogue)."""
    runs = []
    for m in _BASE64_RUN.finditer(raw):
        if m.end() - m.start() >= _RUN_BYTES:
            eol = 2 if raw[m.end() - 2 : m.end()] == b"\r\n" else 1
            runs.append((m.start(), m.end() - eol))
    key = f"AVVIKLAZY{uuid.uuid4().hex}"
    if not runs or key.encode("ascii") in raw:
        return None
    parser = BytesFeedParser(_factory=_Part)
    view = memoryview(raw)
    done = 0
    for i, (start, end) in enumerate(runs):
        _feed(parser, view[done:start])
        parser.feed(f"{key}N{i}X".encode("ascii"))
        done = end
    _feed(parser, view[done:])
    msg = parser.close()
    token = re.compile(re.escape(key) + r"N(\d+)X")
    whole = re.compile(re.escape(key) + r"N(\d+)X(\r\n|\r|\n)?")
    placed = 0
    for part in msg.walk():
        payload = part.__dict__.get("_stored_payload")
        if not isinstance(payload, str) or key not in payload:
            continue
        if found := whole.fullmatch(payload):  # the run, and the line break after it
            start, end = runs[int(found.group(1))]
            end += len(found.group(2) or "")
            part._lazy = (raw, start, end)
            part.__dict__["_stored_payload"] = None
            placed += 1
        else:
            placed += len(token.findall(payload))
            part._payload = token.sub(
                lambda m: str(view[slice(*runs[int(m.group(1))])], "ascii", "surrogateescape"),
                payload,
            )
    return msg if placed == len(runs) else None


def _clean(value: object) -> str:
    """One line of header text: control characters (CR, LF, NUL) become spaces.

    Takes what the stdlib and ``mime_parts`` hand back for odd headers too: a Header
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


UNDECLARED_8BIT = "Undeclared8BitHeader"  # a defect: "Undeclared8BitHeader(Subject: utf-8)"


def _decode_8bit(value: str) -> tuple[str, str | None]:
    """A header value with raw 8-bit bytes (no RFC 2047 charset said which) decoded as
    mail clients do: UTF-8 when the bytes are valid UTF-8, else Windows-1252. Returns
    the text and the charset used; None when the value was plain ASCII."""
    if value.isascii():
        return value, None
    data = value.encode("ascii", "surrogateescape") if _has_escapes(value) else None
    if data is None:
        return value, None  # already text (a str the parser gave as such)
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("windows-1252", "replace"), "windows-1252"


def _has_escapes(value: str) -> bool:
    return any("\udc80" <= c <= "\udcff" for c in value)


def _headers(msg) -> tuple[dict[str, tuple[str, ...]], list[str]]:
    """Every header, lower-case name -> cleaned values; and the 8-bit decodings made."""
    out: dict[str, list[str]] = {}
    decoded: list[str] = []
    for name, value in msg.raw_items():
        if isinstance(value, str) and not value.isascii():
            value, charset = _decode_8bit(_UNFOLD.sub("", value))
            if charset:
                decoded.append(f"{UNDECLARED_8BIT}({name}: {charset})")
        out.setdefault(name.lower(), []).append(_clean(value))
    return {k: tuple(v) for k, v in out.items()}, decoded


def _body(parts: Parts) -> str:
    plain = [t for t in parts.plain if t and t.strip()]
    if plain:
        return "\n".join(plain)
    html = [t for t in parts.html if t and t.strip()]
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
        msg = _message_from_bytes(raw)
        parts = read_parts(msg)
        decoded_subject = decode_headers(msg.get_all("Subject"))
    except RecursionError:
        raise
    except Exception as exc:  # reading broken parts raises many kinds on hostile input
        raise UnparseableMessage(f"parts not readable: {type(exc).__name__}: {exc}") from exc
    if not msg.keys():
        raise UnparseableMessage("no header fields")
    headers, decoded = _headers(msg)
    sender = read_sender(list(headers.get("from", ())))
    defects = {d.__class__.__name__ for d in getattr(msg, "defects", [])} | set(decoded)
    subject = _clean(decoded_subject)
    if any(d.startswith(f"{UNDECLARED_8BIT}(Subject:") for d in decoded):
        subject = headers["subject"][0]
    if sender.ambiguous:
        defects.add(AMBIGUOUS)
    body = _body(parts)
    refs = tuple(_MSGID.findall(_clean(msg.get_all("References", []))))
    irt = _MSGID.findall(_clean(msg.get("In-Reply-To")))
    mid = _MSGID.findall(_clean(msg.get("Message-ID")))
    attachments = tuple(
        Attachment(
            filename=_clean(name or "unnamed"),
            content_type=(ctype or "application/octet-stream").lower(),
            size=size,
        )
        for name, ctype, size in parts.attachments
    )
    return ParsedMessage(
        message_id=mid[0] if mid else "",
        subject=subject,
        from_addr=sender.address,
        from_name=_clean(sender.name),
        to=_addresses(msg.get_all("To", [])),
        cc=_addresses(msg.get_all("Cc", [])),
        date=_clean(msg.get("Date")),
        in_reply_to=irt[0] if irt else "",
        references=refs,
        headers=headers,
        body=body,
        new_text=new_text(body),
        attachments=attachments,
        content_type=msg.get_content_type(),
        defects=tuple(sorted(defects)),
        size=len(raw),
        message=msg,
    )
