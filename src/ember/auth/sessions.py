"""Sign-in sessions for the web page: a random secret in an HttpOnly cookie, of which
only the sha256 is stored, with a CSRF token the page sends back on every change.

A new session (a new secret) is made at each sign-in, so a session id planted before
sign-in is worth nothing after it (session fixation). A session ends at sign-out, when
the user's password changes, after ``IDLE`` without use, or ``LIFETIME`` after it began.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from ember.auth.users import User, UserStore
from ember.storage import Database

SESSION_COOKIE = "ember_session"
IDLE = timedelta(days=7)
LIFETIME = timedelta(days=30)
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Session:
    user: User
    csrf: str
    id_hash: str


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _parse(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


class SessionStore:
    def __init__(self, db: Database, users: UserStore) -> None:
        self.db = db
        self.users = users

    def start(self, user: User) -> tuple[str, Session]:
        """A new session for ``user``: the cookie's secret (not kept) and the session."""
        secret = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(24)
        now = _stamp(datetime.now(timezone.utc))
        with self.db.transaction() as tx:
            tx.execute(
                "INSERT INTO sessions (id_hash, user_id, csrf, created_at, last_seen_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (_hash(secret), user.id, csrf, now, now),
            )
        return secret, Session(user, csrf, _hash(secret))

    def resolve(self, secret: str, *, now: datetime | None = None) -> Session | None:
        """The live session with this secret, or None (an ended one is removed)."""
        digest = _hash(secret)
        row = self.db.query_one(
            "SELECT id_hash, user_id, csrf, created_at, last_seen_at FROM sessions"
            " WHERE id_hash = ?",
            (digest,),
        )
        if row is None or not hmac.compare_digest(row["id_hash"], digest):
            return None
        now = now or datetime.now(timezone.utc)
        if now - _parse(row["last_seen_at"]) > IDLE or now - _parse(row["created_at"]) > LIFETIME:
            self.end(secret)
            return None
        if now - _parse(row["last_seen_at"]) >= TOUCH_EVERY:
            with self.db.transaction() as tx:
                tx.execute(
                    "UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?", (_stamp(now), digest)
                )
        return Session(self.users.get(row["user_id"]), row["csrf"], digest)

    def end(self, secret: str) -> None:
        with self.db.transaction() as tx:
            tx.execute("DELETE FROM sessions WHERE id_hash = ?", (_hash(secret),))
