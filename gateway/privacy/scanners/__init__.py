"""Read all the text an attachment holds, and say whether that was all of it.

Each format has its scanner (text.py, office.py, pdf.py, archive.py). A scanner returns
what it read and whether it read everything: an image, an encrypted or scanned PDF, an
unknown format, a limit hit or an error make the result incomplete, and the caller holds
such an attachment back from a party that must not see personal data (fail closed).

Limits: each attachment's size, the bytes an archive may expand to, its entries and its
depth, and the time all of it may take (the read runs in a worker thread that is
abandoned at the deadline, see deadline.py; the result is then incomplete).
"""

from __future__ import annotations

import logging
import time

from gateway.privacy.scanners import archive, office, pdf, text
from gateway.privacy.scanners.base import Budget, Contents, Limits
from gateway.privacy.scanners.deadline import within
from gateway.privacy.scanners.formats import kind_of

__all__ = ["Budget", "Contents", "Limits", "read_attachment", "read_part"]

log = logging.getLogger(__name__)


def read_attachment(
    filename: str, content_type: str, payload: bytes, limits: Limits | None = None
) -> Contents:
    """All the text of an attachment; never raises."""
    limits = limits or Limits()
    kind = kind_of(filename, content_type, payload)
    if kind in ("image", "unknown"):
        return Contents("", not payload, kind, known=kind not in ("image", "unknown"))
    if len(payload) > limits.max_bytes:
        return Contents("", False, "size limit")
    budget = Budget(limits, time.monotonic() + limits.seconds)
    read = within(limits.seconds, lambda: read_part(filename, content_type, payload, budget, 0))
    if read is None:
        log.warning("reading %s attachment %r took too long", kind, filename)
        return Contents("", False, "time limit")
    return read


def read_part(filename: str, content_type: str, payload: bytes, budget: Budget,
              depth: int) -> Contents:  # fmt: skip
    """One file (inside an archive too): its scanner, errors caught, problems added."""
    scanners = {
        "text": text.read_text, "html": text.read_html, "xml": text.read_xml,
        "rtf": text.read_rtf, "pdf": pdf.read_pdf, "office": office.read_office,
        "zip": archive.read_zip, "message": archive.read_message,
    }  # fmt: skip
    kind = kind_of(filename, content_type, payload)
    if kind not in scanners:
        return Contents("", not payload, kind, known=kind not in ("image", "unknown"))
    try:
        read = scanners[kind](
            payload, content_type=content_type, budget=budget, depth=depth, recurse=read_part
        )
    except Exception as exc:  # third-party parsers raise many types on malformed input
        log.warning("could not read %s attachment %r: %s", kind, filename, exc)
        log.debug("while reading %r", filename, exc_info=True)
        return Contents("", False, f"unreadable {kind}")
    if budget.problems and read.complete:
        return Contents(read.text, False, budget.problems[0])
    return read
