"""`ember bench speculation`: copy-heavy answers decoded with and without drafts.

Speculative decoding (engine/speculation.py) pays off only when the answer repeats its
input. This measures what it buys on three answers, each written plain and with drafts
by the same engine, interleaved, medians of several rounds, greedy:

- **quote**: a 300-word passage repeated back word for word;
- **edit**: a 60-line function written again with one variable renamed (most lines
  are copied; how many uses the model did rename is counted: the starters rename a
  few and copy the rest);
- **story**: a new story, where nothing can be copied (what drafts cost when they miss).

Each row reports decode tokens/s both ways, their ratio, the drafts confirmed, and
whether the greedy text came out the same (llama.cpp rounds a batch of several rows in
another order than one row, so after a near tie the two may part; the first differing
token is reported, not hidden).
"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ember.bench.copy_tasks import TASKS, Task
from ember.engine.base import GenerateRequest, SamplingParams
from ember.engine.llamacpp import LlamaCppEngine

GREEDY = SamplingParams(temperature=0)


@dataclass
class Run:
    tokens: list[int]
    decode_tps: float
    drafted: int
    accepted: int


def first_difference(a: Sequence[int], b: Sequence[int]) -> int | None:
    """The index of the first token where ``a`` and ``b`` differ (None: identical)."""
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i
    return None if len(a) == len(b) else min(len(a), len(b))


def _answer(engine: LlamaCppEngine, prompt: list[int], max_tokens: int, drafts: int) -> Run:
    scheduler = engine.scheduler
    scheduler.draft_tokens = drafts  # read when a request is admitted
    before = (scheduler.stats.drafted_tokens, scheduler.stats.accepted_tokens)

    async def go() -> tuple[list[int], float]:
        request = GenerateRequest(prompt_tokens=prompt, max_tokens=max_tokens, sampling=GREEDY)
        tokens: list[int] = []
        tps = 0.0
        async for chunk in engine.generate(request):
            tokens.extend(chunk.token_ids)
            if chunk.usage is not None:
                tps = chunk.usage.decode_tps
        return tokens, tps

    tokens, tps = asyncio.run(go())
    return Run(
        tokens,
        tps,
        scheduler.stats.drafted_tokens - before[0],
        scheduler.stats.accepted_tokens - before[1],
    )


def measure(
    engine: LlamaCppEngine,
    draft_tokens: int,
    rounds: int,
    tasks: Sequence[Task] = TASKS,
    progress: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """One row per task: the median decode speed plain and with ``draft_tokens``
    drafts over ``rounds`` interleaved rounds (the prompt read once before, so both
    ways start from the same cached prompt)."""
    say = progress or (lambda _: None)
    setting = engine.scheduler.draft_tokens
    try:
        return [_row(engine, task, draft_tokens, rounds, say) for task in tasks]
    finally:
        engine.scheduler.draft_tokens = setting


def _row(
    engine: LlamaCppEngine, task: Task, draft_tokens: int, rounds: int, say: Callable[[str], None]
) -> dict[str, Any]:
    prompt = engine.chat_request_tokens(
        engine.apply_chat_template([{"role": "user", "content": task.prompt}])
    )
    _answer(engine, prompt, 1, 0)  # the prompt into the cache
    plain: list[Run] = []
    drafted: list[Run] = []
    for i in range(rounds):
        say(f"{task.name}: round {i + 1} of {rounds}")
        # Which goes first alternates: a machine that speeds up or slows down over the
        # run then favours neither.
        for runs, drafts in ((plain, 0), (drafted, draft_tokens))[:: 1 if i % 2 == 0 else -1]:
            runs.append(_answer(engine, prompt, task.max_tokens, drafts))
    plain_tps = statistics.median(r.decode_tps for r in plain)
    draft_tps = statistics.median(r.decode_tps for r in drafted)
    last_plain, last_draft = plain[-1], drafted[-1]
    text = engine.detokenize(last_draft.tokens)
    return {
        "task": task.name,
        "prompt_tokens": len(prompt),
        "answer_tokens": len(last_draft.tokens),
        "plain_tps": round(plain_tps, 1),
        "draft_tps": round(draft_tps, 1),
        "speedup": round(draft_tps / plain_tps, 2) if plain_tps else None,
        "drafted": last_draft.drafted,
        "confirmed": last_draft.accepted,
        "new_text_uses": text.count(task.new_text) if task.new_text else None,
        "same_text": last_plain.tokens == last_draft.tokens,
        # the drafted rounds gave each other's tokens (the same drafts each time)
        "repeatable": all(r.tokens == drafted[0].tokens for r in drafted),
        "first_difference": first_difference(last_plain.tokens, last_draft.tokens),
        "plain_runs_tps": [round(r.decode_tps, 1) for r in plain],
        "draft_runs_tps": [round(r.decode_tps, 1) for r in drafted],
    }
