"""Whether a draft pays for itself on this machine, and how long it should be.

A guessed token is checked in the same ``llama_decode`` as the real one, but it is not
free: each extra row costs a share of a step, and that share depends on the machine.
On a memory-bound CPU (wide vectors, AVX-512) nine rows cost about three steps; on a
compute-bound one (AVX2 at two cores, measured 2026-12-02) they cost six or seven, and
only a near-certain copy is worth guessing. So the engine measures both sides as it
runs instead of assuming either:

- **the cost** (:class:`StepCost`): the time of a lone sequence's step by its number of
  rows, as moving averages: one row, and each extra row as a share of it;
- **the odds** (:class:`DraftOdds`): how often a guessed token is confirmed, by how
  long the match was that the guess came from (three tokens of prose shared with the
  prompt by chance are confirmed about 60% of the time, a copied line of 16 tokens 95%)
  and by whether the answer is sampled (temperature > 0 confirms less);

and :func:`best_length` picks the draft length with the most tokens per unit of time:
none at all where guessing measures slower.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Match lengths (tokens equal before the guess) grouped where acceptance changed when
# measured on quotes, edits, summaries, stories and explanations with both starters.
MATCH_BUCKETS = (3, 4, 8, 16)
# Per-token confirmation before anything is observed, by bucket: what those runs saw,
# rounded down (2026-12-02; greedy and sampled alike: sampled is learned separately).
PRIOR_ACCEPT = (0.6, 0.75, 0.9, 0.95)
PRIOR_WEIGHT = 8.0  # the prior counts as this many observed guesses
MEMORY = 200.0  # observations older than about this many guesses fade
PRIOR_COST = 0.5  # an extra row's cost as a share of a step, until one is measured
MARGIN = 1.03  # draft only for an expected 3% gain or more: the measurements are noisy
# Once guessing has stopped, the cost is measured again now and then (a slow moment
# must not switch it off for good): a short draft after a long match, every this many
# one-row steps.
PROBE_EVERY = 256
PROBE_LENGTH = 4


def best_length(accept: float, cost_ratio: float, limit: int) -> int:
    """The draft length (0..limit) with the most expected tokens per unit of step time,
    or 0 when no length beats plain decoding by ``MARGIN``.

    With per-token confirmation ``accept``, a draft of ``k`` yields ``1 + a + … + a^k``
    tokens on average (the real token, then each guess while all before it held), for a
    step that costs ``1 + cost_ratio * k`` plain steps."""
    best, best_gain = 0, MARGIN
    expected, term = 1.0, 1.0
    for k in range(1, max(limit, 0) + 1):
        term *= accept
        expected += term
        gain = expected / (1.0 + cost_ratio * k)
        if gain > best_gain:
            best, best_gain = k, gain
    return best


def bucket(match: int) -> int:
    """The index of the match-length group ``match`` falls into (short matches: 0)."""
    index = 0
    for i, lower in enumerate(MATCH_BUCKETS):
        if match >= lower:
            index = i
    return index


@dataclass
class StepCost:
    """What one more row in a lone sequence's step costs, as a share of a one-row step,
    learned from the steps the scheduler times."""

    one_row: float | None = None  # seconds, moving average
    extra_share: float | None = None  # seconds per extra row / one_row, moving average
    since_measured: int = 0  # one-row steps since the last step with guesses

    def observe(self, rows: int, seconds: float) -> None:
        if rows <= 0 or seconds <= 0:
            return
        if rows == 1:
            self.one_row = seconds if self.one_row is None else 0.9 * self.one_row + 0.1 * seconds
            self.since_measured += 1
            return
        self.since_measured = 0
        if self.one_row is None:
            return
        share = max(0.0, (seconds - self.one_row) / (rows - 1) / self.one_row)
        if self.extra_share is None:
            self.extra_share = share
        else:
            self.extra_share = 0.8 * self.extra_share + 0.2 * share

    @property
    def ratio(self) -> float:
        return PRIOR_COST if self.extra_share is None else min(max(self.extra_share, 0.02), 2.0)


@dataclass
class _Tally:
    confirmed: float
    missed: float

    @property
    def accept(self) -> float:
        return self.confirmed / (self.confirmed + self.missed)


def _priors() -> list[_Tally]:
    return [_Tally(PRIOR_WEIGHT * a, PRIOR_WEIGHT * (1 - a)) for a in PRIOR_ACCEPT]


@dataclass
class DraftOdds:
    """How drafts have done on one model, greedy and sampled apart, by match length;
    shared by the model's sequences, so each answer starts from what earlier ones saw."""

    cost: StepCost = field(default_factory=StepCost)
    _greedy: list[_Tally] = field(default_factory=_priors)
    _sampled: list[_Tally] = field(default_factory=_priors)

    def accept(self, match: int, sampled: bool) -> float:
        return (self._sampled if sampled else self._greedy)[bucket(match)].accept

    def length(self, match: int, sampled: bool, limit: int) -> int:
        """How many tokens to guess after a match of ``match`` tokens (0: none; a
        short probe after a long match when the cost has not been measured lately)."""
        length = best_length(self.accept(match, sampled), self.cost.ratio, limit)
        stale = self.cost.since_measured >= PROBE_EVERY
        if length == 0 and stale and bucket(match) == len(MATCH_BUCKETS) - 1:
            return min(limit, PROBE_LENGTH)
        return length

    def observe(self, match: int, sampled: bool, drafted: int, confirmed: int) -> None:
        """A draft of ``drafted`` tokens had its first ``confirmed`` confirmed: each
        confirmed token counts once, the miss (if any) once; what is older fades."""
        if drafted <= 0:
            return
        tally = (self._sampled if sampled else self._greedy)[bucket(match)]
        fade = 1.0 - (confirmed + 1) / MEMORY
        tally.confirmed = tally.confirmed * fade + confirmed
        tally.missed = tally.missed * fade + (1 if confirmed < drafted else 0)
