"""The register of the case log's migrations, and the settings several of them share.

The migrations themselves are in ``schema_log.py``, ``schema_record.py`` and
``schema_search.py``, in the order they run; ``schema.py`` imports them in that order.
"""

from __future__ import annotations

from sqlite_utils.migrations import Migrations

migrations = Migrations("avviksgateway")

SEARCH_AUTOMERGE = 16  # segments a level of a search index holds before they are merged
SEARCH_CRISISMERGE = 64  # ... before they are merged at once, in the write that adds one
