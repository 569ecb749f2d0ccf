"""`ember bench quality --suite realistic`: realistic questions through the path users get.

Each item is asked as a person would ask it — one user message, no benchmark system
prompt, the model's own defaults — through the answering path with Ember's built-in
tools and question routing as the chat and the APIs (``api_tools``) use them ("tools"),
or without tools ("no-tools"). Scoring is strict (:mod:`ember.bench.realistic_check`):
every value right and the reply in words. Reported per family: strict accuracy, how many
replies were not prose, and the median seconds per answer.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ember.bench.quality import a_few_at_a_time
from ember.bench.realistic_check import check_realistic
from ember.bench.realistic_items import REALISTIC_FAMILIES, RealisticItem
from ember.chat.answering import Answerer, AnswerPlan
from ember.chat.types import ChatRequest, Message
from ember.engine.base import SamplingParams
from ember.errors import EmberError
from ember.tools.registry import ToolRegistry


@dataclass
class RealisticOutcome:
    id: str
    family: str
    question: str
    expected: list[str]
    reply: str
    correct: bool
    prose: bool
    why: str
    seconds: float
    calls: list[dict[str, Any]] = field(default_factory=list)


async def run_realistic_item(
    answerer: Answerer,
    model: str,
    item: RealisticItem,
    registry: ToolRegistry | None,
    max_tokens: int = 256,
) -> RealisticOutcome:
    request = ChatRequest(
        model=model,
        messages=(Message(role="user", content=item.question),),
        sampling=SamplingParams(temperature=0, seed=0),
        sampling_given=frozenset({"temperature", "seed"}),
        max_tokens=max_tokens,
    )
    start = time.perf_counter()
    calls: list[dict[str, Any]] = []
    try:
        answer = await answerer.complete(request, AnswerPlan(tools=registry))
        reply = answer.done.content
        calls = [
            {"name": c.name, "arguments": c.arguments, "result": r.content} for c, r in answer.calls
        ]
    except EmberError as exc:
        reply = f"(error: {exc})"
    verdict = check_realistic(item, reply)
    return RealisticOutcome(
        id=item.id,
        family=item.family,
        question=item.question,
        expected=[e.value for e in item.expected],
        reply=reply,
        correct=verdict.correct,
        prose=verdict.prose,
        why=verdict.why,
        seconds=round(time.perf_counter() - start, 2),
        calls=calls,
    )


async def run_realistic(
    answerer: Answerer,
    model: str,
    items: Sequence[RealisticItem],
    registry: ToolRegistry | None,
    parallel: int = 2,
    progress: Callable[[RealisticOutcome], None] | None = None,
) -> list[RealisticOutcome]:
    async def ask(item: RealisticItem) -> RealisticOutcome:
        return await run_realistic_item(answerer, model, item, registry)

    return await a_few_at_a_time(items, ask, parallel, progress)


def summarize_realistic(outcomes: Sequence[RealisticOutcome]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for family in (*REALISTIC_FAMILIES, "all"):
        rows = [o for o in outcomes if family in ("all", o.family)]
        if not rows:
            continue
        out[family] = {
            "n": len(rows),
            "correct": sum(o.correct for o in rows),
            "accuracy": round(sum(o.correct for o in rows) / len(rows), 4),
            "not_prose": sum(not o.prose for o in rows),
            "median_s": round(statistics.median(o.seconds for o in rows), 2),
        }
    return out


def render_realistic(runs: Sequence[dict[str, Any]], bank: str, per_family: int) -> str:
    """One row per model and mode: strict accuracy per family, replies that were not
    prose, median seconds per answer."""
    families = (*REALISTIC_FAMILIES, "all")
    head = f"{'model':<22}{'mode':<10}" + "".join(f"{f:>24}" for f in families)
    lines = [
        f"ember bench quality --suite realistic — bank {bank}, {per_family} per family, "
        "strict (every value right, in words); cells: correct/n accuracy [not prose] median s",
        head,
        "-" * len(head),
    ]
    for run in runs:
        cells = []
        for family in families:
            s = run["summary"].get(family)
            cells.append(
                f"{s['correct']:.0f}/{s['n']:.0f} {s['accuracy'] * 100:.0f}% "
                f"[{s['not_prose']:.0f}] {s['median_s']:.1f}s"
                if s
                else ""
            )
        lines.append(f"{run['model']:<22}{run['mode']:<10}" + "".join(f"{c:>24}" for c in cells))
    return "\n".join(lines) + "\n"
