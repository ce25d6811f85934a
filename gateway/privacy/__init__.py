"""Personal-data detection and redaction for reports relayed de-identified (avidentifisert)."""

from gateway.privacy.detect import KINDS, Finding, find_personal_data
from gateway.privacy.extract import SCANNED_FORMATS, attachment_text, html_to_text
from gateway.privacy.kinds import Kind
from gateway.privacy.redact import redact, redact_text

__all__ = [
    "KINDS",
    "SCANNED_FORMATS",
    "Finding",
    "Kind",
    "attachment_text",
    "find_personal_data",
    "html_to_text",
    "redact",
    "redact_text",
]
