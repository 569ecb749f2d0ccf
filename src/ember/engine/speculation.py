"""Drafts for speculative decoding, looked up in the sequence's own tokens.

Answers that copy their input — quoting a document, editing code, repeating a list —
write runs of tokens the sequence already holds. When the last few tokens written also
appear earlier, the tokens that followed them there are a good guess for what comes
next ("prompt lookup decoding"). The scheduler puts the guess into the same batch as the
real next token; the model's own choice at each guessed position is sampled in order,
and the guess is kept only as far as it matches, so the output is the model's, only
sooner: one llama_decode checks several tokens for about the price of one on a
memory-bound CPU.

An edit copies its input with changes: a renamed variable, a changed word. At the first
change the copy misses; the drafter then looks for where the answer rejoined its
source a few tokens on, and keeps what was written instead as a **rule** (source run ->
answer run). Later drafts copied from the source carry the rule's replacement, so the
next uses of the renamed name are guessed right, and a lookup that ends in a
replacement finds its place in the source through the rule. A rule that makes a guess
miss is dropped. Rules only shape guesses: every token is still the model's choice.

How long a draft is — or whether there is one — is :class:`DraftOdds`'s call
(engine/draft_odds.py): what a guessed row costs on this machine (timed at load)
against how often guesses after a match of that length have been confirmed in this
answer so far.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable

from ember.engine.draft_odds import DraftOdds

NGRAM = 3  # tokens that must match before a draft is offered
MAX_DRAFT = 8
MAX_RUN = 4  # the longest run a rule replaces, or replaces it with
MAX_RULES = 16
LONGEST_MATCH = 32  # match lengths are counted up to this (the odds' groups end at 16)


class NgramDrafter:
    """The tokens of one sequence, indexed by every ``n``-gram's earlier places, where
    the copy has got to, and the replacements the answer has been making to what it
    copies."""

    def __init__(
        self,
        tokens: Iterable[int] = (),
        *,
        n: int = NGRAM,
        max_draft: int = MAX_DRAFT,
        odds: DraftOdds | None = None,
    ):
        self.n = n
        self.max_draft = max_draft
        # Without odds every draft is as long as allowed (the lookup alone, for tests).
        self.odds = odds
        self.tokens: list[int] = []
        self.match = 0  # how many tokens matched before the last draft's source
        # n-gram -> the indices of the tokens that followed its earlier occurrences
        self._followers: dict[tuple[int, ...], list[int]] = {}
        # Where in the sequence the copy has got to: the index after the last guess
        # confirmed. Of several earlier places with the same n tokens, the first at or
        # after it is where the copy goes on (code repeats short runs on many lines;
        # an answer copies them in order).
        self._cursor = 0
        self.rules: dict[tuple[int, ...], tuple[int, ...]] = {}  # source run -> answer run
        # The last draft: for each guess, the source index it was copied from, and the
        # rule that wrote it (None: copied as it was).
        self._origins: list[int] = []
        self._rule_of: list[tuple[int, ...] | None] = []
        # Where the last miss parted from the source: (source index, answer index).
        self._parted: tuple[int, int] | None = None
        for token in tokens:
            self.append(token)

    def append(self, token: int) -> None:
        tokens = self.tokens
        if len(tokens) >= self.n:
            self._followers.setdefault(tuple(tokens[-self.n :]), []).append(len(tokens))
        tokens.append(token)

    def draft(self, limit: int | None = None) -> list[int]:
        """The tokens that followed the last ``n`` tokens where they appeared before (at
        most ``limit`` and ``max_draft``, as many as the odds say pay), with the rules'
        replacements, or nothing."""
        self._origins, self._rule_of = [], []
        if len(self.tokens) < self.n:
            return []
        start = self._rejoined()
        if start is None:
            start = self._lookup()
        if start is None:
            return []
        self.match = self._matched(start)
        size = self.max_draft if limit is None else min(limit, self.max_draft)
        if self.odds is not None:
            size = self.odds.length(self.match, size)
        return self._copy(start, max(size, 0))

    def accepted(self, drafted: int, confirmed: int) -> None:
        """How the last draft did: the odds learn from it; the copy's cursor moves past
        the last confirmed guess. A miss on a rule's guess drops the rule; a miss on a
        copied guess marks where the answer parted."""
        if drafted == 0:
            return
        if self.odds is not None:
            self.odds.observe(self.match, drafted, confirmed)
        if 0 < confirmed <= len(self._origins):
            self._cursor = self._origins[confirmed - 1] + 1
        if confirmed == drafted or confirmed >= len(self._origins):
            return
        rule = self._rule_of[confirmed]
        if rule is not None:
            self.rules.pop(rule, None)
            self._parted = None
        else:  # the token the model wrote instead is the last one appended
            self._parted = (self._origins[confirmed], len(self.tokens) - 1)

    # ------------------------------------------------------------ lookups

    def _lookup(self) -> int | None:
        """Where the last ``n`` tokens appeared before; failing that, where they did
        with the rules' replacements put back to what they replaced."""
        tokens, n = self.tokens, self.n
        start = self._follower(tuple(tokens[-n:]))
        if start is not None or not self.rules:
            return start
        restored = self._restore(tokens[-(n + MAX_RUN) :])
        return self._follower(tuple(restored[-n:])) if len(restored) >= n else None

    def _matched(self, start: int) -> int:
        """How many tokens before ``start`` equal the sequence's last tokens (counted up
        to ``LONGEST_MATCH``)."""
        tokens, k = self.tokens, 0
        while k < LONGEST_MATCH and start - 1 - k >= 0 and tokens[start - 1 - k] == tokens[-1 - k]:
            k += 1
        return k

    def _follower(self, gram: tuple[int, ...]) -> int | None:
        """Where the copy goes on after ``gram``: its first earlier place at or after
        the cursor, else its latest."""
        places = self._followers.get(gram)
        if not places:
            return None
        at = bisect_left(places, self._cursor)
        return places[at] if at < len(places) else places[-1]

    def _restore(self, window: list[int]) -> list[int]:
        """``window`` with every run a rule wrote replaced by the run it replaced."""
        back = {out: src for src, out in self.rules.items()}
        out: list[int] = []
        i = 0
        while i < len(window):
            for written, source in back.items():
                if tuple(window[i : i + len(written)]) == written:
                    out.extend(source)
                    i += len(written)
                    break
            else:
                out.append(window[i])
                i += 1
        return out

    def _rejoined(self) -> int | None:
        """After a miss: if the answer has written a few tokens of its own and is
        copying the source again just past where it parted, learn the replacement as a
        rule and return where the copy goes on; else None."""
        if self._parted is None:
            return None
        source, answer = self._parted
        tokens = self.tokens
        written = len(tokens) - answer
        if written > 2 * MAX_RUN:
            self._parted = None
            return None
        for m in range(1, min(MAX_RUN, written - 2) + 1):  # tokens the answer wrote instead
            tail = tokens[answer + m :]
            for k in range(1, MAX_RUN + 1):  # source tokens they replaced
                at = source + k
                if at + len(tail) < answer and tokens[at : at + len(tail)] == tail:
                    self._learn(tuple(tokens[source:at]), tuple(tokens[answer : answer + m]))
                    self._parted = None
                    return at + len(tail)
        return None

    def _learn(self, source: tuple[int, ...], written: tuple[int, ...]) -> None:
        if source == written:
            return
        if len(self.rules) >= MAX_RULES:
            self.rules.pop(next(iter(self.rules)))
        self.rules[source] = written

    def _copy(self, start: int, size: int) -> list[int]:
        """``size`` tokens from ``start`` on, each rule's source run written as its
        replacement; remembers where each guess came from."""
        tokens = self.tokens
        out: list[int] = []
        i = start
        while len(out) < size and i < len(tokens):
            for source, written in self.rules.items():
                if tuple(tokens[i : i + len(source)]) == source:
                    take = written[: size - len(out)]
                    out.extend(take)
                    self._origins.extend([i] * len(take))
                    self._rule_of.extend([source] * len(take))
                    i += len(source)
                    break
            else:
                out.append(tokens[i])
                self._origins.append(i)
                self._rule_of.append(None)
                i += 1
        return out
