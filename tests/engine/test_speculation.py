"""Speculative decoding: drafts looked up in the sequence's own tokens (pure), and the
engine emitting, with drafts, the tokens the model itself ranks first (real SmolLM2)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import llama_cpp as ll
import numpy as np

from ember.engine.base import GenerateRequest, SamplingParams
from ember.engine.draft_odds import COST_RANGE, DraftOdds, StepCosts, best_length
from ember.engine.llamacpp import LlamaCppEngine, LoadOptions
from ember.engine.speculation import NgramDrafter
from tests.engine.conftest import SMOLLM2_DIGEST

PASSAGE = (
    "The lighthouse stood on the northern cliff for two hundred years. Every night its "
    "keeper climbed the ninety-nine steps, trimmed the wick, polished the great lens and "
    "watched the sea. Ships that passed saw the beam sweep across the water once every "
    "twelve seconds, and they knew where the rocks were."
)


def test_a_draft_is_what_followed_the_last_tokens_before() -> None:
    drafter = NgramDrafter([1, 2, 3, 4, 5, 6, 7, 9, 1, 2], n=3, max_draft=3)
    assert drafter.draft() == []  # (9, 1, 2) never appeared before
    drafter.append(3)  # ... 1, 2, 3 appeared at the start, followed by 4, 5, 6
    assert drafter.draft() == [4, 5, 6]
    assert drafter.draft(limit=2) == [4, 5]
    assert NgramDrafter([1, 2], n=3).draft() == []


def test_with_odds_the_draft_is_as_long_as_pays_on_this_machine() -> None:
    """The drafter asks the odds how long to guess after the match it found: nothing
    where a guessed row costs as much as a step, in full where rows are cheap."""
    dear = DraftOdds(StepCosts.linear(1.0, 8))
    cheap = DraftOdds(StepCosts.linear(0.05, 8))
    prompt = [*range(40), 0, 1, 2]
    assert NgramDrafter(prompt, n=3, max_draft=8, odds=dear).draft() == []
    before = cheap.accept(3)
    drafter = NgramDrafter(prompt, n=3, max_draft=8, odds=cheap)
    guessed = drafter.draft()
    assert len(guessed) == best_length(before, StepCosts.linear(0.05, 8), 8) >= 3
    assert guessed == list(range(3, 3 + len(guessed)))
    assert drafter.match == 3
    drafter.accepted(len(guessed), 0)  # what the odds learn from
    assert cheap.accept(3) < before


def _answer_with_drafts(drafter: NgramDrafter, answer: list[int]) -> tuple[int, int]:
    """Write ``answer`` as the scheduler does: each step the model's next token, then,
    while the draft's guess at that position is the model's token, the one after it.
    Returns (steps, guesses that missed)."""
    steps = misses = pos = 0
    while pos < len(answer):
        draft = drafter.draft()
        drafter.append(answer[pos])
        confirmed = 0
        while (
            confirmed < len(draft)
            and draft[confirmed] == answer[pos + confirmed]
            and pos + confirmed + 1 < len(answer)
        ):
            confirmed += 1
            drafter.append(answer[pos + confirmed])
        misses += confirmed < len(draft)
        drafter.accepted(len(draft), confirmed)
        pos += confirmed + 1
        steps += 1
    return steps, misses


def test_a_renamed_name_is_learned_and_guessed_at_its_next_uses() -> None:
    """Source lines that use token 7; the answer copies them with 7 written as 70, 71.
    After the first use the drafter keeps the rule (7,) -> (70, 71) and guesses the
    other uses right."""
    lines = [
        [1, 2, 7, 3, 4, 5],
        [6, 8, 7, 9, 10, 11],
        [12, 13, 7, 14, 15, 16],
        [17, 7, 18, 19],
        [20, 21, 22, 7, 23],
        [24, 7, 25, 26, 27],
    ]
    source = [t for line in lines for t in (*line, 0)]
    answer = [70 if t == 7 else t for t in source]
    answer = [u for t in answer for u in ((70, 71) if t == 70 else (t,))]
    prompt = [*source, 99, 98, *answer[:2]]
    drafter = NgramDrafter(prompt, n=3, max_draft=8)
    steps, misses = _answer_with_drafts(drafter, answer[2:])
    assert drafter.rules == {(7,): (70, 71)}
    assert misses <= 2  # the first use, and at most one more while the rule is learned

    class CopyOnly(NgramDrafter):  # the same drafter without rules
        def _rejoined(self) -> int | None:
            return None

    plain_steps, plain_misses = _answer_with_drafts(CopyOnly(prompt, n=3), answer[2:])
    assert (plain_steps, plain_misses) == (31, 6)  # a miss at every use
    assert steps <= plain_steps // 2


def test_a_repeated_run_is_copied_from_where_the_copy_has_got_to() -> None:
    """Code repeats short runs on many lines (``lines.append(``): of the earlier places
    of the last tokens, the copy goes on from the first one after the last confirmed
    guess, not from the latest one."""
    source = [1, 2, 3, 10, 11, 4, 1, 2, 3, 20, 21, 5, 1, 2, 3, 30, 31, 6]
    drafter = NgramDrafter([*source, 99, 98], n=3, max_draft=4)
    steps, misses = _answer_with_drafts(drafter, source)
    assert misses == 0
    assert steps <= 6


def test_a_rule_that_misses_is_dropped() -> None:
    drafter = NgramDrafter([*range(1, 9), 50, 1, 2, 3], n=3, max_draft=8)
    drafter.rules[(5,)] = (60,)
    assert drafter.draft() == [4, 60, 6, 7, 8, 50, 1, 2]
    drafter.append(4)
    drafter.append(5)  # the model kept 5: the rule's guess missed
    drafter.accepted(8, 1)
    assert drafter.rules == {}


def test_without_copying_there_is_nothing_to_learn() -> None:
    drafter = NgramDrafter(list(range(100, 160)), n=3)
    steps, misses = _answer_with_drafts(drafter, list(range(200, 240)))
    assert (steps, misses) == (40, 0)
    assert drafter.rules == {}


def _quote(engine: LlamaCppEngine, max_tokens: int) -> tuple[list[int], list[int]]:
    prompt = engine.chat_request_tokens(
        engine.apply_chat_template(
            [{"role": "user", "content": f"{PASSAGE}\n\nRepeat the text above exactly."}]
        )
    )

    async def quote() -> list[int]:
        request = GenerateRequest(
            prompt_tokens=prompt, max_tokens=max_tokens, sampling=SamplingParams(temperature=0)
        )
        return [t async for c in engine.generate(request) for t in c.token_ids]

    return prompt, asyncio.run(quote())


def _drafting_engine(path: Path, *, n_slots: int, extra_share: float) -> LlamaCppEngine:
    """SmolLM2 with 8 drafts, on a machine where a guessed row costs ``extra_share``
    of a step (this machine's own cost, timed at load, would decide whether guessing
    happens at all)."""
    engine = LlamaCppEngine(
        path,
        name="smollm2:135m",
        digest=SMOLLM2_DIGEST,
        options=LoadOptions(n_ctx=2048, n_slots=n_slots, draft_tokens=8),
    )
    engine.scheduler.step_costs = StepCosts.linear(extra_share, 8)
    return engine


def test_no_guesses_where_a_guessed_row_costs_a_whole_step(smollm2_path: Path) -> None:
    engine = _drafting_engine(smollm2_path, n_slots=1, extra_share=1.2)
    try:
        _, tokens = _quote(engine, 40)
        assert len(tokens) == 40
        assert engine.scheduler.stats.drafted_tokens == 0
    finally:
        engine.close()


def test_with_drafts_every_token_is_the_models_first_choice(smollm2_path: Path) -> None:
    """A passage quoted back: most tokens come from confirmed drafts, and each emitted
    token is the one the model ranks first given the tokens before it (scored again in
    one pass by llama-cpp-python; other batch shapes round differently, so "first" is
    within a small margin)."""
    from llama_cpp import Llama

    engine = _drafting_engine(smollm2_path, n_slots=2, extra_share=0.1)
    try:
        prompt, tokens = _quote(engine, 60)
        stats = engine.scheduler.stats
        text = b"".join(engine.model.piece(t) for t in tokens).decode("utf-8", "replace")
        # Guesses that were not confirmed left the KV: each slot holds what it says.
        for slot in engine.scheduler.slots:
            last = ll.llama_memory_seq_pos_max(engine.scheduler.mem, slot.id)
            assert last == len(slot.cached) - 1
    finally:
        engine.close()
    assert "lighthouse stood on the northern cliff" in text
    assert stats.accepted_tokens >= len(tokens) // 3
    assert stats.accepted_tokens <= stats.drafted_tokens

    reference = Llama(str(smollm2_path), n_ctx=2048, logits_all=True, verbose=False)
    try:
        reference.eval(prompt + tokens)
        scores = np.asarray(reference.scores[: len(prompt) + len(tokens)])
    finally:
        reference.close()
    for i, token in enumerate(tokens):
        row = scores[len(prompt) + i - 1]  # the logits that chose token i
        assert row[token] >= row.max() - 0.5, f"token {i} was not the model's first choice"


def test_a_guessed_rows_cost_is_timed_at_load_and_leaves_the_cache_as_it_was(
    smollm2_path: Path,
) -> None:
    """With drafts on, the engine times rows once when it loads (the cost is this
    machine's, so only its range is asserted); with drafts turned on later, before the
    first answer that could draft, on the chosen slot's free positions."""
    engine = _drafting_engine(smollm2_path, n_slots=1, extra_share=0.1)
    later = LlamaCppEngine(
        smollm2_path,
        name="smollm2:135m",
        digest=SMOLLM2_DIGEST,
        options=LoadOptions(n_ctx=2048, n_slots=1),
    )
    try:
        assert engine.scheduler.step_costs is not None
        assert ll.llama_memory_seq_pos_max(engine.scheduler.mem, 0) == -1  # nothing left
        assert later.scheduler.step_costs is None  # off: nothing timed
        _quote(later, 4)
        later.scheduler.draft_tokens = 8
        prompt, _ = _quote(later, 4)  # the same prompt: timed after its cached tokens
        costs = later.scheduler.step_costs
        assert costs is not None
        assert costs.limit == 8
        for k in range(1, 9):  # each guessed row within range, never cheaper with more
            assert 1 + COST_RANGE[0] * k <= costs.at(k) <= 1 + COST_RANGE[1] * k
            assert costs.at(k) >= costs.at(k - 1)
        slot = later.scheduler.slots[0]
        assert slot.cached[: len(prompt)] == prompt
        assert ll.llama_memory_seq_pos_max(later.scheduler.mem, 0) == len(slot.cached) - 1
    finally:
        engine.close()
        later.close()


def test_with_drafts_the_same_request_twice_gives_the_same_tokens(smollm2_path: Path) -> None:
    """The promise of docs/engine.md ("What is deterministic"), with drafts on: the
    same greedy request, alone and from an empty cache, twice, is drafted the same way
    and answered with the same tokens."""
    engine = _drafting_engine(smollm2_path, n_slots=1, extra_share=0.3)
    try:
        answers = []
        for _ in range(2):
            engine.scheduler.clear_cache()
            before = engine.scheduler.stats.drafted_tokens
            _, tokens = _quote(engine, 60)
            answers.append((tokens, engine.scheduler.stats.drafted_tokens - before))
    finally:
        engine.close()
    assert answers[0][1] > 0  # drafts were made
    assert answers[0] == answers[1]
