"""The time the case log writes: now, or a fixed moment for ``gateway demo``.

``gateway demo`` sends invented messages through the real pipeline as if they had
come over three months; every stamp the store writes (``store.now()``) and every
stage's clock (``stage.utc_now``) reads this clock, so the cases get those days.
Nothing else sets it: the daemon always runs on the real time.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator

_fixed: list[dt.datetime] = []


def current() -> dt.datetime:
    """The fixed moment while ``fixed()`` holds one, else the real time (UTC)."""
    return _fixed[-1] if _fixed else dt.datetime.now(dt.UTC)


@contextlib.contextmanager
def fixed(at: dt.datetime) -> Iterator[None]:
    """Stamp what is written inside as written at ``at`` (aware)."""
    _fixed.append(at.astimezone(dt.UTC))
    try:
        yield
    finally:
        _fixed.pop()
