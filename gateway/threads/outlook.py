"""Thread-Index and Thread-Topic, so that Outlook groups a case's messages as one thread.

Outlook ignores References when it groups a conversation; it reads Thread-Index
(MS-OXOMSG PidTagConversationIndex): a 22-byte header (the conversation's start as a
FILETIME without its two low bytes, then a GUID), and a 5-byte child block per reply
(the time since the start, in a 31-bit field). The GUID is derived from the reference,
so every message of a case carries the same conversation, also after a restart.
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid

_EPOCH = dt.datetime(1601, 1, 1, tzinfo=dt.UTC)
_NAMESPACE = uuid.UUID("6f1f2a52-6d1e-4b55-9d1c-61767669a6a0")  # avviksgateway's own


def _filetime(at: dt.datetime) -> int:
    """100-nanosecond intervals since 1601-01-01, as Windows counts time."""
    delta = at.astimezone(dt.UTC) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 10_000_000 + delta.microseconds * 10


def thread_index(reference: str, started: dt.datetime, at: dt.datetime | None = None) -> str:
    """The Thread-Index for a case: the header alone for its first message, header and
    one child block (time since ``started``) for a later one."""
    root = _filetime(started) >> 16
    data = root.to_bytes(6, "big") + uuid.uuid5(_NAMESPACE, reference.upper()).bytes
    if at is not None:
        delta = max(_filetime(at) - (root << 16), 0)
        if delta < 1 << 49:
            block = (delta >> 18) & 0x7FFFFFFF
        else:
            block = 0x80000000 | ((delta >> 23) & 0x7FFFFFFF)
        data += block.to_bytes(4, "big") + bytes([int(at.timestamp()) & 0xFF])
    return base64.b64encode(data).decode("ascii")
