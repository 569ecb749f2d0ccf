"""Chunks held for one step, then handed to their listeners together.

Why: a chunk handed to the asyncio side wakes the event loop, which then takes the GIL
to write it out. Handed over in the middle of the compute thread's Python work (between
sampling one sequence and building the next batch), the loop's work and the compute
thread's take turns with the GIL and the step waits. Handed over just before
``llama_decode``, which runs without the GIL, the loop writes while the model computes.
A drafted step confirms several tokens at once: they leave as one chunk, not one each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from ember.engine.base import Chunk

Listener = Callable[[Chunk], None]


def is_plain(chunk: Chunk) -> bool:
    """Tokens and text only: may be merged with the plain chunks next to it."""
    return chunk.finish_reason is None and chunk.prompt_progress is None and chunk.error is None


def merge(first: Chunk, second: Chunk) -> Chunk:
    """``second`` appended to ``first``; ``second`` may end the answer."""
    return replace(
        second,
        text=first.text + second.text,
        token_ids=first.token_ids + second.token_ids,
        logprobs=first.logprobs + second.logprobs,
    )


def coalesce(chunks: list[Chunk]) -> list[Chunk]:
    """One listener's chunks in order, with each run of plain chunks made one, and a run
    before the answer's end folded into its final chunk (not into an error's)."""
    out: list[Chunk] = []
    for chunk in chunks:
        if out and is_plain(out[-1]) and chunk.prompt_progress is None and chunk.error is None:
            out[-1] = merge(out[-1], chunk)
        else:
            out.append(chunk)
    return out


class Outbox:
    """Per-listener queues of chunks, flushed in the order listeners first sent."""

    def __init__(self) -> None:
        self._held: dict[Listener, list[Chunk]] = {}

    def send(self, listener: Listener, chunk: Chunk) -> None:
        self._held.setdefault(listener, []).append(chunk)

    def flush(self) -> None:
        held, self._held = self._held, {}
        for listener, chunks in held.items():
            for chunk in coalesce(chunks):
                listener(chunk)

    def __bool__(self) -> bool:
        return bool(self._held)
