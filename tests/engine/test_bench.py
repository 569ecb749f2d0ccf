"""The engine benchmark's measurements run end to end (numbers are reported, not asserted)."""

from __future__ import annotations

from ember.bench.engine_bench import aggregate, multi_turn, single_stream
from ember.engine.llamacpp import LlamaCppEngine


def test_benchmark_pieces_produce_measurements(engine: LlamaCppEngine) -> None:
    single = single_stream(engine, n_prompt=32, n_gen=8)
    assert single["prompt_tps"] > 0
    assert single["decode_tps"] > 0
    row = aggregate(engine, 2, n_gen=8)
    assert row["streams"] == 2
    assert row["tokens_per_s"] > 0
    ttfts = multi_turn(engine, turns=2)
    assert len(ttfts) == 2
    assert all(t > 0 for t in ttfts)
