"""Overflow policy with a real engine and a small context: Ember's chat trims the oldest
turns and says so; the APIs (trim off) refuse with the numbers."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from ember.chat.backend import complete
from ember.chat.service import ChatService
from ember.chat.types import ChatDone, ChatRequest, Message
from ember.engine.base import SamplingParams
from ember.engine.llamacpp.engine import ContextLengthExceededError
from tests.chat.conftest import small_chat


@pytest.fixture(scope="module")
def chat(smollm2_path: Path) -> Iterator[ChatService]:
    with small_chat(smollm2_path, n_ctx=512, n_slots=1) as service:
        yield service


def long_history() -> tuple[Message, ...]:
    turns: list[Message] = [Message(role="system", content="You are terse.")]
    for i in range(12):
        turns.append(Message(role="user", content=f"Tell me fact number {i} about the sea. " * 4))
        turns.append(Message(role="assistant", content=f"Fact {i}: the sea is salty. " * 4))
    turns.append(Message(role="user", content="What is the capital of France?"))
    return tuple(turns)


def test_chat_trims_oldest_turns_and_reports_it(chat: ChatService) -> None:
    request = ChatRequest(
        model="smollm2",
        messages=long_history(),
        sampling=SamplingParams(temperature=0),
        max_tokens=16,
        trim_to_fit=True,
    )
    done = asyncio.run(complete(chat, request))
    assert isinstance(done, ChatDone)
    assert done.finish_reason in ("stop", "length")
    assert done.trimmed > 0
    assert done.trimmed % 2 == 0  # whole turns: a question with its answer
    assert done.usage.prompt_tokens <= 512 - 16
    assert done.content


def test_api_requests_are_refused_with_the_numbers(chat: ChatService) -> None:
    request = ChatRequest(model="smollm2", messages=long_history(), max_tokens=16)
    with pytest.raises(ContextLengthExceededError, match=r"context of 512 tokens"):
        asyncio.run(complete(chat, request))
