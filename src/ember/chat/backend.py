"""The chat-level backend contract: where an answer is computed.

The answering path (:mod:`ember.chat.answering`) talks to a :class:`ChatBackend` only.
Two kinds implement it: the local llama.cpp service over the engine pool
(:class:`ember.chat.service.ChatService`) and any OpenAI-compatible server
(:class:`ember.chat.remote.OpenAICompatBackend`: another Ember, llama-server, vLLM,
Ollama, a cloud). :class:`ember.chat.backends.Backends` sends each request to the one
its model name names.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from ember.chat.types import ChatDone, ChatEvent, ChatRequest
from ember.errors import EmberError


class ChatBackend(Protocol):
    def stream(self, request: ChatRequest) -> AsyncIterator[ChatEvent]:
        """Deltas as the answer is generated, then one :class:`ChatDone`. Errors before
        the first event raise (the caller turns them into an HTTP status); a failure
        after text has streamed ends with ``finish_reason="error"``."""
        ...

    async def context_length(self, model: str, num_ctx: int | None = None) -> int:
        """Tokens one request may use with ``model``."""
        ...


async def complete(backend: ChatBackend, request: ChatRequest) -> ChatDone:
    """The whole answer at once (non-streaming callers). The stream is read to its end,
    not left at its last event: a stream left open is closed later by the garbage
    collector, which may close the engine's context before the stream that holds it
    (measured: "generator didn't stop after athrow()" under load, from titles)."""
    done: ChatDone | None = None
    async for event in backend.stream(request):
        if isinstance(event, ChatDone):
            done = event
    if done is None:
        raise EmberError("the generation ended without a result")
    return done
