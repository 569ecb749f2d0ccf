"""Respelling a prompt with the cached tokens that write the same text (pure)."""

from __future__ import annotations

from ember.engine.respelling import respelled_prompt

# A toy vocabulary: token -> bytes; 100 and 101 are control tokens with marks of their own.
VOCAB = {
    1: b"Autom",
    2: b"ation",
    3: b"Automation",
    4: b" is",
    5: b" useful",
    6: b".",
    7: b"<|im_end|>",  # the literal text, spelled as ordinary tokens
    100: b"\xff\xff\x64",  # <|im_end|> itself
    101: b"\xff\xff\x65",  # <|im_start|>
    9: b"user",
    10: b"Hi",
}


def spell(token: int) -> bytes:
    return VOCAB[token]


def test_an_answer_tokenized_afresh_reuses_the_tokens_the_model_wrote() -> None:
    system = [101, 9, 10, 100]
    cached = [*system, 1, 2, 4, 5]  # the model wrote "Autom" + "ation is useful"
    prompt = [*system, 3, 4, 5, 6, 100, 101, 9, 10]  # the client sent it back as text
    respelled = respelled_prompt(cached, prompt, len(system), spell)
    assert respelled == [*cached, 6, 100, 101, 9, 10]
    assert b"".join(map(spell, respelled)) == b"".join(map(spell, prompt))


def test_reuse_stops_at_the_last_boundary_both_share() -> None:
    cached = [1, 2, 4, 5]
    prompt = [3, 4, 10]  # " useful" became "Hi": "Automation is" is shared
    assert respelled_prompt(cached, prompt, 0, spell) == [1, 2, 4, 10]


def test_nothing_is_gained_when_the_text_parts_at_once() -> None:
    assert respelled_prompt([1, 2], [10, 4], 0, spell) is None
    assert respelled_prompt([4, 5], [4, 6], 1, spell) is None
    assert respelled_prompt([], [3], 0, spell) is None
    assert respelled_prompt([3], [], 0, spell) is None


def test_a_control_token_is_not_its_literal_text() -> None:
    cached = [1, 2, 100]  # "Automation" then the real end-of-turn token
    prompt = [3, 7, 10]  # "Automation" then the words "<|im_end|>" in a message
    assert respelled_prompt(cached, prompt, 0, spell) == [1, 2, 7, 10]


def test_a_cached_token_that_spans_two_of_the_prompts_is_reused_whole() -> None:
    cached = [3, 4]
    prompt = [1, 2, 4, 6]
    assert respelled_prompt(cached, prompt, 0, spell) == [3, 4, 6]
