"""Speculative decoding: drafts looked up in the sequence's own tokens (pure), and the
engine emitting, with drafts, the tokens the model itself ranks first (real SmolLM2)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import llama_cpp as ll
import numpy as np

from ember.engine.base import GenerateRequest, SamplingParams
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


def test_the_draft_size_follows_what_pays_off() -> None:
    drafter = NgramDrafter([*range(40), 0, 1, 2], n=3, max_draft=8)
    assert len(drafter.draft()) == 8
    drafter.accepted(8, 2)  # a miss after two: the next draft is three long
    assert len(drafter.draft()) == 3
    drafter.accepted(3, 3)  # all confirmed: twice as long, up to the maximum
    assert len(drafter.draft()) == 6
    drafter.accepted(6, 6)
    assert len(drafter.draft()) == 8
    drafter.accepted(8, 0)
    assert len(drafter.draft()) == 1


def test_with_drafts_every_token_is_the_models_first_choice(smollm2_path: Path) -> None:
    """A passage quoted back: most tokens come from confirmed drafts, and each emitted
    token is the one the model ranks first given the tokens before it (scored again in
    one pass by llama-cpp-python; other batch shapes round differently, so "first" is
    within a small margin)."""
    from llama_cpp import Llama

    engine = LlamaCppEngine(
        smollm2_path,
        name="smollm2:135m",
        digest=SMOLLM2_DIGEST,
        options=LoadOptions(n_ctx=2048, n_slots=2, draft_tokens=8),
    )
    try:
        prompt = engine.chat_request_tokens(
            engine.apply_chat_template(
                [{"role": "user", "content": f"{PASSAGE}\n\nRepeat the text above exactly."}]
            )
        )

        async def quote() -> list[int]:
            request = GenerateRequest(
                prompt_tokens=prompt, max_tokens=60, sampling=SamplingParams(temperature=0)
            )
            return [t async for c in engine.generate(request) for t in c.token_ids]

        tokens = asyncio.run(quote())
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
