"""Fitting a conversation into the context window without a silent cut (pure).

The oldest turns go first; the system prompt and the newest message always stay, and
the caller learns how many messages were left out so the user can be told.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ember.chat.types import Message

ANSWER_RESERVE = 512  # tokens kept free for the answer when the request sets no limit


def answer_reserve(n_ctx: int, max_tokens: int | None) -> int:
    """Room to leave for the answer: what was asked for, at most a quarter of the context."""
    return min(max_tokens or ANSWER_RESERVE, n_ctx // 4)


def trim_to_fit(
    messages: Sequence[Message], count_tokens: Callable[[Sequence[Message]], int], budget: int
) -> tuple[list[Message], int]:
    """Drop the oldest turns until ``count_tokens(messages) <= budget``.

    A turn is a user message with the answers and tool results after it, so the history
    never starts with an orphaned answer. System messages and the last message are never
    dropped; if even those do not fit, they are returned as they are (the engine then
    reports the overflow with the numbers). Returns the messages kept and how many were
    dropped.
    """
    kept = list(messages)
    dropped = 0
    while count_tokens(kept) > budget:
        first = next(
            (i for i, m in enumerate(kept[:-1]) if m.role != "system"),
            None,
        )
        if first is None:
            break
        del kept[first]
        dropped += 1
        while first < len(kept) - 1 and kept[first].role in ("assistant", "tool"):
            del kept[first]
            dropped += 1
    return kept, dropped
