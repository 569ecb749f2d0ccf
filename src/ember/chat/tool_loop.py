"""The tool loop: let the model call tools, feed the results back, until it answers.

Each step is one ordinary chat turn through the backend (so tool formats, grammars
and parsing are the backend's business). A tool that fails does not end the
loop: its error goes back to the model as the result. After ``max_steps`` rounds of
calls the model must answer (tool_choice ``none``), so a loop always ends.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from ember.chat.backend import ChatBackend
from ember.chat.tool_calls import ToolCallHoldback, parse_tool_calls
from ember.chat.types import ChatDelta, ChatDone, ChatRequest, Message, Tool, ToolCall
from ember.errors import EmberError

DEFAULT_MAX_STEPS = 4
# Appended to each successful result the model reads (not to the result shown or
# stored). Measured with the quality benchmark: given a bare result ("1"),
# Qwen2.5-Coder-0.5B repeats the same correct call until the step limit and then writes
# the call as text; with this note it answers.
RESULT_NOTE = "(This is the tool's result. Answer the user now; do not call the tool again.)"


class ToolOutcome(Protocol):
    @property
    def content(self) -> str: ...

    @property
    def is_error(self) -> bool: ...


class ToolRunner(Protocol):
    """What the loop needs of a tool registry."""

    def tools(self) -> tuple[Tool, ...]: ...

    async def call(self, name: str, arguments: str | dict[str, Any]) -> ToolOutcome: ...


@dataclass(frozen=True)
class ToolStep:
    """The model asked for tools: its message (text and calls) before they run."""

    done: ChatDone


@dataclass(frozen=True)
class ToolCallResult:
    call: ToolCall
    result: ToolOutcome


LoopEvent = ChatDelta | ChatDone | ToolStep | ToolCallResult


def tool_messages(
    done: ChatDone, results: Sequence[ToolCallResult], result_note: str | None = None
) -> list[Message]:
    """The assistant's call message and one tool message per result, for the history;
    ``result_note`` follows each successful result."""
    out = [Message(role="assistant", content=done.content, tool_calls=done.tool_calls)]
    for r in results:
        content = r.result.content
        if result_note and not r.result.is_error:
            content = f"{content}\n{result_note}"
        out.append(Message(role="tool", content=content, tool_call_id=r.call.id, name=r.call.name))
    return out


async def run_with_tools(
    backend: ChatBackend,
    request: ChatRequest,
    runner: ToolRunner,
    *,
    max_steps: int = DEFAULT_MAX_STEPS,
    result_note: str | None = RESULT_NOTE,
) -> AsyncIterator[LoopEvent]:
    """Stream the answer; between steps, :class:`ToolStep` and :class:`ToolCallResult`."""
    offered = request.tools or runner.tools()
    messages = list(request.messages)
    made: set[tuple[str, str]] = set()
    answered: list[ToolCallResult] = []
    answer_now = False
    for step in range(max_steps + 1):
        choice = "none" if step == max_steps or answer_now else request.tool_choice
        turn = replace(request, messages=tuple(messages), tools=offered, tool_choice=choice)
        # The last answer after tool results is held back while it looks like a call:
        # a small model may write one out as text even when it may not call.
        holdback = ToolCallHoldback() if choice == "none" and answered else None
        done: ChatDone | None = None
        async for event in backend.stream(turn):
            if isinstance(event, ChatDone):
                done = event
            elif holdback is not None and isinstance(event, ChatDelta):
                shown = holdback.feed(event.content)
                if shown:
                    yield ChatDelta(content=shown)
            else:
                yield event
        if done is None:
            raise EmberError("the generation ended without a result")
        if holdback is not None:
            done, tail = _settle_held(done, holdback, offered, answered)
            if tail:
                yield ChatDelta(content=tail)
        if not done.tool_calls:
            yield done
            return
        keys = {(call.name, _canonical(call.arguments)) for call in done.tool_calls}
        if keys <= made:
            # Measured with Qwen2.5-Coder-0.5B: having the result, it asks for the same
            # call again instead of answering. It already has those results: answer now.
            answer_now = True
            continue
        made |= keys
        yield ToolStep(done)
        results = []
        for call in done.tool_calls:
            result = ToolCallResult(call, await runner.call(call.name, call.arguments))
            results.append(result)
            yield result
        useful = [r for r in results if not _no_op(r)]
        if request.tool_choice not in ("auto", "none") and not any(
            r.result.is_error for r in results
        ):
            # A forced first call (a routed question: one computation) has its answer.
            # Measured with Qwen2.5-Coder-0.5B: left free after it, it applied the
            # operation again to the result (84 - 38 = 46, then 46 - 38, then 8 - 38).
            answer_now = True
        if not useful:
            # Measured: Qwen2.5-Coder-0.5B fed a result back (calculator('178377') after
            # 4821 * 37 = 178377). A call that returns its own argument added nothing.
            answer_now = True
        answered += useful
        messages += tool_messages(done, results, result_note)
        if request.tool_choice not in ("auto", "none"):
            request = replace(request, tool_choice="auto")  # forced once, then free


def _settle_held(
    done: ChatDone,
    holdback: ToolCallHoldback,
    offered: Sequence[Tool],
    answered: Sequence[ToolCallResult],
) -> tuple[ChatDone, str]:
    """The final answer and the part of it not yet shown. When the model wrote a call
    out as text instead of answering, the answer is the tool results themselves
    (exact, which is what the user asked for) rather than JSON."""
    released = holdback.text[: len(holdback.text) - len(holdback.held())]
    remaining, calls = parse_tool_calls(holdback.held(), offered)
    if not calls or remaining.strip():
        return done, holdback.held()
    lines = [
        f"{r.call.name}({_arguments_text(r.call.arguments)}) = {r.result.content}"
        for r in answered
        if not r.result.is_error
    ]
    tail = "\n".join(lines) or "The tools gave no result."
    return replace(done, content=released + tail, tool_calls=()), tail


def _no_op(result: ToolCallResult) -> bool:
    """A call whose result is its only argument, unchanged."""
    try:
        values = json.loads(result.call.arguments)
    except ValueError:
        return False
    if not isinstance(values, dict) or len(values) != 1 or result.result.is_error:
        return False
    (value,) = values.values()
    return str(value).strip() == result.result.content.strip()


def _arguments_text(arguments: str) -> str:
    try:
        values = json.loads(arguments)
    except ValueError:
        return arguments
    if not isinstance(values, dict):
        return arguments
    return ", ".join(f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}" for k, v in values.items())


def _canonical(arguments: str) -> str:
    try:
        return json.dumps(json.loads(arguments), sort_keys=True)
    except ValueError:
        return arguments.strip()
