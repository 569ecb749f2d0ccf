"""`ember bench chat` end to end: real `ember serve` processes with SmolLM2, started with
preload off, on, and again after a restart. Only the report's shape and the order of its
times are checked; how fast is the benchmark's business, not the test's."""

from __future__ import annotations

from pathlib import Path

import pytest

from ember.bench.chat_bench import QUESTION, run_chat_bench
from ember.cli.bench_tables import print_chat
from ember.cli.render import console
from ember.config import load_settings
from ember.runtime import build

MODEL = "smollm2:135m"


@pytest.mark.model
def test_the_chat_bench_times_starts_and_first_tokens(tmp_path: Path, smollm2_path: Path) -> None:
    home = tmp_path / "home"
    runtime = build(load_settings(home=home))
    runtime.models.pull(str(smollm2_path), name=MODEL)
    runtime.close()
    said: list[str] = []

    report = run_chat_bench(home, MODEL, repeats=1, progress=said.append)

    assert report["benchmark"] == "ember bench chat"
    assert report["model"] == MODEL
    assert report["question"] == QUESTION
    assert set(report["runs"]) == {"preload_off", "first_start", "restart"}
    for key, run in report["runs"].items():
        start, first = run["start"], run["first_message"]
        assert 0 < start["health_s"] <= start["page_s"], key
        if key == "preload_off":
            assert start["model_ready_s"] is None
        else:
            assert start["page_s"] <= start["model_ready_s"], key
        assert first["sent_s"] >= (start["model_ready_s"] or start["page_s"]), key
        assert 0 < first["first_step_s"] <= first["ttft_s"], key
        assert first["first_token_s"] == pytest.approx(first["sent_s"] + first["ttft_s"], abs=0.002)
        assert first["tool_calls"] >= 0, key
        if not first["stopped"]:  # then its meta came with it
            assert 0 < first["server_ttft_s"] <= first["ttft_s"], key
            assert 0 <= first["cached_tokens"] <= first["prompt_tokens"], key
        assert first["answer"], key
    warm = report["warm"]
    assert len(warm["messages"]) == 1
    assert warm["median_ttft_s"] == warm["messages"][0]["ttft_s"] > 0
    assert warm["median_first_step_s"] == warm["messages"][0]["first_step_s"] > 0
    assert report["conversation_settings"] == {"temperature": 0.0}
    # Sent after the first start's first message, on the same server.
    assert warm["messages"][0]["sent_s"] > report["runs"]["first_start"]["first_message"]["sent_s"]
    assert any("restart" in line for line in said)
    # The server ran in copies: the home itself got no conversations and no saved KV.
    assert not (home / "kv").exists()
    after = build(load_settings(home=home))
    try:
        assert after.models.get(MODEL).available
        assert after.db.query("SELECT id FROM conversations") == []
    finally:
        after.close()

    with console.capture() as captured:
        print_chat(report)
    table = captured.get()
    for words in ("preload off", "restart", "warm (median 1)", "1st word", "1st step"):
        assert words in table
