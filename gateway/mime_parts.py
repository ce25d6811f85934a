"""The text bodies and attachments of a parsed message, read in one walk over its parts.

These are the rules mail-parser 4.8 applied when the gateway used it (until issue 22),
kept to the letter so that every message reads as it did: the same texts, the same
attachments with the same names and sizes, and a failure where it failed. mail-parser
also parsed every address, date and Received header and decoded every header twice
for results the gateway never read; that was a third of the CPU of a parse.
"""

from __future__ import annotations

import email
import random
import re
import string
import unicodedata
from dataclasses import dataclass
from email.errors import HeaderParseError
from email.header import Header, decode_header
from email.message import Message

_EPILOGUE_DEFECT = "StartBoundaryNotFoundDefect"
_META_HEADERS = frozenset(
    {"content-type", "content-disposition", "content-id", "content-transfer-encoding"}
)
_SURROGATES = re.compile(r"[\ud800-\udfff]")


@dataclass(frozen=True)
class Parts:
    """The text/plain and text/html bodies, and (name, content type, size) per
    attachment; the size is that of the attachment in base64, as mail-parser gave it."""

    plain: tuple[str, ...]
    html: tuple[str, ...]
    attachments: tuple[tuple[str, str, int], ...]


def read_parts(msg: Message) -> Parts:
    """The bodies and attachments of ``msg``. Raises what reading a broken part raises
    (the caller quarantines the message), as mail-parser did."""
    plain: list[str] = []
    html: list[str] = []
    found: list[tuple[str, str, int]] = []
    for part, inside in _walk(msg):
        _read(part, inside, plain, html, found)
    return Parts(tuple(plain), tuple(html), tuple(found))


def _walk(msg: Message) -> list[tuple[Message, bool]]:
    """Every part, and whether it is inside an attachment: a container whose disposition
    is not inline, or that has a file name, holds attachments and no bodies (RFC 2183
    2.9). A part whose start boundary is missing is looked for in the epilogue."""
    parts: list[tuple[Message, bool]] = []
    held: set[int] = set()  # ids of the parts inside an attachment
    missing_start = False
    for part in msg.walk():
        missing_start |= any(type(d).__name__ == _EPILOGUE_DEFECT for d in part.defects)
        inside = id(part) in held
        parts.append((part, inside))
        if part.is_multipart():
            disposition = part.get_content_disposition()
            blocks_inline = disposition not in (None, "inline") or (
                disposition != "inline" and bool(part.get_filename())
            )
            if inside or blocks_inline:
                held.update(id(p) for p in part.get_payload())
    if missing_start and (recovered := _epilogue_part(msg)) is not None:
        parts.append((recovered, True))
    return parts


def _epilogue_part(msg: Message) -> Message | None:
    """The part between the message's boundaries in its epilogue, if any. Raises
    TypeError for a message without a boundary and AttributeError for one without an
    epilogue, as mail-parser did."""
    first = "--" + msg.get_boundary()  # type: ignore[operator]
    text = _between(msg.epilogue, first, first + "--")  # type: ignore[arg-type]
    if text is None:
        return None
    try:
        return email.message_from_string(text)
    except Exception:
        return None


def _between(text: str, first: str, last: str) -> str | None:
    try:
        start = text.index(first) + len(first)
        return text[start : text.index(last, start)].strip()
    except ValueError:
        return None


def _read(part: Message, inside: bool, plain: list, html: list, found: list) -> None:
    """One part: an attachment (a file name, a content id on a part that is not text, an
    RTF body, or a disposition of attachment), a body, or both (named inline text)."""
    meta = _metadata(part)
    filename = decode_header_part(meta.get_filename())
    disposition = ported(meta.get_content_disposition()).lower()
    if part.is_multipart() and disposition != "attachment":
        return
    charset = meta.get_content_charset("utf-8")
    content_id = ported(meta.get("content-id"))
    subtype = ported(meta.get_content_subtype())
    inline_body = (
        not inside
        and not part.is_multipart()
        and disposition == "inline"
        and part.get_content_type() in ("text/plain", "text/html")
    )
    attachment = bool(filename)
    if not filename:
        if content_id and subtype not in ("html", "plain"):
            attachment, filename = True, content_id
        elif subtype in "rtf":  # mail-parser's ``in ("rtf")``: a substring test
            attachment, filename = True, f"{_random_name()}.rtf"
        elif disposition == "attachment":
            attachment, filename = True, f"{_random_name()}.txt"
    if attachment:
        found.append((filename, ported(meta.get_content_type()), _size(part, meta)))
    if not attachment or inline_body:
        text = _body_text(part, charset)
        if text:
            kind = part.get_content_subtype()
            if kind == "html":
                html.append(text)
            elif kind == "plain":
                plain.append(text)


