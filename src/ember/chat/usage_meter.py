"""Counting each user's tokens: a backend wrapper that tells ``record`` the usage of
every answer step (a tool loop's steps, a follow-up's rewrite) made for a user
(``request.egress.user_id``); requests of no user (accounts off) are not counted."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable

from ember.chat.backend import ChatBackend
from ember.chat.types import ChatDone, ChatEvent, ChatRequest

log = logging.getLogger(__name__)
Record = Callable[[str, int, int], None]  # user id, prompt tokens, completion tokens


class MeteredBackend:
    def __init__(self, inner: ChatBackend, record: Record) -> None:
        self.inner = inner
        self._record = record

    async def context_length(self, model: str, num_ctx: int | None = None) -> int:
        return await self.inner.context_length(model, num_ctx)

    async def stream(self, request: ChatRequest) -> AsyncIterator[ChatEvent]:
        user_id = request.egress.user_id
        async for event in self.inner.stream(request):
            if user_id is not None and isinstance(event, ChatDone):
                try:
                    self._record(user_id, event.usage.prompt_tokens, event.usage.completion_tokens)
                except Exception:  # an answer is not lost for its count
                    log.exception("could not record the usage of user %s", user_id)
            yield event
