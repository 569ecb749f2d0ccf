"""Accounts: users with a name, an argon2id password hash and a role.

The first user is an admin. Admins manage accounts; they do not read other users'
chats (no endpoint gives anyone another user's objects). Adding the first user turns
accounts on: from then on every request to the server needs a session or a key that
belongs to a user, and what was made before accounts (conversations, API keys) is
adopted by that first admin, so nothing is lost or left without an owner.
"""

from __future__ import annotations

import re
import secrets
import sqlite3
from dataclasses import dataclass
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ember.auth.collections import adopt_sql
from ember.auth.keys import CLOUD_POLICIES
from ember.errors import EmberError
from ember.storage import Database

Role = Literal["admin", "user"]
ROLES: tuple[Role, ...] = ("admin", "user")
MIN_PASSWORD = 8
_HASHER = PasswordHasher()  # argon2id with the library's recommended parameters
# Verified against when the name is unknown, so both cases take the same time.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


class UserError(EmberError):
    status = 400
    code = "invalid_user"


class UserNotFoundError(EmberError):
    status = 404
    code = "user_not_found"


@dataclass(frozen=True)
class User:
    id: str
    name: str
    role: Role
    created_at: str
    # Their own limits (None: the settings' rate_limit_per_minute / daily_token_quota).
    rate_limit_per_minute: int | None = None
    daily_token_quota: int | None = None
    # The most the account may send to the cloud (None: the cloud_policy setting); its
    # conversations and keys can be stricter, never looser.
    cloud_policy: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "role": self.role, "created_at": self.created_at}


_COLUMNS = "id, name, role, created_at, rate_limit_per_minute, daily_token_quota, cloud_policy"


def _user(row: sqlite3.Row) -> User:
    role: Role = "admin" if row["role"] == "admin" else "user"
    return User(
        row["id"],
        row["name"],
        role,
        row["created_at"],
        row["rate_limit_per_minute"],
        row["daily_token_quota"],
        row["cloud_policy"],
    )


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"a password needs at least {MIN_PASSWORD} characters")


class UserStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def any(self) -> bool:
        """Whether accounts are on (at least one user exists)."""
        return self.db.query_one("SELECT 1 FROM users LIMIT 1") is not None

    def add(self, name: str, password: str, *, role: Role | None = None) -> User:
        """A new user; the first one is an admin whatever ``role`` says, and adopts what
        was made before accounts existed."""
        name = name.strip()
        if not re.fullmatch(r"[A-Za-z0-9_.@-]{1,64}", name):
            raise UserError("a user name is 1-64 letters, digits, _ . @ or -")
        check_password(password)
        if role is not None and role not in ROLES:
            raise UserError(f"a role is one of {', '.join(ROLES)}")
        if self.find(name) is not None:
            raise UserError(f"a user named {name} exists")
        first = not self.any()
        user_id = secrets.token_hex(8)
        with self.db.transaction() as tx:
            tx.execute(
                "INSERT INTO users (id, name, password_hash, role) VALUES (?, ?, ?, ?)",
                (user_id, name, _HASHER.hash(password), "admin" if first else role or "user"),
            )
            if first:
                tx.execute("UPDATE conversations SET user_id = ? WHERE user_id IS NULL", (user_id,))
                tx.execute("UPDATE api_keys SET user_id = ? WHERE user_id IS NULL", (user_id,))
                tx.execute(*adopt_sql(user_id))  # the document collections
        return self.get(user_id)

    def get(self, user_id: str) -> User:
        row = self.db.query_one(f"SELECT {_COLUMNS} FROM users WHERE id = ?", (user_id,))
        if row is None:
            raise UserNotFoundError(f"no user with id {user_id}")
        return _user(row)

    def find(self, name: str) -> User | None:
        row = self.db.query_one(f"SELECT {_COLUMNS} FROM users WHERE name = ?", (name.strip(),))
        return _user(row) if row is not None else None

    def named(self, name: str) -> User:
        user = self.find(name)
        if user is None:
            raise UserNotFoundError(
                f"no user named {name}", hint="`ember users list` shows the accounts"
            )
        return user

    def list(self) -> list[User]:
        rows = self.db.query(f"SELECT {_COLUMNS} FROM users ORDER BY created_at")
        return [_user(r) for r in rows]

    def authenticate(self, name: str, password: str) -> User | None:
        """The user with this name and password, or None (in about the same time)."""
        row = self.db.query_one(
            f"SELECT {_COLUMNS}, password_hash FROM users WHERE name = ?",
            (name.strip(),),
        )
        stored = row["password_hash"] if row is not None else _DUMMY_HASH
        try:
            _HASHER.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None:
            return None
        if _HASHER.check_needs_rehash(stored):
            self._set_hash(row["id"], password)
        return _user(row)

    def set_password(self, name: str, password: str) -> User:
        """A new password; every session of the user ends."""
        check_password(password)
        user = self.named(name)
        self._set_hash(user.id, password)
        with self.db.transaction() as tx:
            tx.execute("DELETE FROM sessions WHERE user_id = ?", (user.id,))
        return user

    def _set_hash(self, user_id: str, password: str) -> None:
        with self.db.transaction() as tx:
            tx.execute(
                "UPDATE users SET password_hash = ? WHERE id = ?",
                (_HASHER.hash(password), user_id),
            )

    def set_role(self, name: str, role: Role) -> User:
        user = self.named(name)
        if role not in ROLES:
            raise UserError(f"a role is one of {', '.join(ROLES)}")
        if user.is_admin and role != "admin" and self._admins() == 1:
            raise UserError("the last admin cannot stop being one")
        with self.db.transaction() as tx:
            tx.execute("UPDATE users SET role = ? WHERE id = ?", (role, user.id))
        return self.get(user.id)

    def set_limits(self, name: str, *, per_minute: int | None, tokens_per_day: int | None) -> User:
        """The user's own limits (None: the settings'; 0: none)."""
        if any(v is not None and v < 0 for v in (per_minute, tokens_per_day)):
            raise UserError("a limit is a number >= 0 (0: no limit)")
        user = self.named(name)
        with self.db.transaction() as tx:
            tx.execute(
                "UPDATE users SET rate_limit_per_minute = ?, daily_token_quota = ? WHERE id = ?",
                (per_minute, tokens_per_day, user.id),
            )
        return self.get(user.id)

    def check_removable(self, user: User) -> None:
        if user.is_admin and self._admins() == 1:
            raise UserError("the last admin cannot be removed")

    def set_cloud_policy(self, name: str, policy: str | None) -> User:
        """The most the user may send to the cloud: local-only, ask or auto (None: the
        cloud_policy setting)."""
        if policy is not None and policy not in CLOUD_POLICIES:
            raise UserError(f"a cloud policy is one of {', '.join(CLOUD_POLICIES)}")
        user = self.named(name)
        with self.db.transaction() as tx:
            tx.execute("UPDATE users SET cloud_policy = ? WHERE id = ?", (policy, user.id))
        return self.get(user.id)

    def cloud_policy_of(self, user_id: str) -> str | None:
        """The account's own cloud policy (None: the setting's, or no such user)."""
        row = self.db.query_one("SELECT cloud_policy FROM users WHERE id = ?", (user_id,))
        return str(row["cloud_policy"]) if row is not None and row["cloud_policy"] else None

    def remove(self, name: str) -> User:
        """Remove a user with their sessions, keys and conversations (their document
        collections are the library's: ``Runtime.remove_user`` removes those too)."""
        user = self.named(name)
        self.check_removable(user)
        with self.db.transaction() as tx:
            tx.execute("DELETE FROM sessions WHERE user_id = ?", (user.id,))
            tx.execute("DELETE FROM api_keys WHERE user_id = ?", (user.id,))
            tx.execute("DELETE FROM conversations WHERE user_id = ?", (user.id,))
            tx.execute("DELETE FROM users WHERE id = ?", (user.id,))
        return user

    def _admins(self) -> int:
        row = self.db.query_one("SELECT COUNT(*) AS n FROM users WHERE role = 'admin'")
        return int(row["n"]) if row is not None else 0
