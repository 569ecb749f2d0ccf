"""Time what a guessed row costs on this machine, once, when drafting is turned on.

Speculative decoding puts guessed tokens into the same ``llama_decode`` as the real
one; whether that pays depends on how much more a step of several rows costs than a
step of one, which differs threefold between CPUs (engine/draft_odds.py). This runs
a few real steps of one row and of ``1 + draft`` rows with every row's logits, as a
draft's verification does, on a sequence's free positions, and removes them from the
KV again. About 30 one-row steps' worth of time: a fraction of a second on a small
model, a second for a 0.5B model on two slow cores.

It must run on the compute thread (compute.py), between two steps of the scheduler:
it uses the scheduler's batch and the context's logits.
"""

from __future__ import annotations

import time
from typing import Any

import llama_cpp as ll

from ember.engine.draft_odds import row_cost
from ember.engine.llamacpp.native import Batch

REPEATS = 3  # timed steps of each size, after one untimed of each (the first is slower)


def measure_row_cost(
    ctx: Any, mem: Any, batch: Batch, *, seq: int, position: int, rows: int, token: int
) -> float:
    """A guessed row's cost as a share of a one-row step, timed on ``seq`` at positions
    from ``position`` on (which must be the sequence's next free one); the KV of ``seq``
    before ``position`` is left as it was."""
    rows = max(2, min(rows, batch.capacity))
    one_row: list[float] = []
    many_rows: list[float] = []
    try:
        for repeat in range(REPEATS + 1):
            for size, times in ((1, one_row), (rows, many_rows)):
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
                if repeat:
                    times.append(elapsed)
    finally:
        batch.clear()
    return row_cost(one_row, rows, many_rows)
