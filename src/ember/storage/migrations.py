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


def m003_conversations(db: sqlite3.Connection) -> None:
    """Conversations as trees of messages (edits and regenerations keep earlier branches),
    with full-text search over message text."""
    db.execute(
        """
        CREATE TABLE conversations (
            id TEXT PRIMARY KEY,
            title TEXT NOT NULL DEFAULT '',
            model TEXT,                       -- NULL: the default model
            system TEXT,                      -- the conversation's system prompt
            settings TEXT NOT NULL DEFAULT '{}',  -- JSON: temperature, context, tools...
            leaf_id TEXT,                     -- the tip of the branch being shown
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
            updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
        )
        """
    )
    db.execute(
        """
        CREATE TABLE messages (
            id TEXT PRIMARY KEY,
            conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            parent_id TEXT REFERENCES messages(id) ON DELETE CASCADE,
            role TEXT NOT NULL,               -- system | user | assistant | tool
            content TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT 'complete',  -- complete | streaming | incomplete | error
            model TEXT,
            meta TEXT NOT NULL DEFAULT '{}',  -- JSON: timings, tokens, where, trimmed turns
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
            updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
        )
        """
    )
    db.execute("CREATE INDEX messages_conversation ON messages(conversation_id, created_at)")
    db.execute("CREATE INDEX messages_parent ON messages(parent_id)")
    db.execute(
        "CREATE VIRTUAL TABLE messages_fts USING fts5("
        "content, content='messages', content_rowid='rowid', tokenize='unicode61')"
    )
    db.execute(
        "CREATE TRIGGER messages_ai AFTER INSERT ON messages BEGIN "
        "INSERT INTO messages_fts(rowid, content) VALUES (new.rowid, new.content); END"
    )
    db.execute(
        "CREATE TRIGGER messages_ad AFTER DELETE ON messages BEGIN "
        "INSERT INTO messages_fts(messages_fts, rowid, content) "
        "VALUES ('delete', old.rowid, old.content); END"
    )
    db.execute(
        "CREATE TRIGGER messages_au AFTER UPDATE OF content ON messages BEGIN "
        "INSERT INTO messages_fts(messages_fts, rowid, content) "
        "VALUES ('delete', old.rowid, old.content); "
        "INSERT INTO messages_fts(rowid, content) VALUES (new.rowid, new.content); END"
    )


def m002_api_keys(db: sqlite3.Connection) -> None:
    """API keys for serving other machines: only a sha256 of each secret is kept.

    Listed after m003 in MIGRATIONS because it landed later; names, not positions, are
    what ``_migrations`` records.
    """
    db.execute(
        """
        CREATE TABLE api_keys (
            id TEXT PRIMARY KEY,              -- short random id shown by `ember keys list`
            name TEXT NOT NULL,
            prefix TEXT NOT NULL,             -- the secret's first characters, for lists
            hash TEXT NOT NULL UNIQUE,        -- sha256 hex of the whole secret
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
            last_used_at TEXT,
            revoked_at TEXT                   -- NULL: active
        )
        """
    )


