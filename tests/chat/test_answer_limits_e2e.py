"""Ember's own chat ends an answer that loops, keeps one copy of the loop, and says why
(real SmolLM2, real chat service, real conversation store)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

from ember.chat.answering import Answerer
from ember.chat.assistant import ReplyDelta, ReplyDone, ReplyEvent
from ember.chat.conversations import ConversationStore
from ember.chat.service import ChatService
from ember.chat.types import ChatEvent, ChatRequest
from ember.engine.repetition import MIN_SPAN
from ember.runtime import Runtime, make_assistant
from tests.chat.conftest import small_chat

# Nothing but the same words: any model loops under this grammar.
LOOP = 'root ::= "Sure. " ("la la land. ")+'


class Looping:
    """The real chat service, with the loop grammar added to every request."""

    def __init__(self, service: ChatService) -> None:
        self.service = service
        self.asked: list[ChatRequest] = []

    def stream(self, request: ChatRequest) -> AsyncIterator[ChatEvent]:
        self.asked.append(request)
        sampling = replace(request.sampling, grammar=LOOP, temperature=0)
        return self.service.stream(replace(request, sampling=sampling))

    async def context_length(self, model: str, num_ctx: int | None = None) -> int:
        return await self.service.context_length(model, num_ctx)


def test_a_looping_answer_is_stopped_with_the_reason_kept(
    runtime: Runtime, smollm2_path: Path
) -> None:
    store = ConversationStore(runtime.db)
    assistant = make_assistant(runtime, store)
    with small_chat(smollm2_path, n_ctx=2048, n_slots=1) as service:
        backend = Looping(service)
        assistant.answerer = Answerer(backend)  # type: ignore[arg-type]
        conversation = store.create(title="Song", settings={"tools": False, "max_tokens": 1500})

        async def ask() -> list[ReplyEvent]:
            events = assistant.send(conversation.id, "Sing me a song.")
            return [e async for e in events]

        events = asyncio.run(ask())
    assert backend.asked[0].stop_repeating  # Ember's own chat asks for the guard
    streamed = "".join(e.content for e in events if isinstance(e, ReplyDelta))
    done = events[-1]
    assert isinstance(done, ReplyDone)
    answer = done.message
    assert answer.meta["finish_reason"] == "repetition"
    assert MIN_SPAN <= answer.meta["completion_tokens"] < 300  # not the 1500 allowed
    assert streamed.count("la la land.") >= 5
    assert answer.content.strip() == "Sure. la la land."
    assert store.message(answer.id).content == answer.content
