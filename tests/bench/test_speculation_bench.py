"""`ember bench speculation`: the rows it reports, on the real SmolLM2 (short answers)."""

from __future__ import annotations

from pathlib import Path

from ember.bench.copy_tasks import PASSAGE, Task
from ember.bench.speculation_bench import first_difference, measure
from ember.engine.draft_odds import StepCosts
from ember.engine.llamacpp import LlamaCppEngine, LoadOptions
from tests.engine.conftest import SMOLLM2_DIGEST


def test_first_difference() -> None:
    assert first_difference([1, 2, 3], [1, 2, 3]) is None
    assert first_difference([1, 2, 3], [1, 5, 3]) == 1
    assert first_difference([1, 2], [1, 2, 3]) == 2


def test_a_quote_is_measured_plain_and_with_drafts(smollm2_path: Path) -> None:
    engine = LlamaCppEngine(
        smollm2_path,
        name="smollm2:135m",
        digest=SMOLLM2_DIGEST,
        options=LoadOptions(n_ctx=2048, n_slots=1, n_threads=2),
    )
    try:
        quote = Task("quote", f"{PASSAGE}\n\nRepeat the text above exactly.", 48)
        story = Task("story", "Write a story about a fox.", 24, new_text="fox")
        engine.scheduler.step_costs = StepCosts.linear(0.1, 8)  # guessed rows cheap here
        rows = measure(engine, draft_tokens=8, rounds=2, tasks=[quote, story])
        assert engine.scheduler.draft_tokens == 0  # left as it was found
    finally:
        engine.close()
    by_task = {r["task"]: r for r in rows}
    assert set(by_task) == {"quote", "story"}
    copied = by_task["quote"]
    assert copied["plain_tps"] > 0
    assert copied["draft_tps"] > 0
    assert 0 < copied["confirmed"] <= copied["drafted"]  # a quote is guessed from its prompt
    assert copied["answer_tokens"] <= 48
    assert copied["new_text_uses"] is None
    assert isinstance(by_task["story"]["new_text_uses"], int)
    for row in rows:
        assert row["same_text"] == (row["first_difference"] is None)
        assert row["repeatable"]  # the same request, drafted the same way each round
        assert abs(row["speedup"] - row["draft_tps"] / row["plain_tps"]) < 0.02
