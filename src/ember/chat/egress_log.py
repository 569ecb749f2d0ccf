"""The egress log: every request that went to a cloud provider, or was stopped before.

Written by the cloud gate (:mod:`ember.chat.cloud_gate`), read by ``ember cloud log``
and the page. It holds when, which provider and model, which conversation or key, why,
tokens and cost, and the kinds and counts of what the privacy guard redacted or blocked:
never a value, never the prompt. ``body_sha256`` identifies the exact body that left.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ember.storage import Database

EgressStatus = Literal["sent", "blocked", "error", "incomplete"]


@dataclass(frozen=True)
class EgressEntry:
    provider: str
    model: str
    policy: str
    reason: str
    status: EgressStatus
    conversation_id: str | None = None
    key_id: str | None = None
    user_id: str | None = None  # with accounts: whose request it was
    redacted: Mapping[str, int] = field(default_factory=dict)
    blocked: Mapping[str, int] = field(default_factory=dict)
    sent_bytes: int = 0
    body_sha256: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    error: str | None = None
    id: int = 0
    at: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at,
            "provider": self.provider,
            "model": self.model,
            "conversation_id": self.conversation_id,
            "key_id": self.key_id,
            "policy": self.policy,
            "reason": self.reason,
            "status": self.status,
            "redacted": dict(self.redacted),
            "blocked": dict(self.blocked),
            "sent_bytes": self.sent_bytes,
            "body_sha256": self.body_sha256,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost": self.cost,
            "error": self.error,
        }


_COLUMNS = (
    "provider, model, conversation_id, key_id, user_id, policy, reason, status, redacted, "
    "blocked, sent_bytes, body_sha256, prompt_tokens, completion_tokens, cost, error"
)


class EgressLog:
    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, entry: EgressEntry) -> int:
        with self.db.transaction() as conn:
            cursor = conn.execute(
                f"INSERT INTO cloud_egress ({_COLUMNS}) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    entry.provider,
                    entry.model,
                    entry.conversation_id,
                    entry.key_id,
                    entry.user_id,
                    entry.policy,
                    entry.reason,
                    entry.status,
                    json.dumps(dict(entry.redacted), sort_keys=True),
                    json.dumps(dict(entry.blocked), sort_keys=True),
                    entry.sent_bytes,
                    entry.body_sha256,
                    entry.prompt_tokens,
                    entry.completion_tokens,
                    entry.cost,
                    entry.error,
                ),
            )
            return int(cursor.lastrowid or 0)

    def finish(
        self,
        entry_id: int,
        *,
        status: EgressStatus,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        cost: float = 0.0,
        error: str | None = None,
    ) -> None:
        """What came back: tokens, cost, and whether the answer ended well."""
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE cloud_egress SET status = ?, prompt_tokens = ?, completion_tokens = ?,"
                " cost = ?, error = ? WHERE id = ?",
                (status, prompt_tokens, completion_tokens, cost, error, entry_id),
            )

    def entries(
        self, *, limit: int = 100, provider: str | None = None, user_id: str | None = None
    ) -> list[EgressEntry]:
        """The newest entries first (``user_id``: only that user's requests, from the
        page or by their API keys; kept when the conversation is deleted)."""
        conditions: list[str] = []
        params: tuple[str, ...] = ()
        if provider:
            conditions.append("provider = ?")
            params += (provider,)
        if user_id is not None:
            conditions.append("user_id = ?")
            params += (user_id,)
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        rows = self.db.query(
            f"SELECT id, at, {_COLUMNS} FROM cloud_egress {where} ORDER BY id DESC LIMIT ?",
            (*params, limit),
        )
        return [
            EgressEntry(
                id=r["id"],
                at=r["at"],
                provider=r["provider"],
                model=r["model"],
                conversation_id=r["conversation_id"],
                key_id=r["key_id"],
                user_id=r["user_id"],
                policy=r["policy"],
                reason=r["reason"],
                status=r["status"],
                redacted=json.loads(r["redacted"]),
                blocked=json.loads(r["blocked"]),
                sent_bytes=r["sent_bytes"],
                body_sha256=r["body_sha256"],
                prompt_tokens=r["prompt_tokens"],
                completion_tokens=r["completion_tokens"],
                cost=r["cost"],
                error=r["error"],
            )
            for r in rows
        ]

    def totals(self) -> dict[str, dict[str, float]]:
        """Per provider: requests, tokens in and out, cost (what ``ember cloud list`` shows)."""
        rows = self.db.query(
            "SELECT provider, COUNT(*) AS n, SUM(prompt_tokens) AS tin,"
            " SUM(completion_tokens) AS tout, SUM(cost) AS cost FROM cloud_egress"
            " WHERE status != 'blocked' GROUP BY provider"
        )
        return {
            r["provider"]: {
                "requests": r["n"],
                "prompt_tokens": r["tin"] or 0,
                "completion_tokens": r["tout"] or 0,
                "cost": r["cost"] or 0.0,
            }
            for r in rows
        }
