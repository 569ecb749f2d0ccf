"""API keys, stored hashed.

A key is ``ember-`` followed by 32 random bytes in URL-safe base64. Only its sha256 is
stored: the secret is shown once, when it is created. Because a key is 256 bits of
randomness, not a password, a fast hash is the right one (nothing to brute-force), and
looking a key up by its hash is a single indexed query.
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import secrets
import sqlite3
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

from ember.errors import KeyNotFoundError
from ember.storage import Database

SECRET_PREFIX = "ember-"
SHOWN_CHARS = 12  # 'ember-' and six characters of the secret, enough to tell keys apart
TOUCH_EVERY = timedelta(minutes=1)  # last_used_at is written at most this often per key


@dataclass(frozen=True)
class ApiKey:
    """A stored key, without its secret."""

    id: str
    name: str
    prefix: str
    created_at: str
    last_used_at: str | None
    revoked_at: str | None
    cloud_policy: str | None = None  # its own cloud policy; None: the setting's
    user_id: str | None = None  # its owner (None: made before accounts existed)

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _parse(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


def _record(row: sqlite3.Row) -> ApiKey:
    return ApiKey(
        id=row["id"],
        name=row["name"],
        prefix=row["prefix"],
        created_at=row["created_at"],
        last_used_at=row["last_used_at"],
        revoked_at=row["revoked_at"],
        cloud_policy=row["cloud_policy"],
        user_id=row["user_id"],
    )


_COLUMNS = "id, name, prefix, created_at, last_used_at, revoked_at, cloud_policy, user_id"
CLOUD_POLICIES = ("local-only", "ask", "auto")


class KeyStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(
        self,
        name: str | None = None,
        *,
        cloud_policy: str | None = None,
        user_id: str | None = None,
    ) -> tuple[ApiKey, str]:
        """A new active key; returns its record and the secret (which is not kept).
        ``cloud_policy``: what this key's requests may send to a cloud model (None: the
        ``cloud_policy`` setting); ``user_id``: whose key it is (with accounts on, the
        requests it signs act as that user)."""
        if cloud_policy is not None and cloud_policy not in CLOUD_POLICIES:
            raise ValueError(f"cloud_policy must be one of {', '.join(CLOUD_POLICIES)}")
        secret = SECRET_PREFIX + secrets.token_urlsafe(32)
        key_id = secrets.token_hex(4)
        name = (name or "").strip() or f"key-{key_id}"
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO api_keys (id, name, prefix, hash, cloud_policy, user_id)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (key_id, name, secret[:SHOWN_CHARS], hash_secret(secret), cloud_policy, user_id),
            )
        return self.get(key_id), secret

    def get(self, key_id: str) -> ApiKey:
        row = self.db.query_one(f"SELECT {_COLUMNS} FROM api_keys WHERE id = ?", (key_id,))
        if row is None:
            raise KeyNotFoundError(f"no API key with id {key_id}")
        return _record(row)

    def list(
        self, *, include_revoked: bool = True, user_id: str | None = None
    ) -> builtins.list[ApiKey]:
        """The keys (``user_id``: only that user's)."""
        conditions = [] if include_revoked else ["revoked_at IS NULL"]
        params: tuple[str, ...] = ()
        if user_id is not None:
            conditions.append("user_id = ?")
            params = (user_id,)
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        rows = self.db.query(
            f"SELECT {_COLUMNS} FROM api_keys{where} ORDER BY created_at, rowid", params
        )
        return [_record(r) for r in rows]

    def revoke(self, ref: str, *, user_id: str | None = None) -> ApiKey:
        """Revoke the active key whose id, name or shown prefix is ``ref`` (``user_id``:
        among that user's keys only)."""
        active = self.list(include_revoked=False, user_id=user_id)
        matches = [k for k in active if ref in (k.id, k.name, k.prefix)]
        if not matches:
            raise KeyNotFoundError(
                f"no active API key matches {ref!r}",
                hint="`ember keys list` shows each key's id, name and prefix",
            )
        if len(matches) > 1:
            raise KeyNotFoundError(
                f"{len(matches)} active API keys match {ref!r}",
                hint="name the key by its id; `ember keys list` shows them",
            )
        with self.db.transaction() as conn:
            conn.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ?", (_now(), matches[0].id))
        return self.get(matches[0].id)

    def verify(self, secret: str) -> ApiKey | None:
        """The active key with this secret, or None. Notes when it was last used."""
        if not secret.startswith(SECRET_PREFIX):
            return None
        digest = hash_secret(secret)
        row = self.db.query_one(
            f"SELECT {_COLUMNS}, hash FROM api_keys WHERE hash = ? AND revoked_at IS NULL",
            (digest,),
        )
        if row is None or not hmac.compare_digest(row["hash"], digest):
            return None
        key = _record(row)
        now = _now()
        if key.last_used_at is None or _parse(now) - _parse(key.last_used_at) >= TOUCH_EVERY:
            with self.db.transaction() as conn:
                conn.execute("UPDATE api_keys SET last_used_at = ? WHERE id = ?", (now, key.id))
            key = replace(key, last_used_at=now)
        return key

    def has_active(self) -> bool:
        row = self.db.query_one("SELECT 1 FROM api_keys WHERE revoked_at IS NULL LIMIT 1")
        return row is not None
