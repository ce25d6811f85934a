"""The segments of a search index (FTS5) as its structure record tells them, and what
its next merge step will read: so that a purge reads those pages before its write
transaction, not inside it (retention.read_ahead).

FTS5 keeps each index as levels of segments (``<name>_data`` row 10, the structure
record); a merge reads the segments of one level and writes one segment on the next.
The record's layout is that of SQLite's fts5_index.c (3.40: a 4-byte cookie, then
varints: levels, segments, write counter; per level merging and segment count; per
segment id, first and last page; from 3.44 a record may be of version 2, marked after
the cookie, with five more varints per segment). Only a reading aid: a record this
does not understand gives no levels, and the purge merges as it would anyway."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.store.db import Database

STRUCTURE_V2 = b"\xff\x00\x00\x01"  # fts5_index.c FTS5_STRUCTURE_V2 (SQLite 3.44 on)
USERMERGE = 4  # FTS5's default: a level merges ('merge', N) when it holds this many


@dataclass(frozen=True)
class Segment:
    id: int
    first: int
    last: int

    @property
    def pages(self) -> int:
        return self.last - self.first + 1


@dataclass(frozen=True)
class Level:
    merging: int  # how many of its first segments are being merged into the next level
    segments: tuple[Segment, ...]


def _varint(blob: bytes, at: int) -> tuple[int, int]:
    """SQLite's varint (up to 9 bytes, 7 bits each, the ninth 8): (value, next offset)."""
    value = 0
    for k in range(8):
        byte = blob[at + k]
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, at + k + 1
    return (value << 8) | blob[at + 8], at + 9


def levels(db: Database, name: str) -> list[Level]:
    """The levels of index ``name``, from its structure record (empty if it has none, or
    one this does not understand)."""
    row = db.execute(f"SELECT block FROM {name}_data WHERE id = 10").fetchone()
    try:
        return _decode(bytes(row[0])) if row else []
    except IndexError:  # a layout of another SQLite: then nothing is read ahead
        return []


def _decode(blob: bytes) -> list[Level]:
    at, extra = 4, 0
    if blob[4:8] == STRUCTURE_V2:
        at, extra = 8, 5

    def take() -> int:
        nonlocal at
        value, at = _varint(blob, at)
        return value

    def segment() -> Segment:
        seg = Segment(take(), take(), take())
        for _ in range(extra):
            take()
        return seg

    count, _segments, _writes = take(), take(), take()
    found = []
    for _ in range(count):
        merging, size = take(), take()
        found.append(Level(merging, tuple(segment() for _ in range(size))))
    return found


def next_merge(found: list[Level], least: int = USERMERGE) -> tuple[Segment, ...]:
    """The segments FTS5's next ``'merge'`` step reads (fts5IndexMerge): a merge under
    way on the first level that has one, unless a level below it holds more segments;
    else the level with the most segments, if it has ``least`` of them."""
    best, count = None, 0
    for level in found:
        if level.merging:
            if level.merging > count:
                best, count = level, level.merging
            break
        if len(level.segments) > count:
            best, count = level, len(level.segments)
    if best is None or (not best.merging and count < least):
        return ()
    return best.segments[: best.merging] if best.merging else best.segments


def pages_to_read(
    db: Database, name: str, pages: int, least: int | None = None
) -> list[tuple[int, int]]:
    """The ``<name>_data`` ids (first, last) of the leaves that a ``'merge'`` step of
    ``pages`` will read from each segment it merges: from where the merge is up to the
    end of the word under way ``pages`` further on (a step ends only at a word's end).
    ``least``: the segments a level needs for the step to start a merge there (None:
    the index's 'usermerge', as the plain 'merge' command uses)."""
    if least is None:
        setting = db.execute(f"SELECT v FROM {name}_config WHERE k = 'usermerge'").fetchone()
        least = setting[0] if setting else USERMERGE
    spans = []
    for seg in next_merge(levels(db, name), least):
        (end,) = db.execute(
            f"SELECT MIN(pgno) FROM {name}_idx WHERE segid = ? AND pgno > ?",
            [seg.id, seg.first + pages],
        ).fetchone()
        base = seg.id << 37  # fts5_index.c FTS5_SEGMENT_ROWID: segment id, then page
        spans.append((base + seg.first, base + min(seg.last, end or seg.last)))
    return spans
