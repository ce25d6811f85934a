"""PDF: the text layer, form fields, annotations and metadata.

A form with one box per digit comes out of the text layer as digits apart ("1 5 1 0 8
6 ...", or one per line): such runs are read a second time joined. A page without text
is a scanned page, and an encrypted file cannot be read: both make the result
incomplete (no OCR here).
"""

from __future__ import annotations

import io
import re

from gateway.privacy.scanners.base import Budget, Contents

# Six or more single digits with only spaces or line breaks between them.
_BOXES = re.compile(r"(?<!\d)\d(?:[ \t\r\n]+\d(?!\d)){5,}")


def rejoin_boxes(text: str) -> str:
    """The runs of single digits in `text`, joined: one line each."""
    return "\n".join(re.sub(r"\s+", "", m.group()) for m in _BOXES.finditer(text))


def read_pdf(payload: bytes, *, budget: Budget, **_) -> Contents:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(payload))
    if reader.is_encrypted and not reader.decrypt(""):
        return Contents("", False, "encrypted")
    texts: list[str] = []
    blank = 0
    for page in reader.pages:
        if not budget.spend(0):
            return Contents("\n".join(texts), False, budget.problems[-1])
        text = page.extract_text() or ""
        blank += not text.strip()
        texts += [text, *_annotations(page)]
    fields = reader.get_fields() or {}
    texts += [str(f.get("/V", "")) for f in fields.values() if f.get("/V") is not None]
    texts += [str(v) for v in (reader.metadata or {}).values()]
    whole = "\n".join(texts)
    text = f"{whole}\n{rejoin_boxes(whole)}\n{''.join(_field_digits(fields))}"
    if blank:
        return Contents(text, False, "scanned page")
    return Contents(text, True)


def _annotations(page) -> list[str]:
    """Comments and text boxes put on the page."""
    found = []
    for annotation in page.get("/Annots") or []:
        obj = annotation.get_object()
        for key in ("/Contents", "/V", "/T"):
            if obj.get(key):
                found.append(str(obj[key]))
    return found


def _field_digits(fields: dict) -> list[str]:
    """Form fields of one character each, joined in order when their names differ only
    by a number at the end ("fnr1", "fnr2", ...): a comb of boxes for one number."""
    combs: dict[str, list[str]] = {}
    for name, f in fields.items():
        value = str(f.get("/V") or "")
        if len(value) == 1:
            combs.setdefault(re.sub(r"[\d._\[\]]+$", "", str(name)), []).append(value)
    return ["".join(digits) + "\n" for digits in combs.values()]