def _random_name() -> str:
    """mail-parser's name for an attachment that has none: ten random letters."""
    return "".join(random.choice(string.ascii_lowercase) for _ in range(10))


def _metadata(part: Message) -> Message:
    """The part's content headers with raw 8-bit bytes read as UTF-8 (invalid ones as
    U+FFFD). The part itself when they are ASCII, which reads the same and costs
    nothing; else a header-only copy, as mail-parser made for every part."""
    raw = [(n, v) for n, v in part.raw_items() if n.lower() in _META_HEADERS]
    if all(isinstance(v, str) and v.isascii() for _n, v in raw):
        return part
    view = Message()
    view.set_default_type(part.get_default_type())
    for name, value in raw:
        value = str(value)
        try:
            octets = value.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:  # surrogates that are not escaped bytes
            value = _SURROGATES.sub("\ufffd", value)
        else:
            value = octets.decode("utf-8", "replace")
        view[name] = value
    return view


def _size(part: Message, meta: Message) -> int:
    """The attachment's size in base64: as sent for a base64 part, else of its decoded
    bytes encoded (a container: of its parts flattened)."""
    if part.is_multipart():
        return sum(len(_as_string_safe(p)) for p in part.get_payload(decode=False))
    encoding = ported(meta.get("content-transfer-encoding", "")).strip().lower()
    if encoding == "base64":
        payload = _raw_payload(part)
        return len(payload) if isinstance(payload, str) else _base64_len(len(payload))
    return _base64_len(len(part.get_payload(decode=True)))


def _base64_len(n: int) -> int:
    return (n + 2) // 3 * 4


def _raw_payload(part: Message) -> str | bytes:
    """The payload as sent; its bytes when its declared charset cannot be applied."""
    try:
        return part.get_payload(decode=False)
    except (LookupError, UnicodeError):
        return part.get_payload(decode=True)


def _as_string_safe(part: Message) -> str:
    """The part flattened; with its raw bytes when its charset refuses (utf-16, idna)."""
    try:
        return part.as_string()
    except (LookupError, UnicodeError):
        pass
    try:
        return part.as_bytes().decode("utf-8", "surrogateescape")
    except (LookupError, UnicodeError):
        pass
    headers = "".join(f"{k}: {v}\n" for k, v in part.items())
    body = _raw_payload(part)
    if isinstance(body, list):
        body = "".join(_as_string_safe(sub) for sub in body)
    else:
        body = body.decode("utf-8", "surrogateescape")
    return f"{headers}\n{body}"


def _body_text(part: Message, charset: str) -> str:
    """A body part's text: a 7bit, 8bit or unlabelled body as the parser holds it when it
    is valid Unicode; else its decoded bytes read in the declared charset, UTF-8 when
    that fails, in NFC."""
    encoding = ported(part.get("Content-Transfer-Encoding", "")).strip().lower()
    if not encoding or encoding in ("7bit", "8bit"):
        held = part._payload  # get_payload() would already apply the charset, lossily
        if isinstance(held, str) and (held.isascii() or _is_unicode(held)):
            return held
    payload = part.get_payload(decode=True)
    if not payload:
        return ""
    try:
        text = payload.decode(charset)
        text.encode("utf-8")  # some codecs make lone surrogates
    except (LookupError, UnicodeError):
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            text = payload.decode("utf-8", "replace")
    return ported(text)


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def ported(value: object, encoding: str = "utf-8") -> str:
    """A header value or decoded chunk as text in NFC ('' for none)."""
    if not value:
        return ""
    if isinstance(value, Header):
        value = str(value)
    elif not isinstance(value, str):
        try:
            value = str(value, encoding)  # type: ignore[call-overload]
        except (LookupError, UnicodeError):
            value = str(value, "utf-8", "ignore")  # type: ignore[call-overload]
    return unicodedata.normalize("NFC", value)  # type: ignore[arg-type]


def decode_header_part(header: str | Header | None) -> str:
    """A header value with its RFC 2047 encoded words decoded (the value as it is when
    they cannot be), stripped."""
    if not header:
        return ""
    output = ""
    try:
        for data, charset in decode_header(header):
            output += ported(data, charset or "utf-8")
    except (HeaderParseError, UnicodeError):
        output += header  # type: ignore[operator]  (a Header raises TypeError, as before)
    if not _is_unicode(output):  # a codec made surrogates: the value as written
        return str(header).encode("utf-8", "backslashreplace").decode("utf-8").strip()
    return output.strip()


def decode_headers(values: list | None) -> str | list[str]:
    """mail-parser's reading of one header name: '' when absent, the decoded value when
    there is one, a list of them when the header repeats."""
    if not values:
        return ""
    decoded = [decode_header_part(v) for v in values]
    return decoded[0].strip() if len(decoded) == 1 else decoded
