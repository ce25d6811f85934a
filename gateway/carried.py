"""What a relay carries over from the original: its attachments, bytes unchanged, and
the original itself as a message/rfc822 part.

A carried payload is reused as it was encoded, never decoded and encoded again. From
``SPLICE_CHARS`` on, a payload is not run through the generator (which writes it line by
line into several buffers): a placeholder is, and ``splice`` puts the encoded text into
the finished bytes in its place, with the same CRLF line endings. The renderer
(gateway/render.py) builds the message around these parts.
"""

from __future__ import annotations

import base64
import email
import io
import re
import uuid
from email.message import EmailMessage

from gateway.attachments import is_executable
from gateway.headers import SMTP
from gateway.i18n import DEFAULT_LANGUAGE, phrases
from gateway.models import ParsedMessage

SPLICE_CHARS = 64 * 1024
_SPLICE_PIECE = 1 << 20
_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # what email.generator takes for a line break
_LINE_BREAK_BYTES = re.compile(rb"\r\n|\r|\n")
Splice = str | tuple[bytes, int, int]  # encoded text, or its place in an original's raw bytes


def identity_encoding(data: bytes) -> str:
    """The encoding a message/rfc822 part declares for these CRLF bytes: RFC 2046
    §5.2.1 allows only 7bit, 8bit or binary there (never base64, which mail clients and
    Python's parser then do not open as a message)."""
    lines = data.split(b"\r\n")
    if b"\0" in data or b"\r" in data.replace(b"\r\n", b"") or max(map(len, lines)) > 998:
        return "binary"
    return "7bit" if data.isascii() else "8bit"


def message_part(raw: bytes, splices: dict[str, Splice] | None) -> EmailMessage:
    """The original as an attached message, its bytes unchanged (line breaks made CRLF),
    spliced into the finished bytes; without ``splices``, as the generator writes it."""
    data = _LINE_BREAK_BYTES.sub(b"\r\n", raw)
    data = data if data.endswith(b"\r\n") else data + b"\r\n"
    part = EmailMessage(policy=SMTP)
    part["Content-Type"] = "message/rfc822"
    part.add_header("Content-Disposition", "attachment", filename="original.eml")
    part["Content-Transfer-Encoding"] = identity_encoding(data)
    if splices is None:
        part.set_payload([email.message_from_bytes(data, policy=SMTP)])
        return part
    token = f"AVVIKSPLICE{uuid.uuid4().hex}"
    splices[token] = (data, 0, len(data))
    part.set_payload(token)
    return part


def splice(msg: EmailMessage, raw: bytes, splices: dict[str, Splice]) -> bytes | None:
    """``raw`` with each placeholder replaced by what the generator would have written
    for its payload: the text with every line break (CRLF, CR or LF) made CRLF, in ASCII
    with surrogate escapes. None when a MIME boundary occurs in a payload (the generator
    picks boundaries that do not occur in the text, and did not see these payloads)."""
    boundaries = [p.get_boundary() for p in msg.walk() if p.is_multipart()]
    texts = [payload for payload in splices.values() if isinstance(payload, str)]
    if any(b and b in text for b in boundaries for text in texts):
        return None  # (a run of base64 lines has no line starting with "--")
    places = sorted((raw.index(token.encode("ascii")), token) for token in splices)
    out = io.BytesIO()
    done = 0
    for at, token in places:
        out.write(raw[done:at])
        _write_payload(out, splices[token])
        done = at + len(token)
    out.write(raw[done:])
    return out.getvalue()


def _write_payload(out: io.BytesIO, payload: Splice) -> None:
    if not isinstance(payload, str):  # ASCII base64 lines in the raw bytes of the original
        raw, start, end = payload
        crlf = raw.count(b"\r\n", start, end)
        if raw.count(b"\n", start, end) == crlf and raw.count(b"\r", start, end) == crlf:
            out.write(memoryview(raw)[start:end])
            return
        payload = str(memoryview(raw)[start:end], "ascii")
    crlf = payload.count("\r\n")
    clean = payload.count("\n") == crlf and payload.count("\r") == crlf
    start = 0
    while start < len(payload):
        end = start + _SPLICE_PIECE
        if payload[end - 1 : end] == "\r":  # never split a CRLF between two pieces
            end += 1
        piece = payload[start:end]
        if not clean:
            piece = _LINE_BREAK.sub("\r\n", piece)
        out.write(piece.encode("ascii", "surrogateescape"))
        start = end


