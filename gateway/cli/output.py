"""How the command line prints values and tables for people.

Times are stored in UTC; people read them in the deployment's time zone
(settings.timezone, Europe/Oslo), as the mails show them, with the zone named so
that nobody has to guess ("2026-12-03 10:15 CET"). A missing value is "-", a flag
"yes" or "no": never Python's ``None`` or ``False``. Tables have a header row and
columns of a fixed width, so that ``grep`` and ``cut`` keep working.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

DEFAULT_ZONE = "Europe/Oslo"


def local_time(value: str | dt.datetime | None, zone: str = DEFAULT_ZONE) -> str:
    """A stored time as "2026-12-03 10:15 CET"; "-" for none. A stored time without
    a zone is UTC (the store writes UTC)."""
    if not value:
        return "-"
    try:
        at = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    except ValueError:
        return str(value)
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    return at.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")


def cell(value: object) -> str:
    """One value as people read it: "-" for nothing, "yes"/"no" for a flag."""
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return " ".join(str(value).split())  # a subject with a line break keeps its row


def table(
    header: Sequence[str], rows: Sequence[Sequence[object]], widths: Sequence[int]
) -> list[str]:
    """A header row and one line per row, each column cut or padded to its width (the
    last column runs to the end of the line); a column of numbers is right-aligned."""
    numeric = [bool(rows) and all(isinstance(r[i], int) for r in rows) for i in range(len(widths))]

    def line(values: Sequence[object]) -> str:
        cells = [cell(v) for v in values]
        fixed = [
            c[:w].rjust(w) if right else c[:w].ljust(w)
            for c, w, right in zip(cells[:-1], widths, numeric, strict=False)
        ]
        return "  ".join([*fixed, cells[-1]]).rstrip()

    return [line(header), *(line(r) for r in rows)]
