"""Time what steps with guessed rows cost on this machine, once, when drafting is on.

Speculative decoding puts guessed tokens into the same ``llama_decode`` as the real
one; whether that pays, and how long a draft should be, depends on how much more a step
of several rows costs than a step of one, which differs threefold between CPUs and is
not proportional to the rows (engine/draft_odds.py). This runs a few real steps of one
row and of 2, 9, 17, 33 rows (as many of those as the draft limit reaches, and
``1 + limit``) with every row's logits, as a draft's verification does, on a sequence's
free positions, and removes them from the KV again: about 25 one-row steps' worth of
time for 16 drafts (a second for a 0.5B model on two slow cores), about 75 for 48.

It must run on the compute thread (compute.py), between two steps of the scheduler:
it uses the scheduler's batch and the context's logits.
"""

from __future__ import annotations

import time
from typing import Any

import llama_cpp as ll

from ember.engine.draft_odds import StepCosts
from ember.engine.llamacpp.native import Batch

ROW_COUNTS = (2, 9, 17, 33)  # timed where the limit reaches them; between them, interpolated
REPEATS = 2  # timed steps of each size (the least counts), after one untimed at both ends
# Steps wider than this are timed once: they cost most of the timing (a 49-row step is
# 15 one-row steps on two cores), and a slow sample only makes long drafts rarer.
TIMED_TWICE_UP_TO = 17


def row_counts(limit: int, capacity: int) -> list[int]:
    """The step sizes to time for drafts of up to ``limit`` in a batch of ``capacity``."""
    most = max(2, min(1 + limit, capacity))
    return [1, *sorted({r for r in ROW_COUNTS if r < most} | {most})]


def measure_step_costs(
    ctx: Any, mem: Any, batch: Batch, *, seq: int, position: int, limit: int, token: int
) -> StepCosts:
    """What steps with up to ``limit`` guessed rows cost, timed on ``seq`` at positions
    from ``position`` on (which must be the sequence's next free one); the KV of ``seq``
    before ``position`` is left as it was."""
    sizes = row_counts(limit, batch.capacity)
    timings: dict[int, list[float]] = {size: [] for size in sizes}
    try:
        for size in (sizes[0], sizes[-1]):  # the first steps of a size are slower
            _step(ctx, mem, batch, seq, position, size, token)
        for repeat in range(REPEATS):
            for size in sizes:
                if repeat == 0 or size <= TIMED_TWICE_UP_TO:
                    timings[size].append(_step(ctx, mem, batch, seq, position, size, token))
    finally:
        batch.clear()
    return StepCosts.from_timings(timings, limit)


def _step(
    ctx: Any, mem: Any, batch: Batch, seq: int, position: int, size: int, token: int
) -> float:
    batch.clear()
    for i in range(size):
        batch.add(token, position + i, seq, True)
    batch.raw.n_tokens = batch.n
    started = time.perf_counter()
    rc = ll.llama_decode(ctx, batch.raw)
    elapsed = time.perf_counter() - started
    ll.llama_memory_seq_rm(mem, seq, position, -1)
    if rc != 0:
        raise RuntimeError(f"llama_decode failed with status {rc}")
    return elapsed
