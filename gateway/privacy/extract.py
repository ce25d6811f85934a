"""Text of attachments, so personal data in them can be found before a report is relayed.

The scanners live in gateway/privacy/scanners/; ``read_attachment`` says what was read
and whether that was everything. ``attachment_text`` keeps the older contract: `None`
means "format not scanned" and `""` "scanned format but unreadable" (broken, encrypted,
oversized, or not read completely). Neither proves the attachment is free of personal
data: the caller must treat both as unscannable rather than as clean.
"""

from __future__ import annotations

from email.message import Message

from gateway.privacy.scanners import Contents, Limits, read_attachment
from gateway.privacy.scanners.text import decode_text, html_to_text

__all__ = [
    "SCANNED_FORMATS",
    "Contents",
    "Limits",
    "attachment_text",
    "decode_text",
    "html_to_text",
    "part_bytes",
    "read_attachment",
]

# Human-readable list of what read_attachment() reads; anything else is not read.
SCANNED_FORMATS = [
    "text in any encoding (text/*, .txt, .csv, .log, .json, ...), UTF-16 without a BOM too",
    "HTML (as shown, and with every tag dropped: hidden text and comments count), XML, RTF",
    "PDF: the text layer, form fields, comments and metadata, digits in boxes rejoined; "
    "encrypted PDFs and pages without text (scans) are not read",
    "Word, Excel and PowerPoint (DOCX, XLSX, PPTX) and OpenDocument (ODT, ODS, ODP): every "
    "XML part (text boxes, content controls, tracked changes, comments, notes, headers, "
    "footers, sheets, slides, properties) and embedded documents; pictures are not read",
    "ZIP archives and forwarded messages (message/rfc822, .eml), recursively",
]


def attachment_text(
    filename: str, content_type: str, payload: bytes, max_bytes: int = 20_000_000
) -> str | None:
    """The text of an attachment; None for a format no scanner reads, "" for one not
    read completely. Never raises."""
    read = read_attachment(filename, content_type, payload, Limits(max_bytes=max_bytes))
    if not read.known:
        return None
    return read.text if read.complete else ""


def part_bytes(part: Message) -> bytes:
    """An attachment's bytes as its receiver saves them (a forwarded message too)."""
    if part.get_content_type() == "message/rfc822" and part.is_multipart():
        inner = part.get_payload(0)
        return inner.as_bytes() if isinstance(inner, Message) else b""
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""
