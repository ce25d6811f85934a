"""The database type and its errors, named once for the modules outside the store.

Code outside ``gateway/store/`` never imports sqlite3 or sqlite_utils: it annotates with
``Database`` and catches ``DatabaseError`` from here.
"""

from __future__ import annotations

import sqlite3

from sqlite_utils import Database

__all__ = ["Database", "DatabaseError", "is_locked"]

DatabaseError = sqlite3.Error


def is_locked(exc: BaseException) -> bool:
    """The database was busy (another writer held it too long): worth trying again."""
    return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)