def m004_documents(db: sqlite3.Connection) -> None:
    """Documents for retrieval: collections, files (by content hash), their chunks with
    where each came from, BM25 full-text search and one embedding vector per chunk."""
    db.execute(
        """
        CREATE TABLE doc_collections (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
        )
        """
    )
    db.execute("INSERT INTO doc_collections (name) VALUES ('default')")
    db.execute(
        """
        CREATE TABLE documents (
            id INTEGER PRIMARY KEY,
            collection_id INTEGER NOT NULL REFERENCES doc_collections(id) ON DELETE CASCADE,
            path TEXT NOT NULL,               -- absolute path when added
            sha256 TEXT NOT NULL,             -- of the file's bytes: dedupe and change check
            size INTEGER NOT NULL,
            kind TEXT NOT NULL,               -- txt | md | html | pdf | docx
            title TEXT,
            pages INTEGER,                    -- PDFs: page count
            model TEXT NOT NULL,              -- the embedding model of its vectors
            chunks INTEGER NOT NULL DEFAULT 0,
            added_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
            UNIQUE (collection_id, path)
        )
        """
    )
    db.execute("CREATE INDEX documents_sha ON documents(collection_id, sha256)")
    db.execute(
        """
        CREATE TABLE doc_chunks (
            id INTEGER PRIMARY KEY,
            document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,             -- order in the document
            text TEXT NOT NULL,
            heading TEXT NOT NULL DEFAULT '', -- heading path, ' > ' between levels
            page INTEGER,                     -- 1-based page (PDF), NULL otherwise
            start INTEGER NOT NULL,           -- character offsets in the extracted text
            end INTEGER NOT NULL,
            tokens INTEGER NOT NULL,
            embedding BLOB NOT NULL           -- float32 little-endian, unit length
        )
        """
    )
    db.execute("CREATE INDEX doc_chunks_document ON doc_chunks(document_id, seq)")
    db.execute(
        "CREATE VIRTUAL TABLE doc_chunks_fts USING fts5(text, heading, content='doc_chunks',"
        " content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')"
    )
    db.execute(
        "CREATE TRIGGER doc_chunks_ai AFTER INSERT ON doc_chunks BEGIN "
        "INSERT INTO doc_chunks_fts(rowid, text, heading) "
        "VALUES (new.id, new.text, new.heading); END"
    )
    db.execute(
        "CREATE TRIGGER doc_chunks_ad AFTER DELETE ON doc_chunks BEGIN "
        "INSERT INTO doc_chunks_fts(doc_chunks_fts, rowid, text, heading) "
        "VALUES ('delete', old.id, old.text, old.heading); END"
    )


def m005_embed_version(db: sqlite3.Connection) -> None:
    """Which version of the embedded text (``library.EMBED_VERSION``) a document's vectors
    were made from; documents from before this column are version 1 and get re-embedded."""
    db.execute("ALTER TABLE documents ADD COLUMN embed_version INTEGER NOT NULL DEFAULT 1")


def m006_doc_generation(db: sqlite3.Connection) -> None:
    """A counter that every change to the passages bumps (insert, delete, re-embedding),
    so the in-memory vector index (documents/vector_index.py) knows when to reload."""
    db.execute("CREATE TABLE doc_state (generation INTEGER NOT NULL)")
    db.execute("INSERT INTO doc_state (generation) VALUES (0)")
    for event in ("INSERT", "DELETE", "UPDATE OF embedding"):
        name = event.split()[0].lower()
        db.execute(
            f"CREATE TRIGGER doc_chunks_generation_{name} AFTER {event} ON doc_chunks"
            " BEGIN UPDATE doc_state SET generation = generation + 1; END"
        )


def m007_cloud_egress(db: sqlite3.Connection) -> None:
    """The egress log: one row per request that went to (or was stopped before) a cloud
    provider. Kinds and counts of what the privacy guard redacted or blocked are kept,
    never the values; ``body_sha256`` is the hash of the exact body that left, so what a
    provider received can be checked against the log."""
    db.execute(
        """
        CREATE TABLE cloud_egress (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
            provider TEXT NOT NULL,
            model TEXT NOT NULL,            -- the provider's own model name
            conversation_id TEXT,           -- the page's conversation, if any
            key_id TEXT,                    -- the API key that asked, if any
            policy TEXT NOT NULL,
            reason TEXT NOT NULL,
            status TEXT NOT NULL,           -- sent, blocked, error, incomplete
            redacted TEXT NOT NULL DEFAULT '{}',   -- JSON: kind -> count
            blocked TEXT NOT NULL DEFAULT '{}',    -- JSON: kind -> count
            sent_bytes INTEGER NOT NULL DEFAULT 0,
            body_sha256 TEXT,
            prompt_tokens INTEGER NOT NULL DEFAULT 0,
            completion_tokens INTEGER NOT NULL DEFAULT 0,
            cost REAL NOT NULL DEFAULT 0,
            error TEXT
        )
        """
    )
    db.execute("CREATE INDEX cloud_egress_at ON cloud_egress(at)")
    # An API key's own cloud policy (NULL: the cloud_policy setting).
    db.execute("ALTER TABLE api_keys ADD COLUMN cloud_policy TEXT")


