"""Who merges the search indexes' segments: not the pipeline's commits, a merger of its own.

FTS5 merges at every write that adds a segment ('automerge'): some work for each page
written, in proportion to the index's levels, and a step only ends at the end of a word.
With the search indexes of a log of a million cases (seven levels, a merge of five
segments of 4,500 pages under way; the rest of the log empty) the pipeline's commits
wrote 42.6 pages a report against 29.6 on an empty log, the difference all merging
(55-80 us of CPU for each page a merge writes), and 3-5 commits in 500 took over 20 ms;
with the merging left to the merger, 29.4 pages and none.

So the pipeline's write groups (``QuietWriteGroup``) hold their merging: automerge is 0
for the length of the group's transaction and back at the stored setting before its
commit (set, flushed and reset inside the transaction: no other connection sees the 0,
and the purge's own 0, ``retention.merge_at_commit``, is put back as it was). The
merging is done by ``merge_step`` in short write transactions of its own
(``gateway/merging.py``: when the pipeline is idle, or when a level is far behind), 16
segments at a time as automerge would. FTS5's crisis merge (``schema.SEARCH_CRISISMERGE``
segments on one level) stays the backstop inside any write.
"""

from __future__ import annotations

from gateway.store import WriteGroup, indexing, retention
from gateway.store.db import Database
from gateway.store.schema import SEARCH_AUTOMERGE
from gateway.store.segments import levels, next_merge

INDEXES = retention.SEARCH_INDEXES  # not case_terms: one entry per term, merges stay small
BEHIND = 2 * SEARCH_AUTOMERGE  # segments on one level: merge even while the pipeline is busy


def hold(db: Database) -> dict[str, int]:
    """Stop merging at commit for the rest of this transaction; returns the settings to
    put back (``release``). FTS5 reads 'automerge' each time it writes a segment."""
    held = {}
    for name in INDEXES:
        held[name] = retention.setting(db, name, "automerge", 4)  # 4: FTS5's default
        if held[name]:
            retention.command(db, name, "automerge", 0)
    return held


def release(db: Database, held: dict[str, int]) -> None:
    """Write out what the indexes hold in memory (a savepoint flushes FTS5), with merging
    still held, then put the settings back (in the same transaction: none is ever seen)."""
    db.execute("SAVEPOINT merges_flush")
    db.execute("RELEASE merges_flush")
    for name, value in held.items():
        if value:
            retention.command(db, name, "automerge", value)


class QuietWriteGroup(WriteGroup):
    """A ``WriteGroup`` whose transactions leave the search indexes' merging to the
    merger: the pipeline's commits write their own segments and nothing more."""

    held: dict[str, int] | None = None

    def _begin(self) -> None:
        super()._begin()
        try:
            self.held = hold(self.db)
        except BaseException:
            super()._end("ROLLBACK")
            raise

    def _last_step(self) -> None:
        """The texts and cases due into the search indexes (store/indexing.py) while
        merging is still held, then merging let go: once, before the COMMIT."""
        indexing.before_commit(self.db)
        if self.held is not None:
            release(self.db, self.held)

    def _end(self, how: str) -> None:
        try:
            super()._end(how)
        finally:
            self.held = None


def owed(db: Database) -> int:
    """How many segments the next ``merge_step`` merges on the level it works on (the
    most of either index; 0: nothing to merge). A read: no transaction needed. FTS5
    picks the level (``segments.next_merge``): a merge under way, unless a level below
    it holds more segments; else the level with the most, if it has 16."""
    return max(len(next_merge(levels(db, name), SEARCH_AUTOMERGE)) for name in INDEXES)


def read_ahead(db: Database, pages: int) -> int:
    """Read the leaves the next ``merge_step(db, pages)`` reads, outside any write, so
    that the step finds them in the cache, as the purge's steps do; returns how many."""
    return retention.read_ahead(db, pages, SEARCH_AUTOMERGE)


def merge_step(db: Database, pages: int) -> bool:
    """About ``pages`` pages of merging in each search index that owes some (in the
    caller's write transaction), a level only once it holds ``SEARCH_AUTOMERGE``
    segments, as automerge would; False when nothing was merged."""
    return retention.merge_step(db, pages, SEARCH_AUTOMERGE)
