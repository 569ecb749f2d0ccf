"""`ember bench engine --peer`: Ember and a server that is not Ember (llama-cpp-python's
own OpenAI server), both real, both with SmolLM2, measured side by side through the
OpenAI API. The report's shape and sense are checked, never how fast either is."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ember.bench.peer_bench import ROWS, Sizes, Target, run_peer_bench, stream_rate
from ember.config import load_settings
from ember.runtime import build
from tests.server.conftest import llama_cpp_server, serving

MODEL = "smollm2:135m"
SMALL = Sizes(story_tokens=12, answer_tokens=8, turns=2, long_tokens=8, concurrent=2, copy_tokens=8)


@pytest.fixture
def peer_url(smollm2_path: Path) -> Iterator[str]:
    with llama_cpp_server(smollm2_path, "smollm2") as url:
        yield url


def test_ember_and_a_peer_are_measured_side_by_side(
    tmp_path: Path, smollm2_path: Path, peer_url: str
) -> None:
    runtime = build(load_settings(home=tmp_path / "home", default_model=MODEL))
    runtime.models.pull(str(smollm2_path), name=MODEL)
    seen: list[tuple[str, int]] = []
    with serving(runtime) as ember_url:
        report = run_peer_bench(
            [Target("ember", ember_url, MODEL), Target("peer", peer_url, "smollm2")],
            runs=2,
            sizes=SMALL,
            on_round=lambda label, n: seen.append((label, n)),
        )
    runtime.close()
    # Interleaved, who goes first alternating: a machine speeding up favours neither.
    assert seen == [("ember", 1), ("peer", 1), ("peer", 2), ("ember", 2)]
    keys = {key for key, _, _, _ in ROWS}
    for label in ("ember", "peer"):
        rounds = report["rounds"][label]
        assert len(rounds) == 2
        for r in rounds:
            assert len(r["ttft_turns_s"]) == SMALL.turns
            assert all(t > 0 for t in r["ttft_turns_s"])
            assert r["decode_tps"] > 0
            assert r["single_tps"] > 0
            assert r["concurrent_tps"] > 0
            assert r["long_prompt_cold_s"] > 0
            assert r["long_prompt_warm_s"] > 0
            assert r["longest_gap_s"] >= 0
            assert set(r["copy_tps"]) == {"quote", "edit"}
            assert all(tps > 0 for tps in r["copy_tps"].values())
        assert set(report["medians"][label]) == keys
    assert set(report["speedup"]) == keys
    assert all(v is None or v > 0 for v in report["speedup"].values())
    assert report["targets"][1]["base_url"] == peer_url


def test_a_stream_rate_counts_tokens_not_pieces() -> None:
    # Three pieces over a second; the last two carry four tokens each (a confirmed draft).
    assert stream_rate([0.0, 0.5, 1.0], tokens=9) == pytest.approx(8.0)
    assert stream_rate([0.0, 0.5, 1.0]) == pytest.approx(2.0)  # no usage: one per piece
    assert stream_rate([0.0]) == 0.0
