"""`ember bench quality`: accuracy on exact-answer questions, without and with tools.

Every item (see :mod:`ember.bench.quality_items`) is asked at temperature 0 with the
same system prompt, which asks for a final ``Answer: <value>`` line; the checker
(:mod:`ember.bench.quality_check`) is strict. "tools" runs the item through Ember's
answering path (the one every front end uses) with the built-in tools (code execution
off); ``tool_choice`` decides whether the first step must call a tool (``required``), the
model may answer directly (``auto``), or the chat's routing decides (``route``). Items
run a few at a time (the engine batches them).
"""

from __future__ import annotations

import asyncio
import json
import platform
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, TypeVar

from ember.bench.quality_check import check
from ember.bench.quality_items import FAMILIES, QualityItem
from ember.chat.answering import Answerer, AnswerPlan
from ember.chat.tool_loop import RESULT_NOTE
from ember.chat.types import ChatRequest, Message, ToolChoice
from ember.engine.base import SamplingParams
from ember.errors import EmberError
from ember.tools.registry import ToolRegistry

SYSTEM = (
    "You are a precise assistant. Answer the user's question. End your reply with a final "
    "line of the form 'Answer: <value>' where <value> is only the number (or the weekday)."
)
SYSTEM_TOOLS = (
    SYSTEM + " Use a tool to compute the answer (arithmetic, counting letters, dates, unit "
    "conversions) instead of working it out yourself. When the tool's result arrives, do "
    "not call another tool: reply with the line 'Answer: ' followed by the result."
)
MODES = ("no-tools", "tools")
ItemT = TypeVar("ItemT")
OutcomeT = TypeVar("OutcomeT")


@dataclass
class ItemOutcome:
    id: str
    family: str
    question: str
    expected: str
    reply: str
    extracted: str | None
    via: str
    correct: bool
    seconds: float
    calls: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None


@dataclass(frozen=True)
class RunOptions:
    max_tokens: int = 160
    max_steps: int = 1
    tool_choice: ToolChoice | Literal["route"] = "required"
    parallel: int = 2
    result_note: bool = True


def _request(model: str, item: QualityItem, tools: bool, options: RunOptions) -> ChatRequest:
    asked = options.tool_choice
    return ChatRequest(
        model=model,
        messages=(
            Message(role="system", content=SYSTEM_TOOLS if tools else SYSTEM),
            Message(role="user", content=item.question),
        ),
        sampling=SamplingParams(temperature=0, seed=0),
        sampling_given=frozenset({"temperature", "seed"}),
        max_tokens=options.max_tokens,
        tool_choice="auto" if asked == "route" or not tools else asked,
    )


def _plan(registry: ToolRegistry | None, options: RunOptions) -> AnswerPlan:
    return AnswerPlan(
        tools=registry,
        route=options.tool_choice == "route",
        max_steps=options.max_steps,
        result_note=RESULT_NOTE if options.result_note else None,
    )


async def run_item(
    answerer: Answerer,
    model: str,
    item: QualityItem,
    registry: ToolRegistry | None,
    options: RunOptions,
) -> ItemOutcome:
    start = time.perf_counter()
    request = _request(model, item, registry is not None, options)
    calls: list[dict[str, Any]] = []
    error = None
    try:
        answer = await answerer.complete(request, _plan(registry, options))
        reply = answer.done.content
        calls = [
            {
                "name": call.name,
                "arguments": call.arguments,
                "result": outcome.content,
                "is_error": outcome.is_error,
            }
            for call, outcome in answer.calls
        ]
    except EmberError as e:
        reply, error = "", str(e)
    verdict = check(item, reply)
    return ItemOutcome(
        id=item.id,
        family=item.family,
        question=item.question,
        expected=item.answer,
        reply=reply,
        extracted=verdict.extracted,
        via=verdict.via,
        correct=verdict.correct,
        seconds=round(time.perf_counter() - start, 2),
        calls=calls,
        error=error,
    )


async def run_items(
    answerer: Answerer,
    model: str,
    items: Sequence[QualityItem],
    registry: ToolRegistry | None,
    options: RunOptions,
    progress: Callable[[ItemOutcome], None] | None = None,
) -> list[ItemOutcome]:
    async def ask(item: QualityItem) -> ItemOutcome:
        return await run_item(answerer, model, item, registry, options)

    return await a_few_at_a_time(items, ask, options.parallel, progress)


async def a_few_at_a_time(
    items: Sequence[ItemT],
    ask: Callable[[ItemT], Awaitable[OutcomeT]],
    parallel: int,
    progress: Callable[[OutcomeT], None] | None = None,
) -> list[OutcomeT]:
    """``ask`` for every item, ``parallel`` at a time (the engine batches them), in order."""
    gate = asyncio.Semaphore(max(1, parallel))

    async def one(item: ItemT) -> OutcomeT:
        async with gate:
            outcome = await ask(item)
        if progress is not None:
            progress(outcome)
        return outcome

    return list(await asyncio.gather(*(one(item) for item in items)))


def summarize(outcomes: Sequence[ItemOutcome]) -> dict[str, dict[str, float]]:
    """Per family (and "all"): n, correct, accuracy, and for tool runs the share of
    items where a tool was called."""
    out: dict[str, dict[str, float]] = {}
    for family in (*FAMILIES, "all"):
        rows = [o for o in outcomes if family in ("all", o.family)]
        if not rows:
            continue
        correct = sum(o.correct for o in rows)
        out[family] = {
            "n": len(rows),
            "correct": correct,
            "accuracy": round(correct / len(rows), 4),
            "with_tool_call": round(sum(bool(o.calls) for o in rows) / len(rows), 4),
            "seconds": round(sum(o.seconds for o in rows), 1),
        }
    return out


def report(
    runs: list[dict[str, Any]], *, seed: int, per_family: int, options: RunOptions
) -> dict[str, Any]:
    return {
        "benchmark": "ember bench quality",
        "seed": seed,
        "per_family": per_family,
        "options": asdict(options),
        "machine": {"platform": platform.platform(), "python": platform.python_version()},
        "checking": "last 'Answer:' line, else the last number/weekday; units within 0.01",
        "runs": runs,
    }


def run_record(model: str, mode: str, outcomes: list[ItemOutcome]) -> dict[str, Any]:
    return {
        "model": model,
        "mode": mode,
        "summary": summarize(outcomes),
        "items": [asdict(o) for o in outcomes],
    }


def render_text(data: dict[str, Any]) -> str:
    """A plain table: one row per model and mode, accuracy per family."""
    head = f"{'model':<22}{'mode':<10}" + "".join(f"{f:>12}" for f in (*FAMILIES, "all"))
    lines = [
        f"ember bench quality — seed {data['seed']}, {data['per_family']} items per family, "
        f"temperature 0, tool_choice {data['options']['tool_choice']}, "
        f"max_steps {data['options']['max_steps']}, result_note {data['options']['result_note']}",
        head,
        "-" * len(head),
    ]
    for run in data["runs"]:
        cells = []
        for family in (*FAMILIES, "all"):
            s = run["summary"].get(family)
            cells.append(
                f"{s['correct']:>4.0f}/{s['n']:<3.0f}{s['accuracy'] * 100:3.0f}%" if s else ""
            )
        lines.append(f"{run['model']:<22}{run['mode']:<10}" + "".join(f"{c:>12}" for c in cells))
    return "\n".join(lines) + "\n"


def dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)