def m008_accounts(db: sqlite3.Connection) -> None:
    """Accounts (issue 21): users with argon2 password hashes and a role, their sign-in
    sessions (only a hash of the session secret is kept), and the owner of each API key
    and conversation (NULL: made before accounts existed; adopted by the first admin)."""
    db.execute(
        """
        CREATE TABLE users (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE COLLATE NOCASE,
            password_hash TEXT NOT NULL,      -- argon2id, with its parameters and salt
            role TEXT NOT NULL DEFAULT 'user',  -- admin | user
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
        )
        """
    )
    db.execute(
        """
        CREATE TABLE sessions (
            id_hash TEXT PRIMARY KEY,         -- sha256 of the cookie's secret
            user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            csrf TEXT NOT NULL,               -- sent back in X-CSRF-Token on changes
            created_at TEXT NOT NULL,
            last_seen_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX sessions_user ON sessions(user_id)")
    db.execute("ALTER TABLE api_keys ADD COLUMN user_id TEXT REFERENCES users(id)")
    db.execute("ALTER TABLE conversations ADD COLUMN user_id TEXT REFERENCES users(id)")
    db.execute("CREATE INDEX conversations_user ON conversations(user_id, updated_at)")


def m009_user_limits(db: sqlite3.Connection) -> None:
    """Per-user limits (NULL: the settings') and the tokens each user used per day."""
    db.execute("ALTER TABLE users ADD COLUMN rate_limit_per_minute INTEGER")
    db.execute("ALTER TABLE users ADD COLUMN daily_token_quota INTEGER")
    db.execute(
        """
        CREATE TABLE user_usage (
            user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            day TEXT NOT NULL,                -- UTC date, YYYY-MM-DD
            prompt_tokens INTEGER NOT NULL DEFAULT 0,
            completion_tokens INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (user_id, day)
        )
        """
    )


def m010_doc_windows(db: sqlite3.Connection) -> None:
    """The vectors of each chunk's sentence windows (documents/windows.py): a finer
    second score for a search's best candidates."""
    db.execute(
        """
        CREATE TABLE doc_windows (
            chunk_id INTEGER NOT NULL REFERENCES doc_chunks(id) ON DELETE CASCADE,
            embedding BLOB NOT NULL           -- float32 little-endian, unit length
        )
        """
    )
    db.execute("CREATE INDEX doc_windows_chunk ON doc_windows(chunk_id)")


def m011_user_cloud(db: sqlite3.Connection) -> None:
    """Cloud settings belong to users: the policy an admin gives each account (NULL: the
    cloud_policy setting), and whose request each egress log row was (until now read
    through its conversation or key, which lost it when the conversation was deleted)."""
    db.execute("ALTER TABLE users ADD COLUMN cloud_policy TEXT")
    db.execute("ALTER TABLE cloud_egress ADD COLUMN user_id TEXT")
    db.execute(
        "UPDATE cloud_egress SET user_id = COALESCE("
        " (SELECT user_id FROM conversations c WHERE c.id = cloud_egress.conversation_id),"
        " (SELECT user_id FROM api_keys k WHERE k.id = cloud_egress.key_id))"
    )
    db.execute("CREATE INDEX cloud_egress_user ON cloud_egress(user_id, id)")


MIGRATIONS: list[Migration] = [
    m001_models,
    m003_conversations,
    m002_api_keys,
    m004_documents,
    m005_embed_version,
    m006_doc_generation,
    m007_cloud_egress,
    m008_accounts,
    m009_user_limits,
    m010_doc_windows,
    m011_user_cloud,
]


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
