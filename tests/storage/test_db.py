"""The database opens in WAL mode and applies migrations once, in order, atomically."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ember.storage import Database
from ember.storage.migrations import MIGRATIONS, apply_migrations


def test_wal_mode_and_schema(tmp_path: Path) -> None:
    db = Database(tmp_path / "e.db")
    assert db.journal_mode() == "wal"
    tables = {r[0] for r in db.query("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"blobs", "models", "_migrations"} <= tables
    applied = [r[0] for r in db.query("SELECT name FROM _migrations ORDER BY rowid")]
    assert applied == [m.__name__ for m in MIGRATIONS]
    db.close()


def test_reopen_applies_nothing_twice(tmp_path: Path) -> None:
    Database(tmp_path / "e.db").close()
    conn = sqlite3.connect(tmp_path / "e.db", isolation_level=None)
    assert apply_migrations(conn) == []
    conn.close()


def test_failed_migration_leaves_no_trace(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "m.db", isolation_level=None)

    def m001_ok(db: sqlite3.Connection) -> None:
        db.execute("CREATE TABLE a (x INTEGER)")

    def m002_broken(db: sqlite3.Connection) -> None:
        db.execute("CREATE TABLE b (x INTEGER)")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        apply_migrations(conn, [m001_ok, m002_broken])
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "a" in tables
    assert "b" not in tables
    assert [r[0] for r in conn.execute("SELECT name FROM _migrations")] == ["m001_ok"]
    conn.close()


def test_transaction_rolls_back_on_error(tmp_path: Path) -> None:
    db = Database(tmp_path / "e.db")

    def insert_then_fail() -> None:
        with db.transaction() as tx:
            tx.execute("INSERT INTO blobs (digest, size, path) VALUES ('sha256:x', 1, '/x')")
            raise ValueError("stop")

    with pytest.raises(ValueError, match="stop"):
        insert_then_fail()
    assert db.query("SELECT * FROM blobs") == []
    db.close()
