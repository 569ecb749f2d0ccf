"""Schema migrations: an ordered list of functions, each applied once and recorded.

Append new migrations at the end; never edit or reorder one that has shipped. The
``_migrations`` table records the names already applied, so a database created by any
earlier version is brought up to date on open.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

Migration = Callable[[sqlite3.Connection], None]


def m001_models(db: sqlite3.Connection) -> None:
    """Content-addressed blobs and the named manifests that point at them."""
    db.execute(
        """
        CREATE TABLE blobs (
            digest TEXT PRIMARY KEY,          -- 'sha256:<hex>'
            size INTEGER NOT NULL,
            path TEXT NOT NULL,               -- absolute path of the file
            external INTEGER NOT NULL DEFAULT 0,  -- 1: owned by another store (e.g. Ollama)
            info TEXT,                        -- JSON ModelInfo, parsed once from the GGUF header
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
        )
        """
    )
    db.execute(
        """
        CREATE TABLE models (
            name TEXT PRIMARY KEY,            -- normalised 'family:tag'
            digest TEXT NOT NULL REFERENCES blobs(digest),
            source TEXT NOT NULL,             -- local | hf | ollama | ollama-local | package
            source_ref TEXT NOT NULL,         -- what was pulled, as the user can repeat it
            template TEXT,                    -- chat template override from the source
            system TEXT,                      -- default system prompt from the source
            params TEXT NOT NULL DEFAULT '{}',  -- JSON: default sampling/load parameters
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
            modified_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
        )
        """
    )
    db.execute("CREATE INDEX models_digest ON models(digest)")


MIGRATIONS: list[Migration] = [m001_models]


def apply_migrations(
    db: sqlite3.Connection, migrations: list[Migration] | None = None
) -> list[str]:
    """Apply every migration not yet recorded, in order; return the names applied."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS _migrations ("
        " name TEXT PRIMARY KEY,"
        " applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))"
    )
    done = {row[0] for row in db.execute("SELECT name FROM _migrations")}
    applied = []
    for migration in migrations if migrations is not None else MIGRATIONS:
        name = migration.__name__
        if name in done:
            continue
        db.execute("BEGIN IMMEDIATE")  # one transaction per migration: all of it or none
        try:
            migration(db)
            db.execute("INSERT INTO _migrations (name) VALUES (?)", (name,))
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        applied.append(name)
    return applied
