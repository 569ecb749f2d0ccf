"""The conversation store (real SQLite) and the context-window trimming (pure)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from ember.chat.context_window import answer_reserve, trim_to_fit
from ember.chat.conversations import (
    ConversationNotFoundError,
    ConversationStore,
    MessageNotFoundError,
)
from ember.chat.types import Message
from ember.runtime import Runtime


@pytest.fixture
def store(runtime: Runtime) -> ConversationStore:
    return ConversationStore(runtime.db)


def test_messages_form_branches_and_the_shown_path_follows_the_tip(
    store: ConversationStore,
) -> None:
    conv = store.create(title="t", system="Be brief.", settings={"temperature": 0})
    q1 = store.add_message(conv.id, role="user", content="first?", parent_id=None)
    a1 = store.add_message(conv.id, role="assistant", content="one", parent_id=q1.id)
    q2 = store.add_message(conv.id, role="user", content="second?", parent_id=a1.id)
    a2 = store.add_message(conv.id, role="assistant", content="two", parent_id=q2.id)
    assert [m.id for m in store.path(conv.id)] == [q1.id, a1.id, q2.id, a2.id]
    # an edit of q2 is a sibling; the shown branch moves to it, the old one stays
    q2b = store.add_message(conv.id, role="user", content="second, edited?", parent_id=a1.id)
    assert [m.content for m in store.path(conv.id)] == ["first?", "one", "second, edited?"]
    assert store.siblings(q2b) == [q2.id, q2b.id]
    store.show_branch(conv.id, q2.id)  # back to the first version, down to its answer
    assert [m.id for m in store.path(conv.id)] == [q1.id, a1.id, q2.id, a2.id]
    assert store.get(conv.id).settings == {"temperature": 0}


def test_interrupted_answers_are_kept_and_marked(store: ConversationStore) -> None:
    conv = store.create()
    q = store.add_message(conv.id, role="user", content="hi", parent_id=None)
    a = store.add_message(conv.id, role="assistant", content="", parent_id=q.id, status="streaming")
    store.update_message(a.id, content="Hello, th")
    assert store.recover_interrupted() == 1
    again = store.message(a.id)
    assert again.status == "incomplete"
    assert again.content == "Hello, th"
    assert store.recover_interrupted() == 0


def test_search_finds_titles_and_message_text(store: ConversationStore) -> None:
    paris = store.create(title="Trip planning")
    store.add_message(
        paris.id, role="user", content="What to see in Paris in spring?", parent_id=None
    )
    other = store.create(title="Cooking")
    store.add_message(other.id, role="user", content="A recipe for risotto", parent_id=None)
    hits = store.search("paris")
    assert [h.conversation.id for h in hits] == [paris.id]
    assert "[Paris]" in hits[0].snippet
    assert [h.conversation.id for h in store.search("cooking")] == [other.id]
    assert store.search('"unbalanced AND (') == []  # user text never breaks FTS syntax
    assert store.search("   ") == []


def test_update_delete_and_missing(store: ConversationStore) -> None:
    conv = store.create()
    updated = store.update(conv.id, title="Named", model="smollm2:135m", system=None)
    assert (updated.title, updated.model) == ("Named", "smollm2:135m")
    assert [c.id for c in store.all()] == [conv.id]
    q = store.add_message(conv.id, role="user", content="x", parent_id=None)
    store.delete(conv.id)
    with pytest.raises(ConversationNotFoundError):
        store.get(conv.id)
    with pytest.raises(MessageNotFoundError):
        store.message(q.id)  # messages go with their conversation
    other = store.create()
    with pytest.raises(MessageNotFoundError):
        store.add_message(other.id, role="user", content="x", parent_id="nope")


def count_words(messages: Sequence[Message]) -> int:
    return sum(len(m.content.split()) + 1 for m in messages)


def test_trim_drops_oldest_turns_keeps_system_and_newest() -> None:
    history = [
        Message(role="system", content="rules"),
        Message(role="user", content="old question " * 5),
        Message(role="assistant", content="old answer " * 5),
        Message(role="user", content="middle question"),
        Message(role="assistant", content="middle answer"),
        Message(role="user", content="newest question"),
    ]
    kept, dropped = trim_to_fit(history, count_words, budget=12)
    assert dropped == 2
    assert [m.content for m in kept] == [
        "rules",
        "middle question",
        "middle answer",
        "newest question",
    ]
    kept, dropped = trim_to_fit(history, count_words, budget=1)  # can't fit: minimal set
    assert [m.role for m in kept] == ["system", "user"]
    assert dropped == 4
    assert trim_to_fit(history, count_words, budget=1000) == (history, 0)


def test_answer_reserve() -> None:
    assert answer_reserve(8192, None) == 512
    assert answer_reserve(8192, 100) == 100
    assert answer_reserve(1024, 4000) == 256


def test_an_answer_has_a_length_limit_unless_the_conversation_sets_one(
    runtime: Runtime, store: ConversationStore
) -> None:
    """Answers outlive the page, so one nobody watches must still end."""
    from dataclasses import replace

    from ember.chat.answering import Answerer
    from ember.chat.assistant import DEFAULT_ANSWER_TOKENS
    from ember.chat.types import ChatDone, ChatRequest
    from ember.engine.base import Usage
    from ember.runtime import make_assistant

    class Recorder:
        """A backend that records the request it is asked and answers at once."""

        def __init__(self) -> None:
            self.asked: list[ChatRequest] = []

        async def stream(self, request: ChatRequest) -> Any:
            self.asked.append(request)
            yield ChatDone("stop", Usage(1, 1, 0, 0.0, 0.0, 0.0), content="Hello.")

        async def context_length(self, model: str, num_ctx: int | None = None) -> int:
            return 4096

    assistant = make_assistant(runtime, store)
    recorder = Recorder()
    assistant.answerer = Answerer(recorder)  # type: ignore[arg-type]
    limits = []
    for settings in ({}, {"max_tokens": 50}):
        conversation = store.create(title="t", settings={**settings, "tools": False})
        question = store.add_message(conversation.id, role="user", content="Hi", parent_id=None)
        request = assistant.request_for(store.get(conversation.id), question)
        plan = replace(assistant.plan_for(store.get(conversation.id)), tools=None)

        async def run(request: ChatRequest = request, plan: Any = plan) -> None:
            async for _ in assistant.answerer.answer(request, plan):
                pass

        asyncio.run(run())
        limits.append(recorder.asked[-1].max_tokens)
    assert limits == [DEFAULT_ANSWER_TOKENS, 50]
    assert DEFAULT_ANSWER_TOKENS == 4096
