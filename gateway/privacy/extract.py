"""Text of attachments, so personal data in them can be found before a report is relayed.

Contract for callers: `None` means "format not scanned" and `""` may mean "scanned format but
unreadable" (broken, encrypted, oversized). Neither proves the attachment is free of personal
data: the caller must treat both as unscannable (e.g. withhold the attachment from a
de-identified relay) rather than as clean.
"""

from __future__ import annotations

import io
import logging
import zipfile
from email.message import EmailMessage
from html.parser import HTMLParser
from typing import Any

log = logging.getLogger(__name__)

# Human-readable list of what attachment_text() reads; anything else returns None.
SCANNED_FORMATS = [
    "plain text (text/plain, .txt); other text/* types (calendar, vcard, ...) as raw text",
    "CSV (text/csv, .csv)",
    "HTML (text/html, .html, .htm), tags stripped",
    "PDF (application/pdf, .pdf), text layer only: scanned images are not OCR'd",
    "Word DOCX (application/vnd.openxmlformats-officedocument.wordprocessingml.document, "
    ".docx): body paragraphs, tables, headers and footers",
]

_DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_BY_EXTENSION = {
    ".txt": "text/plain",
    ".csv": "text/csv",
    ".html": "text/html",
    ".htm": "text/html",
    ".pdf": "application/pdf",
    ".docx": _DOCX_TYPE,
}
# Non-text types we read; other declared types defer to a known file extension.
_TEXT_LAYER_TYPES = {"application/pdf", _DOCX_TYPE}
# A DOCX is a zip: refuse to inflate more than this (zip bombs).
_DOCX_MAX_UNPACKED = 200_000_000


def _format(filename: str, content_type: str) -> tuple[str, str | None]:
    """Return (effective MIME type, declared charset) from the header and the file name.

    The name wins when the declared type is one we don't scan (application/octet-stream,
    application/x-pdf, ...) or text/plain, the default for a missing or broken header: a
    mislabelled PDF must not slip through as "not scanned" or be decoded as text.
    """
    msg = EmailMessage()
    try:
        msg["Content-Type"] = " ".join((content_type or "").split()) or "application/x-unknown"
        ctype, charset = msg.get_content_type(), msg.get_param("charset")
    except Exception:  # unparsable header: fall back to the name
        ctype, charset = "application/x-unknown", None
    ctype = ctype.split()[0] if ctype else ctype  # "application/pdf name=x" (missing ";")
    ext = filename.lower().rpartition(".")[2] if "." in (filename or "") else ""
    by_name = _BY_EXTENSION.get("." + ext)
    scanned = ctype.startswith("text/") or ctype in _TEXT_LAYER_TYPES
    if by_name and (ctype == "text/plain" or not scanned):
        ctype = by_name
    return ctype, charset if isinstance(charset, str) else None


def decode_text(payload: bytes, charset: str | None = None) -> str:
    """Decode with the declared charset, else UTF-8 (with/without BOM), cp1252, latin-1."""
    if payload.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ["utf-16"]
    else:
        candidates = [charset] if charset else []
    for encoding in [*candidates, "utf-8-sig", "cp1252"]:
        try:
            return payload.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("latin-1")  # never fails


class _TextExtractor(HTMLParser):
    _SKIP = {"script", "style", "head", "title", "template"}
    _BLOCK = {"br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "hr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append("\t")  # keep cells apart so numbers in adjacent cells don't join

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skipping:
            self._skipping -= 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Visible text of an HTML document (entities decoded, scripts and styles dropped)."""
    parser = _TextExtractor()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # html.parser is lenient; never let odd markup stop a scan
        log.warning("HTML parse error; returning text found so far", exc_info=True)
    return "".join(parser.parts)


def _pdf_text(payload: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(payload))
    if reader.is_encrypted and not reader.decrypt(""):
        return ""
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def _docx_text(payload: bytes) -> str:
    import docx

    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        if sum(info.file_size for info in archive.infolist()) > _DOCX_MAX_UNPACKED:
            return ""
    document = docx.Document(io.BytesIO(payload))
    parts: list[str] = []

    def add_blocks(container: Any) -> None:  # document, cell, header or footer
        parts.extend(p.text for p in container.paragraphs)
        for table in container.tables:
            for row in table.rows:
                for cell in row.cells:
                    add_blocks(cell)  # cells hold paragraphs and nested tables

    add_blocks(document)
    for section in document.sections:
        for part in (section.header, section.footer):
            if not part.is_linked_to_previous:
                add_blocks(part)
    return "\n".join(parts)


def attachment_text(
    filename: str, content_type: str, payload: bytes, max_bytes: int = 20_000_000
) -> str | None:
    """Return the text of a text-bearing attachment, or None if its format is not scanned.

    Never raises on a broken file: an unreadable, encrypted or oversized (> max_bytes)
    attachment of a scanned format returns "", which the caller must treat as unscannable.
    """
    ctype, charset = _format(filename, content_type)
    if ctype.startswith("text/"):
        reader = None
    elif ctype == "application/pdf":
        reader = _pdf_text
    elif ctype == _DOCX_TYPE:
        reader = _docx_text
    else:
        return None
    if len(payload) > max_bytes:
        return ""
    if reader is None:
        text = decode_text(payload, charset)
        return html_to_text(text) if ctype == "text/html" else text
    try:
        return reader(payload)
    except Exception as exc:  # third-party parsers raise many types on malformed input
        # A broken file is the sender's, not ours: one line, the traceback only at debug.
        log.warning("could not read %s attachment %r: %s", ctype, filename, exc)
        log.debug("while reading %r", filename, exc_info=True)
        return ""
