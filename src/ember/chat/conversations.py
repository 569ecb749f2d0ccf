"""Conversations in SQLite: trees of messages, so nothing the user typed or saw is lost.

A conversation's messages form a tree through ``parent_id``: editing a message adds a
sibling with the same parent, regenerating an answer adds a sibling answer, and the
earlier branch stays. ``leaf_id`` is the tip of the branch being shown; the branch is
the path from the root to it.

An answer being generated is a row with status ``streaming`` whose text is written as
it grows; if the process dies, :meth:`ConversationStore.recover_interrupted` marks it
``incomplete`` on the next start, with the text it had.
"""

from __future__ import annotations

import json
import re
import sqlite3
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from ember.errors import EmberError
from ember.storage import Database

MessageStatus = Literal["complete", "streaming", "incomplete", "error"]
ROLES = ("system", "user", "assistant", "tool")


class ConversationNotFoundError(EmberError):
    status = 404
    code = "conversation_not_found"


class MessageNotFoundError(EmberError):
    status = 404
    code = "message_not_found"


@dataclass(frozen=True)
class Conversation:
    id: str
    title: str
    model: str | None
    system: str | None
    settings: dict[str, Any]
    leaf_id: str | None
    created_at: str
    updated_at: str
    user_id: str | None = None  # its owner (None: accounts are off)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "model": self.model,
            "system": self.system,
            "settings": self.settings,
            "leaf_id": self.leaf_id,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


@dataclass(frozen=True)
class StoredMessage:
    id: str
    conversation_id: str
    parent_id: str | None
    role: str
    content: str
    status: MessageStatus
    model: str | None
    meta: dict[str, Any]
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "conversation_id": self.conversation_id,
            "parent_id": self.parent_id,
            "role": self.role,
            "content": self.content,
            "status": self.status,
            "model": self.model,
            "meta": self.meta,
            "created_at": self.created_at,
        }


@dataclass(frozen=True)
class SearchHit:
    conversation: Conversation
    message_id: str | None
    snippet: str


_UNSET: Any = object()


def new_id() -> str:
    return uuid.uuid4().hex


class ConversationStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # ------------------------------------------------------------- conversations

    def create(
        self,
        *,
        title: str = "",
        model: str | None = None,
        system: str | None = None,
        settings: dict[str, Any] | None = None,
        user_id: str | None = None,
    ) -> Conversation:
        """A new conversation; ``user_id``: its owner (with accounts on)."""
        cid = new_id()
        with self.db.transaction() as tx:
            tx.execute(
                "INSERT INTO conversations (id, title, model, system, settings, user_id) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (cid, title, model, system, json.dumps(settings or {}), user_id),
            )
        return self.get(cid)

    def get(self, conversation_id: str) -> Conversation:
        row = self.db.query_one("SELECT * FROM conversations WHERE id = ?", (conversation_id,))
        if row is None:
            raise ConversationNotFoundError(f"no conversation {conversation_id!r}")
        return _conversation(row)

    def all(self, limit: int = 500, *, user_id: str | None = None) -> list[Conversation]:
        """The newest conversations (``user_id``: only that user's)."""
        mine, params = _owned_by(user_id)
        rows = self.db.query(
            f"SELECT * FROM conversations WHERE {mine} "
            "ORDER BY updated_at DESC, rowid DESC LIMIT ?",
            (*params, limit),
        )
        return [_conversation(r) for r in rows]

    def update(
        self,
        conversation_id: str,
        *,
        title: str = _UNSET,
        model: str | None = _UNSET,
        system: str | None = _UNSET,
        settings: dict[str, Any] = _UNSET,
    ) -> Conversation:
        """Change the given fields only."""
        self.get(conversation_id)
        fields: dict[str, Any] = {}
        if title is not _UNSET:
            fields["title"] = title
        if model is not _UNSET:
            fields["model"] = model
        if system is not _UNSET:
            fields["system"] = system
        if settings is not _UNSET:
            fields["settings"] = json.dumps(settings)
        self._set("conversations", conversation_id, fields)
        return self.get(conversation_id)

    def _set(self, table: str, row_id: str, fields: dict[str, Any]) -> None:
        """Write ``fields`` (column -> value) of one row and stamp ``updated_at``."""
        if not fields:
            return
        assignments = ", ".join(f"{name} = ?" for name in fields)
        with self.db.transaction() as tx:
            tx.execute(
                f"UPDATE {table} SET {assignments}, updated_at = {_NOW} WHERE id = ?",
                (*fields.values(), row_id),
            )

    def delete(self, conversation_id: str) -> None:
        self.get(conversation_id)
        with self.db.transaction() as tx:
            tx.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))

    # ------------------------------------------------------------------ messages

    def add_message(
        self,
        conversation_id: str,
        *,
        role: str,
        content: str,
        parent_id: str | None,
        status: MessageStatus = "complete",
        model: str | None = None,
        meta: dict[str, Any] | None = None,
    ) -> StoredMessage:
        """Append a message under ``parent_id`` and make it the shown branch's tip."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        self.get(conversation_id)
        if parent_id is not None:
            self._owned(conversation_id, parent_id)
        mid = new_id()
        with self.db.transaction() as tx:
            tx.execute(
                "INSERT INTO messages (id, conversation_id, parent_id, role, content, status, "
                "model, meta) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    mid,
                    conversation_id,
                    parent_id,
                    role,
                    content,
                    status,
                    model,
                    json.dumps(meta or {}),
                ),
            )
            tx.execute(
                f"UPDATE conversations SET leaf_id = ?, updated_at = {_NOW} WHERE id = ?",
                (mid, conversation_id),
            )
        return self.message(mid)

    def update_message(
        self,
        message_id: str,
        *,
        content: str | None = None,
        status: MessageStatus | None = None,
        meta: dict[str, Any] | None = None,
    ) -> None:
        fields: dict[str, Any] = {}
        if content is not None:
            fields["content"] = content
        if status is not None:
            fields["status"] = status
        if meta is not None:
            fields["meta"] = json.dumps(meta)
        self._set("messages", message_id, fields)

    def message(self, message_id: str) -> StoredMessage:
        row = self.db.query_one("SELECT * FROM messages WHERE id = ?", (message_id,))
        if row is None:
            raise MessageNotFoundError(f"no message {message_id!r}")
        return _message(row)

    def _owned(self, conversation_id: str, message_id: str) -> StoredMessage:
        message = self.message(message_id)
        if message.conversation_id != conversation_id:
            raise MessageNotFoundError(
                f"message {message_id!r} is not in conversation {conversation_id!r}"
            )
        return message

    def path(self, conversation_id: str, leaf_id: str | None = _UNSET) -> list[StoredMessage]:
        """The branch from the first message to ``leaf_id`` (default: the shown tip)."""
        if leaf_id is _UNSET:
            leaf_id = self.get(conversation_id).leaf_id
        if leaf_id is None:
            return []
        rows = self.db.query(
            """
            WITH RECURSIVE branch(id, parent_id, depth) AS (
                SELECT id, parent_id, 0 FROM messages WHERE id = ? AND conversation_id = ?
                UNION ALL
                SELECT m.id, m.parent_id, b.depth + 1
                FROM messages m JOIN branch b ON m.id = b.parent_id
            )
            SELECT messages.* FROM branch JOIN messages ON messages.id = branch.id
            ORDER BY branch.depth DESC
            """,
            (leaf_id, conversation_id),
        )
        return [_message(r) for r in rows]

    def siblings(self, message: StoredMessage) -> list[str]:
        """Ids of the alternatives to ``message`` (itself included), oldest first."""
        if message.parent_id is None:
            rows = self.db.query(
                "SELECT id FROM messages WHERE conversation_id = ? AND parent_id IS NULL "
                "ORDER BY created_at, rowid",
                (message.conversation_id,),
            )
        else:
            rows = self.db.query(
                "SELECT id FROM messages WHERE parent_id = ? ORDER BY created_at, rowid",
                (message.parent_id,),
            )
        return [r["id"] for r in rows]

    def show_branch(self, conversation_id: str, message_id: str) -> Conversation:
        """Show the branch through ``message_id``, down its most recent replies."""
        self._owned(conversation_id, message_id)
        tip = message_id
        while True:
            row = self.db.query_one(
                "SELECT id FROM messages WHERE parent_id = ? "
                "ORDER BY created_at DESC, rowid DESC LIMIT 1",
                (tip,),
            )
            if row is None:
                break
            tip = row["id"]
        with self.db.transaction() as tx:
            tx.execute("UPDATE conversations SET leaf_id = ? WHERE id = ?", (tip, conversation_id))
        return self.get(conversation_id)

    def recover_interrupted(self) -> int:
        """Answers left ``streaming`` by a process that died: keep their text, mark them."""
        with self.db.transaction() as tx:
            cursor = tx.execute(
                f"UPDATE messages SET status = 'incomplete', updated_at = {_NOW} "
                "WHERE status = 'streaming'"
            )
            return cursor.rowcount

    # -------------------------------------------------------------------- search

    def search(self, text: str, limit: int = 50, *, user_id: str | None = None) -> list[SearchHit]:
        """Conversations whose title or any message matches every word of ``text``
        (``user_id``: only that user's)."""
        words = re.findall(r"\w+", text)
        if not words:
            return []
        query = " ".join('"' + w.replace('"', '""') + '"' for w in words)
        hits: list[SearchHit] = []
        seen: set[str] = set()
        like = "%" + "%".join(words) + "%"
        mine, params = _owned_by(user_id)
        for row in self.db.query(
            f"SELECT * FROM conversations WHERE title LIKE ? AND {mine} "
            "ORDER BY updated_at DESC LIMIT ?",
            (like, *params, limit),
        ):
            conversation = _conversation(row)
            seen.add(conversation.id)
            hits.append(SearchHit(conversation, None, conversation.title))
        try:
            rows = self.db.query(
                """
                SELECT m.id AS message_id, m.conversation_id AS cid,
                       snippet(messages_fts, 0, '[', ']', '…', 12) AS snippet
                FROM messages_fts JOIN messages m ON m.rowid = messages_fts.rowid
                WHERE messages_fts MATCH ? ORDER BY rank LIMIT ?
                """,
                (query, limit * 4),
            )
        except sqlite3.OperationalError:
            rows = []
        for row in rows:
            if row["cid"] in seen:
                continue
            seen.add(row["cid"])
            conversation = self.get(row["cid"])
            if user_id is None or conversation.user_id == user_id:
                hits.append(SearchHit(conversation, row["message_id"], row["snippet"]))
        return hits[:limit]


_NOW = "strftime('%Y-%m-%dT%H:%M:%fZ','now')"


def _owned_by(user_id: str | None) -> tuple[str, tuple[str, ...]]:
    """A WHERE condition for one user's rows (every row when ``user_id`` is None)."""
    return ("user_id = ?", (user_id,)) if user_id is not None else ("1", ())


def _conversation(row: sqlite3.Row) -> Conversation:
    return Conversation(
        id=row["id"],
        title=row["title"],
        model=row["model"],
        system=row["system"],
        settings=json.loads(row["settings"] or "{}"),
        leaf_id=row["leaf_id"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        user_id=row["user_id"],
    )


def _message(row: sqlite3.Row) -> StoredMessage:
    return StoredMessage(
        id=row["id"],
        conversation_id=row["conversation_id"],
        parent_id=row["parent_id"],
        role=row["role"],
        content=row["content"],
        status=row["status"],
        model=row["model"],
        meta=json.loads(row["meta"] or "{}"),
        created_at=row["created_at"],
    )
