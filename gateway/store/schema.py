"""The schema of the case log, as sqlite-utils migrations: one function per change.

A migration runs once per database, in order, and is never edited after it shipped:
a change to the schema is a new function at the end of ``schema_search.py`` (or of a
new module imported last below). They are registered on ``migrations``
(``schema_base.py``) in the order these modules are imported, which is the order they
run in.
"""

from __future__ import annotations

from gateway.store import schema_log, schema_record, schema_search  # noqa: F401 -- in order
from gateway.store.schema_base import SEARCH_AUTOMERGE, SEARCH_CRISISMERGE, migrations
from gateway.store.schema_record import (
    _FIGURES,
    STATS_APART,
    m017_i22_case_figures,
    m017_i22_search_merges,
)

__all__ = [
    "SEARCH_AUTOMERGE",
    "SEARCH_CRISISMERGE",
    "STATS_APART",
    "_FIGURES",
    "m017_i22_case_figures",
    "m017_i22_search_merges",
    "migrations",
]
