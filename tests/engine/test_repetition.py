"""A generation that loops is stopped, and its text keeps one copy of the loop."""

from __future__ import annotations

import asyncio

from ember.engine.base import GenerateRequest, SamplingParams
from ember.engine.llamacpp import LlamaCppEngine
from ember.engine.repetition import MIN_SPAN, RepetitionGuard, trim_repeats


def fed(guard: RepetitionGuard, tokens: list[int]) -> int | None:
    """The 1-based position of the token at which the guard first says "looping"."""
    for i, token in enumerate(tokens, start=1):
        if guard.feed(token):
            return i
    return None


def test_a_short_pattern_is_a_loop_once_it_has_filled_the_minimum_span() -> None:
    at = fed(RepetitionGuard(), [1, 2, 3] * 100)
    assert at is not None
    assert MIN_SPAN <= at <= MIN_SPAN + 3


def test_a_long_paragraph_is_a_loop_at_its_third_copy() -> None:
    paragraph = list(range(1000, 1150))  # 150 tokens, each different
    at = fed(RepetitionGuard(), paragraph * 4)
    assert at == 3 * len(paragraph)


def test_text_that_only_repeats_a_little_is_not_a_loop() -> None:
    # A list: the same shape each line, different numbers; a phrase said twice.
    lines = [t for n in range(200) for t in (7, 8, n + 100, 9)]
    assert fed(RepetitionGuard(), lines) is None
    phrase = list(range(50))
    assert fed(RepetitionGuard(), phrase + phrase + list(range(500, 600))) is None
    assert fed(RepetitionGuard(), [5] * (MIN_SPAN - 1)) is None


def test_a_period_longer_than_the_guard_sees_is_not_flagged() -> None:
    block = list(range(300))
    assert fed(RepetitionGuard(max_period=256), block * 3) is None


def test_trim_keeps_one_copy_of_the_loop() -> None:
    head = "Here is the answer. "
    assert trim_repeats(head + "la la land. " * 20) == head + "la la land."
    # Stopped inside a copy: one whole copy is kept, to the end of its sentence.
    cut = trim_repeats(head + "The sea is blue. " * 5 + "The s")
    assert cut == head + "The sea is blue."
    looped = "1. Buy milk\n2. Walk the dog, then the dog, then the dog, then the dog, then"
    assert trim_repeats(looped) == "1. Buy milk\n2. Walk the dog, then"
    assert trim_repeats("No loop at all, just words.") == "No loop at all, just words."
    assert trim_repeats("A list:\n\n\n\n") == "A list:\n\n\n\n"  # blank lines are no loop


def test_the_engine_stops_a_looping_generation_and_says_why(engine: LlamaCppEngine) -> None:
    """A grammar that allows nothing but the same words makes any model loop: asked to,
    the engine ends it soon after the loop is plain, with finish_reason "repetition";
    not asked, it runs to max_tokens."""
    loop = SamplingParams(temperature=0, grammar='root ::= ("la la land. ")+')

    def run(stop_repeating: bool, max_tokens: int) -> tuple[str, str | None, int]:
        async def go() -> tuple[str, str | None, int]:
            request = GenerateRequest(
                prompt="Sing:", max_tokens=max_tokens, sampling=loop, stop_repeating=stop_repeating
            )
            chunks = [c async for c in engine.generate(request)]
            usage = chunks[-1].usage
            assert usage is not None
            text = "".join(c.text for c in chunks)
            return text, chunks[-1].finish_reason, usage.completion_tokens

        return asyncio.run(go())

    text, reason, stopped_at = run(stop_repeating=True, max_tokens=400)
    assert reason == "repetition"
    assert MIN_SPAN <= stopped_at < 200
    assert text.startswith("la la land.")
    assert trim_repeats(text).strip() == "la la land."

    # Not asked: the same loop goes on past where it was stopped, to max_tokens (a
    # grammar step costs ~0.1 s here, so not all the way to 400 again).
    _, reason, generated = run(stop_repeating=False, max_tokens=stopped_at + 24)
    assert reason == "length"
    assert generated == stopped_at + 24
