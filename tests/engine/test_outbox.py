"""The outbox: chunks of one step handed over together, in order, runs merged."""

from __future__ import annotations

from ember.engine.base import Chunk, Usage
from ember.engine.outbox import Outbox, coalesce

USAGE = Usage(
    prompt_tokens=3,
    completion_tokens=2,
    cached_tokens=0,
    ttft_s=0.1,
    prompt_tps=30.0,
    decode_tps=10.0,
    queue_s=0.0,
)


def test_a_run_of_tokens_becomes_one_chunk_and_folds_into_the_end() -> None:
    chunks = [
        Chunk(text="Hel", token_ids=(1,)),
        Chunk(text="lo", token_ids=(2,)),
        Chunk(text="!", token_ids=(3,), finish_reason="stop", usage=USAGE),
    ]
    assert coalesce(chunks) == [
        Chunk(text="Hello!", token_ids=(1, 2, 3), finish_reason="stop", usage=USAGE)
    ]


def test_progress_and_errors_are_never_merged() -> None:
    progress = Chunk(prompt_progress=(256, 512))
    error = Chunk(finish_reason="error", error="boom")
    chunks = [progress, Chunk(text="a", token_ids=(1,)), error]
    assert coalesce(chunks) == chunks


def test_each_listener_gets_its_own_chunks_only_when_flushed() -> None:
    got: dict[str, list[Chunk]] = {"a": [], "b": []}
    box = Outbox()
    box.send(got["a"].append, Chunk(text="x", token_ids=(1,)))
    box.send(got["b"].append, Chunk(text="y", token_ids=(2,)))
    box.send(got["a"].append, Chunk(text="z", token_ids=(3,)))
    assert box
    assert got == {"a": [], "b": []}
    box.flush()
    assert not box
    assert got == {
        "a": [Chunk(text="xz", token_ids=(1, 3))],
        "b": [Chunk(text="y", token_ids=(2,))],
    }
