"""The tool loop with a real model: calls run, results go back, the loop always ends."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ember.chat.answering import Answerer, AnswerPlan
from ember.chat.service import ChatService
from ember.chat.types import ChatRequest, Message, Tool
from ember.engine.base import SamplingParams
from tests.chat.conftest import small_chat

ADD = Tool(
    name="add",
    description="Add two integers exactly.",
    parameters={
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
    },
)


@dataclass(frozen=True)
class Outcome:
    content: str
    is_error: bool = False


class AddRunner:
    """A two-line tool set: the loop under test does not care where tools come from."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.seen: list[dict[str, Any]] = []

    def tools(self) -> tuple[Tool, ...]:
        return (ADD,)

    async def call(self, name: str, arguments: str | dict[str, Any]) -> Outcome:
        args = json.loads(arguments) if isinstance(arguments, str) else arguments
        self.seen.append(args)
        if self.fail:
            return Outcome("error: the adder is out of order", is_error=True)
        return Outcome(str(args["a"] + args["b"]))


@pytest.fixture(scope="module")
def chat(smollm2_path: Path) -> Iterator[ChatService]:
    with small_chat(smollm2_path, n_ctx=2048, n_slots=2) as service:
        yield service


def ask(chat: ChatService, runner: AddRunner, max_steps: int = 2) -> Any:
    request = ChatRequest(
        model="smollm2",
        messages=(Message(role="user", content="What is 1234 + 4321?"),),
        sampling=SamplingParams(temperature=0),
        max_tokens=48,
        tool_choice="required",
    )
    return asyncio.run(
        Answerer(chat).complete(request, AnswerPlan(tools=runner, route=False, max_steps=max_steps))
    )


def test_forced_call_runs_and_the_loop_ends_with_an_answer(chat: ChatService) -> None:
    runner = AddRunner()
    result = ask(chat, runner)
    assert result.calls, "the forced first step must call the tool"
    call, outcome = result.calls[0]
    assert call.name == "add"
    assert set(json.loads(call.arguments)) == {"a", "b"}
    assert outcome.content == str(sum(runner.seen[0].values()))
    assert len(result.calls) <= 2  # at most max_steps rounds
    assert result.done.finish_reason in ("stop", "length")
    assert not result.done.tool_calls


def test_a_failing_tool_is_a_result_not_a_crash(chat: ChatService) -> None:
    result = ask(chat, AddRunner(fail=True), max_steps=1)
    assert result.calls[0][1].is_error
    assert result.done.finish_reason in ("stop", "length")
