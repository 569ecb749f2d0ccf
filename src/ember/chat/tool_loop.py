"""The tool loop: let the model call tools, feed the results back, until it answers.

Each step is one ordinary chat turn through the backend (so tool formats, grammars
and parsing are the backend's business). A tool that fails does not end the
loop: its error goes back to the model as the result. After ``max_steps`` rounds of
calls the model must answer (tool_choice ``none``), so a loop always ends.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from ember.chat.backend import ChatBackend
from ember.chat.computation_check import call_problem, checked_call, needless_call
from ember.chat.plain_answer import (
    not_an_answer,
    results_prompt,
    results_sentence,
    uncovered,
)
from ember.chat.tool_calls import ToolCallHoldback
from ember.chat.tool_routing import part_choice
from ember.chat.types import (
    ChatDelta,
    ChatDone,
    ChatProgress,
    ChatRequest,
    Message,
    Tool,
    ToolCall,
    last_question,
)
from ember.engine.base import Usage
from ember.errors import EmberError

DEFAULT_MAX_STEPS = 4
PLAIN_ANSWER_TOKENS = 160  # the last, plain try: one or two sentences
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


@dataclass(frozen=True)
class ToolsFailed:
    """The tools got the model nowhere (why, in words): no call succeeded and it is
    about to answer without a result. Said before that answer's first word, so the
    answering path can ask a cloud model instead (the ``tools_failed`` signal)."""

    reason: str


LoopEvent = ChatDelta | ChatDone | ChatProgress | ToolStep | ToolCallResult | ToolsFailed


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
    parts: Sequence[str] = (),
) -> AsyncGenerator[LoopEvent, None]:
    """Stream the answer; between steps, :class:`ToolStep` and :class:`ToolCallResult`.
    ``parts``: the questions of a message that asks several (each is computed with its
    own required call, then all are answered together)."""
    offered = request.tools or runner.tools()
    asked = request
    if parts:
        async for event in _part_by_part(backend, request, runner, offered, parts):
            yield event
        return
    messages = list(request.messages)
    made: set[tuple[str, str]] = set()
    answered: list[ToolCallResult] = []
    answer_now = False
    said_failed = False  # ToolsFailed is said once
    for step in range(max_steps + 1):
        choice = "none" if step == max_steps or answer_now else request.tool_choice
        failed = None if said_failed else _failure(answered)
        if failed and choice == "none":
            said_failed = True
            yield ToolsFailed(failed)
        # Every call so far failed: this step's words wait until it is known whether
        # they answer without any result (then ToolsFailed is said before them).
        holding = failed is not None and not said_failed
        held: list[ChatDelta] = []
        turn = replace(request, messages=tuple(messages), tools=offered, tool_choice=choice)
        # Held back while it looks like a call: a small model writes calls out as text
        # (to tools that exist or not) even when it may not call.
        holdback = ToolCallHoldback()
        done: ChatDone | None = None
        async for event in backend.stream(turn):
            if isinstance(event, ChatDone):
                done = event
            elif isinstance(event, ChatDelta):
                shown = holdback.feed(event.content)
                if shown or event.logprobs:
                    delta = ChatDelta(content=shown, logprobs=event.logprobs)
                    if holding:
                        held.append(delta)
                    else:
                        yield delta
            else:
                yield event
        if done is None:
            raise EmberError("the generation ended without a result")
        if failed and holding and not done.tool_calls:
            said_failed = True
            yield ToolsFailed(failed)
        for delta in held:
            yield delta
        if not done.tool_calls:
            if not_an_answer(holdback.text or done.content) and done.finish_reason != "error":
                if not said_failed and not _computed(answered):
                    yield ToolsFailed("it wrote no answer and no tool gave a result")
                async for plain in _answer_plainly(backend, asked, answered):
                    yield plain
                return
            if holdback.held():
                yield ChatDelta(content=holdback.held())
            # Every result is stated: measured, Qwen2.5-Coder-0.5B explained how to work
            # out the change until its token limit and never gave it.
            tail = _unstated(holdback.text or done.content, answered)
            if tail and done.finish_reason != "error":
                yield ChatDelta(content=tail)
                done = replace(done, content=(holdback.text or done.content) + tail)
            yield done
            return
        keys = {(call.name, _canonical(call.arguments)) for call in done.tool_calls}
        if keys <= made:
            # Measured with Qwen2.5-Coder-0.5B: having the result, it asks for the same
            # call again instead of answering. It already has those results: answer now.
            answer_now = True
            continue
        question = last_question(asked.messages)
        if all(needless_call(question, call) for call in done.tool_calls):
            answer_now = True  # nothing to compute: answer in words, without the tools
            continue
        if _has_problem(question, done.tool_calls):
            done = await _resampled(backend, turn, question, done)
        done = replace(done, tool_calls=tuple(checked_call(question, c) for c in done.tool_calls))
        made |= {(c.name, _canonical(c.arguments)) for c in done.tool_calls}
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
            # Made to answer with the tools still in its prompt it answers well when a
            # system prompt says how ("Answer: <value>"); without one it writes another
            # call, and is then asked plainly (below).
            answer_now = True
        if not useful:
            # Measured: Qwen2.5-Coder-0.5B fed a result back (calculator('178377') after
            # 4821 * 37 = 178377). A call that returns its own argument added nothing.
            answer_now = True
        answered += useful
        messages += tool_messages(done, results, result_note)
        if request.tool_choice not in ("auto", "none"):
            request = replace(request, tool_choice="auto")  # forced once, then free


async def _part_by_part(
    backend: ChatBackend,
    request: ChatRequest,
    runner: ToolRunner,
    offered: Sequence[Tool],
    parts: Sequence[str],
) -> AsyncIterator[LoopEvent]:
    """Two questions in one message: measured with Qwen2.5-Coder-0.5B, one required step
    made a call for the first question only and guessed the second (4821 * 37 "equals
    16,491"). Each part gets its own required call; the answer then states every result."""
    earlier = list(request.messages)
    if earlier and earlier[-1].role == "user":
        earlier.pop()
    answered: list[ToolCallResult] = []
    for part in parts:
        turn = replace(
            request,
            messages=(*earlier, Message(role="user", content=part)),
            tools=tuple(offered),
            tool_choice=part_choice(part, {t.name for t in offered}),
            parallel_tool_calls=False,
        )
        done = await _last(backend.stream(turn))
        if done is None or not done.tool_calls:
            continue
        done = replace(done, tool_calls=tuple(checked_call(part, c) for c in done.tool_calls))
        yield ToolStep(done)
        for call in done.tool_calls:
            result = ToolCallResult(call, await runner.call(call.name, call.arguments))
            yield result
            if not _no_op(result):
                answered.append(result)
    if not _computed(answered):
        yield ToolsFailed(_failure(answered) or "no tool gave a result")
    async for plain in _answer_plainly(backend, request, answered):
        yield plain


async def _answer_plainly(
    backend: ChatBackend, asked: ChatRequest, answered: Sequence[ToolCallResult]
) -> AsyncIterator[ChatDelta | ChatDone]:
    """The model wrote no answer (a call as text, JSON, nothing): ask once more, without
    tools, with the results written out as facts; if that is no answer either, state the
    results plainly. Never a transcript, a JSON call or a tool name."""
    question = last_question(asked.messages)
    earlier = [m for m in asked.messages if m.role in ("system", "user", "assistant")]
    if earlier and earlier[-1].role == "user":
        earlier = earlier[:-1]
    prompt = Message(role="user", content=results_prompt(question, answered))
    plain = replace(
        asked,
        messages=(*[m for m in earlier if not m.tool_calls], prompt),
        tools=(),
        tool_choice="none",
        max_tokens=min(asked.max_tokens or PLAIN_ANSWER_TOKENS, PLAIN_ANSWER_TOKENS),
    )
    holdback = ToolCallHoldback()
    done: ChatDone | None = None
    async for event in backend.stream(plain):
        if isinstance(event, ChatDone):
            done = event
        elif isinstance(event, ChatDelta):
            shown = holdback.feed(event.content)
            if shown:
                yield ChatDelta(content=shown)
    text = holdback.text or (done.content if done is not None else "")
    if done is not None and not not_an_answer(text) and done.finish_reason != "error":
        unstated = _unstated(text, answered)
        if holdback.held() or unstated:
            yield ChatDelta(content=holdback.held() + unstated)
        yield replace(done, content=text + unstated)
        return
    sentence = results_sentence(answered)
    shown_before = holdback.text[: len(holdback.text) - len(holdback.held())]
    yield ChatDelta(content=("\n\n" if shown_before.strip() else "") + sentence)
    usage = done.usage if done is not None else Usage(0, 0, 0, 0.0, 0.0, 0.0)
    yield ChatDone("stop", usage, content=sentence)


def _computed(answered: Sequence[ToolCallResult]) -> list[ToolCallResult]:
    return [r for r in answered if not r.result.is_error]


def _failure(answered: Sequence[ToolCallResult]) -> str | None:
    """Why the tools failed, when every call made returned an error (None otherwise)."""
    if not answered or _computed(answered):
        return None
    last = answered[-1]
    return f"{last.call.name} failed: {last.result.content.strip()[:200]}"


def _unstated(text: str, answered: Sequence[ToolCallResult]) -> str:
    """The sentence of the results ``text`` leaves out, to follow it ("" if none)."""
    missing = uncovered(text, answered)
    return f"\n\n{results_sentence(missing)}" if missing else ""


RESAMPLES = 3  # tries at a word problem's call when the first uses numbers not asked about
RESAMPLE_TEMPERATURE = 0.7


def _has_problem(question: str, calls: Sequence[ToolCall]) -> bool:
    return any(call_problem(question, call) is not None for call in calls)


async def _resampled(
    backend: ChatBackend, turn: ChatRequest, question: str, first: ChatDone
) -> ChatDone:
    """The step sampled again (a few seeds) until its calls are made of the question's
    numbers; the first try when none is. Measured with Qwen2.5-Coder-0.5B on the
    realistic benchmark: told why its call was refused and asked again, it wrote the
    same call or added up every number of the question (``12 + 17 + 44``), 0 of 3."""
    for seed in range(1, RESAMPLES + 1):
        sampling = replace(turn.sampling, temperature=RESAMPLE_TEMPERATURE, seed=seed)
        done = await _last(backend.stream(replace(turn, sampling=sampling)))
        if done is not None and done.tool_calls and not _has_problem(question, done.tool_calls):
            return done
    return first


async def _last(events: AsyncIterator[object]) -> ChatDone | None:
    done = None
    async for event in events:
        if isinstance(event, ChatDone):
            done = event
    return done


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


def _canonical(arguments: str) -> str:
    try:
        return json.dumps(json.loads(arguments), sort_keys=True)
    except ValueError:
        return arguments.strip()
