"""The merger: the search indexes' merging, in short write transactions of its own.

The pipeline's commits do not merge (``store/merges.py``: on a log of a million cases
that merging was a third of what its commits wrote). The daemon's pipeline thread calls
``Merger.step`` between batches: when it found nothing to do, one step whenever a level
holds ``SEARCH_AUTOMERGE`` segments or a merge is under way, so that an idle gateway
merges as automerge would have; after a batch, only when a level has fallen far behind
(``merges.BEHIND``), so that a sustained load still gets its merges done, in steps of
its own. FTS5's crisis merge, in whatever write adds a segment to a level of
``SEARCH_CRISISMERGE``, stays the backstop. With nothing to merge, the idle thread
makes the pass over the index of search terms that a purge owes (``store.terms``).
Before all that, the idle thread adds the texts its busy batches left due to the
search indexes (``store.indexing.when_idle``), a few at a write.
"""

from __future__ import annotations

from gateway.retention import TERMS_STEP, Pace, terms_step
from gateway.store import indexing, merges, terms, write
from gateway.store.db import Database

MERGE_PAGES = 120  # pages of each search index merged per write, at most (retention.py)


class Merger:
    """Paced merge steps on one connection (the pipeline thread's): each aims at
    ``retention.TARGET_S`` of write lock, as the purge's steps do."""

    def __init__(self, db: Database):
        self.db, self.pace = db, Pace(MERGE_PAGES)
        self.terms_pace = Pace(TERMS_STEP)

    def step(self, busy: bool) -> bool:
        """When not ``busy``, first a write that indexes some of what the busy pipeline
        left due (``store.indexing``); then one merge step if one is owed (``busy``: only if a
        level is far behind), else, when not ``busy``, a step of a pass over the index of
        search terms if a purge owes one (``store.terms``); True when it did something,
        so that the caller comes back for the next."""
        if not busy and indexing.owed(self.db):  # left due while busy (indexing.when_idle)
            with write(self.db):
                indexing.add_idle(self.db)
            return True
        most = merges.owed(self.db)  # reads two records, outside the write
        if not most or (busy and most < merges.BEHIND):
            return not busy and self._terms_step()
        merges.read_ahead(self.db, self.pace.size)  # outside the write: read from cache
        with self.pace, write(self.db):  # timed to the commit
            return merges.merge_step(self.db, self.pace.size)

    def _terms_step(self) -> bool:
        if not terms.owed(self.db):
            return False
        terms_step(self.db, self.terms_pace)
        return True
