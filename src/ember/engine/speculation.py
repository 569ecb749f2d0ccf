"""Drafts for speculative decoding, looked up in the sequence's own tokens.

Answers that copy their input — quoting a document, editing code, repeating a list —
write runs of tokens the sequence already holds. When the last few tokens written also
appear earlier, the tokens that followed them there are a good guess for what comes
next ("prompt lookup decoding"). The scheduler puts the guess into the same batch as the
real next token; the model's own choice at each guessed position is sampled in order,
and the guess is kept only as far as it matches, so the output is the model's, only
sooner: one llama_decode checks several tokens for about the price of one on a
memory-bound CPU.
"""

from __future__ import annotations

from collections.abc import Iterable

NGRAM = 3  # tokens that must match before a draft is offered
MAX_DRAFT = 8


class NgramDrafter:
    """The tokens of one sequence, indexed by every ``n``-gram's latest occurrence."""

    def __init__(self, tokens: Iterable[int] = (), *, n: int = NGRAM, max_draft: int = MAX_DRAFT):
        self.n = n
        self.max_draft = max_draft
        self.tokens: list[int] = []
        self.size = max_draft  # the next draft's length, as it has been paying off
        # n-gram -> the index of the token that followed its latest earlier occurrence
        self._follower: dict[tuple[int, ...], int] = {}
        for token in tokens:
            self.append(token)

    def append(self, token: int) -> None:
        tokens = self.tokens
        if len(tokens) >= self.n:
            self._follower[tuple(tokens[-self.n :])] = len(tokens)
        tokens.append(token)

    def draft(self, limit: int | None = None) -> list[int]:
        """The tokens that followed the last ``n`` tokens where they appeared before (at
        most ``limit``, and at most the size that has been paying off), or nothing."""
        tokens = self.tokens
        if len(tokens) < self.n:
            return []
        start = self._follower.get(tuple(tokens[-self.n :]))
        if start is None:
            return []
        size = self.size if limit is None else min(limit, self.size)
        return tokens[start : start + max(size, 0)]

    def accepted(self, drafted: int, confirmed: int) -> None:
        """How the last draft did: a whole draft confirmed doubles the next one (up to
        ``max_draft``); a miss makes the next one as long as what was confirmed, plus
        one. Prose that only looks like an earlier line costs a token or two per step,
        not ``max_draft``; a quotation soon drafts in full."""
        if drafted == 0:
            return
        if confirmed == drafted:
            self.size = min(self.max_draft, self.size * 2)
        else:
            self.size = max(1, confirmed + 1)
