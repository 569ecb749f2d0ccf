"""Values back into the reply, whole and streamed."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from ember.privacy import StreamRestorer, restore

MAPPING = {
    "[EMAIL_1]": "jane@example.com",
    "[EMAIL_10]": "ten@example.com",
    "[CARD_1]": "4111 1111 1111 1111",
    "[PASSWORD_1]": "[EMAIL_1]",  # a value that looks like a placeholder
}
REPLY = "Write to [EMAIL_1] (or [EMAIL_10]); card [CARD_1]; [EMAIL_7] is unknown; pw [PASSWORD_1]."
RESTORED = (
    "Write to jane@example.com (or ten@example.com); card 4111 1111 1111 1111; "
    "[EMAIL_7] is unknown; pw [EMAIL_1]."
)


def test_restore_puts_values_back_once_and_leaves_invented_placeholders() -> None:
    assert restore(REPLY, MAPPING) == RESTORED
    assert restore("no placeholders [here]", MAPPING) == "no placeholders [here]"
    assert restore(REPLY, {}) == REPLY


def stream(pieces: list[str]) -> tuple[str, list[str]]:
    restorer = StreamRestorer(MAPPING)
    out = [restorer.feed(p) for p in pieces]
    out.append(restorer.flush())
    return "".join(out), out


def test_a_placeholder_split_across_chunks_is_restored() -> None:
    text, out = stream(["Write to [EMA", "IL_1", "] now"])
    assert text == "Write to jane@example.com now"
    assert out[0] == "Write to "  # the text before the possible placeholder goes at once


def test_only_a_possible_placeholder_prefix_is_held_back() -> None:
    restorer = StreamRestorer(MAPPING)
    assert restorer.feed("see [X") == "see [X"  # no placeholder starts "[X"
    assert restorer.feed("] and [1] and [") == "] and [1] and "
    assert restorer.holding == 1
    assert restorer.feed("EMAIL_1") == ""  # could still be [EMAIL_1] or [EMAIL_10]
    assert restorer.feed("0] ok") == "ten@example.com ok"


def test_an_unfinished_placeholder_comes_out_at_the_end() -> None:
    text, _ = stream(["the end [CAR"])
    assert text == "the end [CAR"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(REPLY)), max_size=12))
def test_any_chunking_streams_what_restore_gives(cuts: list[int]) -> None:
    bounds = [0, *sorted(cuts), len(REPLY)]
    pieces = [REPLY[a:b] for a, b in itertools.pairwise(bounds)]
    assert stream(pieces)[0] == RESTORED
