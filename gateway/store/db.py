"""The database type the store's functions take."""

from sqlite_utils import Database

__all__ = ["Database"]
