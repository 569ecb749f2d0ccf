"""SQLite storage: one database file under EMBER_HOME, WAL mode, ordered migrations."""

from ember.storage.db import Database

__all__ = ["Database"]
