"""Reuse a cached answer whose tokens spell the prompt's text another way.

A chat client sends each turn's whole conversation as text, so the model's last answer
comes back tokenized afresh. The tokens the model wrote are not always the tokens the
tokenizer would choose for the same text ("Autom" + "ation" written, "Automation"
read back), and a token-by-token prefix match stops at the first such token: turn 6 of
the peer benchmark's chat read 165 tokens again on both Ember and llama-server, about
0.8 s of a Qwen-0.5B turn on two cores, for text the cache already held.

:func:`respelled_prompt` compares bytes instead: from where the tokens part, it walks
the cached tokens and the prompt's tokens side by side while both spell the same bytes,
and remembers the last point where both end a token together. The prompt from there on
is kept as tokenized; before it, the cached tokens stand in. The model then reads the
conversation as it wrote it, which is also a valid tokenization of the same text, and
only the new turn is computed.

Control tokens (``<|im_end|>``, ``<|im_start|>``) are compared by identity, not by the
text they print as, so an answer that contains the literal text of one is never taken
for the real token. Pure: the caller passes how to spell a token.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence


def respelled_prompt(
    cached: Sequence[int],
    prompt: Sequence[int],
    start: int,
    spell: Callable[[int], bytes],
) -> list[int] | None:
    """``prompt`` with its tokens from ``start`` (where it parts from ``cached``) up to
    the furthest shared token boundary replaced by ``cached``'s tokens spelling the same
    bytes; None when no more of ``cached`` can be reused that way."""
    i = j = start  # next token of cached / prompt
    ours, theirs = bytearray(), bytearray()  # bytes spelled past `start`
    checked = 0  # how many of those bytes are known equal
    best: tuple[int, int] | None = None
    while True:
        if len(ours) <= len(theirs):
            if i == len(cached):
                break
            ours += spell(cached[i])
            i += 1
        else:
            if j == len(prompt):
                break
            theirs += spell(prompt[j])
            j += 1
        common = min(len(ours), len(theirs))
        if ours[checked:common] != theirs[checked:common]:
            break
        checked = common
        if len(ours) == len(theirs):  # both end a token here; `cached` moved first
            best = (i, j)
    if best is None:
        return None
    reused, resumed = best
    return [*cached[:reused], *prompt[resumed:]]
