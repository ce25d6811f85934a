"""What an attachment is: by its first bytes, then its declared type, then its name.

The bytes win: a PDF called "bilde.png" or sent as application/octet-stream is read as
a PDF, and an image called "notat.txt" is not taken for text.
"""

from __future__ import annotations

import email.message
import zipfile
from io import BytesIO
from pathlib import PurePath

_MAGIC = [
    (b"%PDF", "pdf"), (b"{\\rtf", "rtf"), (b"\x89PNG", "image"), (b"\xff\xd8\xff", "image"),
    (b"GIF8", "image"), (b"II*\x00", "image"), (b"MM\x00*", "image"),
    (b"RIFF", "image"), (b"\x00\x00\x00\x18ftypheic", "image"),
    (b"\x00\x00\x00\x1cftyp", "image"), (b"\xd0\xcf\x11\xe0", "unknown"),  # OLE: .doc, .xls
]  # fmt: skip
_BY_TYPE = {
    "text/html": "html", "application/xhtml+xml": "html", "text/xml": "xml",
    "application/xml": "xml", "text/rtf": "rtf", "application/rtf": "rtf",
    "application/pdf": "pdf", "message/rfc822": "message", "application/zip": "zip",
    "application/x-zip-compressed": "zip", "application/json": "text",
}  # fmt: skip
_BY_SUFFIX = {
    ".txt": "text", ".csv": "text", ".log": "text", ".json": "text", ".md": "text",
    ".ics": "text", ".vcf": "text", ".yaml": "text", ".yml": "text", ".tsv": "text",
    ".htm": "html", ".html": "html", ".xml": "xml", ".rtf": "rtf", ".pdf": "pdf",
    ".eml": "message", ".zip": "zip", ".docx": "office", ".xlsx": "office",
    ".pptx": "office", ".odt": "office", ".ods": "office", ".odp": "office",
    ".png": "image", ".jpg": "image", ".jpeg": "image", ".gif": "image", ".tif": "image",
    ".tiff": "image", ".bmp": "image", ".heic": "image", ".webp": "image",
}  # fmt: skip


def declared_type(content_type: str) -> tuple[str, str | None]:
    """(MIME type, charset) of a Content-Type value; a broken one is unknown."""
    msg = email.message.EmailMessage()
    try:
        msg["Content-Type"] = " ".join((content_type or "").split()) or "application/x-unknown"
        ctype, charset = msg.get_content_type(), msg.get_param("charset")
    except Exception:  # unparsable header: the name and bytes decide
        return "application/x-unknown", None
    ctype = ctype.split()[0] if ctype else ctype  # "application/pdf name=x" (missing ";")
    return ctype, charset if isinstance(charset, str) else None


def _zip_kind(payload: bytes) -> str:
    try:
        names = set(zipfile.ZipFile(BytesIO(payload)).namelist())
    except Exception:  # a broken archive: the zip scanner says so
        return "zip"
    return "office" if "[Content_Types].xml" in names or "mimetype" in names else "zip"


def kind_of(filename: str, content_type: str, payload: bytes) -> str:
    """text, html, xml, rtf, pdf, office, zip, message, image or unknown."""
    head = payload[:32]
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if head.startswith(b"PK\x03\x04"):
        return _zip_kind(payload)
    ctype, _ = declared_type(content_type)
    suffix = PurePath((filename or "").strip().lower()).suffix
    by_name = _BY_SUFFIX.get(suffix)
    if ctype in _BY_TYPE and not (ctype == "application/zip" and by_name == "office"):
        return _BY_TYPE[ctype]
    if by_name:
        return by_name
    if ctype.startswith("text/"):
        return "text"
    if ctype.startswith("image/"):
        return "image"
    return "unknown"
