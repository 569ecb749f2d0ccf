"""Per-user limits on a team server: answers per minute and tokens per day.

Each limit is the user's own (``ember users limits``) or else the setting's
(``rate_limit_per_minute``, ``daily_token_quota``); 0 means none. A request over a limit
is refused before it runs, with 429 and ``Retry-After``: when the oldest answer of the
last minute leaves the window, or at the next UTC midnight for the day's tokens. Tokens
are counted after each answer (prompt and completion, every step of a tool loop), so the
answer that crosses the quota finishes; the next one is refused.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from ember.auth.users import User
from ember.errors import EmberError
from ember.storage import Database

WINDOW_S = 60.0


class RateLimitedError(EmberError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after_s: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.retry_after_s = retry_after_s


class QuotaExceededError(RateLimitedError):
    code = "quota_exceeded"


def _today(now: datetime) -> str:
    return now.strftime("%Y-%m-%d")


class UsageLedger:
    """The tokens each user used per UTC day (table ``user_usage``)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, user_id: str, prompt_tokens: int, completion_tokens: int) -> None:
        day = _today(datetime.now(timezone.utc))
        with self.db.transaction() as tx:
            tx.execute(
                "INSERT INTO user_usage (user_id, day, prompt_tokens, completion_tokens)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (user_id, day) DO UPDATE SET"
                " prompt_tokens = prompt_tokens + excluded.prompt_tokens,"
                " completion_tokens = completion_tokens + excluded.completion_tokens",
                (user_id, day, prompt_tokens, completion_tokens),
            )

    def used_today(self, user_id: str, now: datetime | None = None) -> int:
        day = _today(now or datetime.now(timezone.utc))
        row = self.db.query_one(
            "SELECT prompt_tokens + completion_tokens AS n FROM user_usage"
            " WHERE user_id = ? AND day = ?",
            (user_id, day),
        )
        return int(row["n"]) if row is not None else 0


class UserLimits:
    def __init__(
        self,
        ledger: UsageLedger,
        *,
        per_minute: int = 0,
        tokens_per_day: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ledger = ledger
        self.per_minute = per_minute
        self.tokens_per_day = tokens_per_day
        self._clock = clock
        self._recent: dict[str, deque[float]] = {}

    def admit(self, user: User, now: datetime | None = None) -> None:
        """Count one answer for ``user``, or raise :class:`RateLimitedError` /
        :class:`QuotaExceededError` when a limit is reached."""
        quota = (
            user.daily_token_quota if user.daily_token_quota is not None else self.tokens_per_day
        )
        if quota:
            now = now or datetime.now(timezone.utc)
            used = self.ledger.used_today(user.id, now)
            if used >= quota:
                midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0)
                raise QuotaExceededError(
                    f"{user.name} used {used} of {quota} tokens today",
                    retry_after_s=max(1, int((midnight - now).total_seconds())),
                    hint="the quota starts again at midnight UTC; an admin can raise it "
                    "(ember users limits NAME --tokens-per-day N)",
                )
        limit = (
            user.rate_limit_per_minute
            if user.rate_limit_per_minute is not None
            else self.per_minute
        )
        if not limit:
            return
        tick = self._clock()
        recent = self._recent.setdefault(user.id, deque())
        while recent and tick - recent[0] >= WINDOW_S:
            recent.popleft()
        if len(recent) >= limit:
            raise RateLimitedError(
                f"{user.name} asked {len(recent)} times in the last minute (the limit is {limit})",
                retry_after_s=max(1, int(recent[0] + WINDOW_S - tick + 0.999)),
                hint="wait a moment; an admin can raise it "
                "(ember users limits NAME --per-minute N)",
            )
        recent.append(tick)