def carried_parts(
    original: ParsedMessage, skip: frozenset[str] = frozenset(), unnamed: str | None = None
) -> list:
    """The original's parts that a relay carries: (part, clean file name) pairs.

    Executable files (and macro-enabled Office files) are not carried: they stay with
    the case in the message log, and the relay's text says they were held back.
    ``skip`` holds names not to carry ("": the parts without one); ``unnamed`` is the
    file name a part without one gets (default: the built-in language's word).
    """
    unnamed = unnamed or phrases(DEFAULT_LANGUAGE)("render.unnamed_attachment")
    carried = []
    for part in original.message.walk():
        if part.is_multipart() or part.get_content_maintype() == "multipart":
            continue
        filename = part.get_filename()
        if part.get_content_disposition() != "attachment" and not filename:
            continue
        if is_executable(filename or "") or (filename or "") in skip:
            continue
        carried.append((part, clean_filename(filename, unnamed)))
    return carried


def copy_attachments(
    original: ParsedMessage,
    target: EmailMessage,
    skip: frozenset[str] = frozenset(),
    splices: dict[str, Splice] | None = None,
    carried: list | None = None,
    splice_chars: int = SPLICE_CHARS,
) -> int:
    """Carry the original's attachments over, bytes unchanged; returns how many.

    A base64 or quoted-printable part is carried as it was encoded: its payload text is
    reused, not decoded and encoded again, so a 25 MB attachment costs no extra copies.
    Given ``splices``, a big payload is put there under a placeholder, for ``_splice``.
    See carried_parts for what is carried. ``splice_chars``: the size from which a
    payload is spliced (the renderer's ``SPLICE_CHARS``, which tests change).
    """
    if carried is None:
        carried = carried_parts(original, skip)
    for part, filename in carried:
        if not target.is_multipart():
            target.make_mixed()
        target.attach(_attachment_part(part, filename, splices, splice_chars))
    return len(carried)


def _attachment_part(
    part, filename: str, splices: dict[str, Splice] | None, splice_chars: int
) -> EmailMessage:
    cte = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    copy = EmailMessage(policy=SMTP)
    copy["Content-Type"] = part.get_content_type()
    copy.add_header("Content-Disposition", "attachment", filename=filename)
    if cte in ("base64", "quoted-printable"):
        copy["Content-Transfer-Encoding"] = cte
        lazy = getattr(part, "_lazy", None)  # still in the raw bytes (see parse._Part)
        if lazy is not None and splices is not None:
            token = f"AVVIKSPLICE{uuid.uuid4().hex}"
            splices[token] = lazy
            copy.set_payload(token)
            return copy
        payload = _encoded_payload(part)  # the encoded text, shared
    else:  # 7bit/8bit/binary/missing: encode the bytes, which always travels safely
        copy["Content-Transfer-Encoding"] = "base64"
        payload = base64.encodebytes(part.get_payload(decode=True) or b"").decode("ascii")
    if splices is not None and isinstance(payload, str) and len(payload) >= splice_chars:
        token = f"AVVIKSPLICE{uuid.uuid4().hex}"
        splices[token] = payload
        payload = token
    copy.set_payload(payload)
    return copy


def _encoded_payload(part):
    """``part.get_payload(decode=False)``; for ASCII text (which cannot hold surrogate
    escapes) the stored text itself, without get_payload's check, which encodes a copy."""
    payload = part._payload
    if isinstance(payload, str) and payload.isascii():
        return payload
    return part.get_payload(decode=False)


def clean_filename(name: str | None, unnamed: str) -> str:
    name = " ".join((name or unnamed).split())  # no CR/LF into the relay's headers
    return name.replace("/", "_").replace("\\", "_")[:200] or unnamed
