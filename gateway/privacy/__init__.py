"""Personal-data detection and redaction for reports relayed de-identified (avidentifisert)."""

from gateway.privacy.detect import KINDS, Finding, find_personal_data
from gateway.privacy.extract import SCANNED_FORMATS, attachment_text, html_to_text
from gateway.privacy.redact import MARKERS, redact, redact_text

__all__ = [
    "KINDS",
    "MARKERS",
    "SCANNED_FORMATS",
    "Finding",
    "attachment_text",
    "find_personal_data",
    "html_to_text",
    "redact",
    "redact_text",
]
