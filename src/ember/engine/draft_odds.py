"""Whether a draft pays for itself on this machine, and how long it should be.

A guessed token is checked in the same ``llama_decode`` as the real one, but it is not
free: each extra row costs a share of a step, and that share depends on the machine.
On a memory-bound CPU (wide vectors, AVX-512) nine rows cost about three steps; on a
compute-bound one (AVX2 at two cores, measured 2026-12-02) they cost six or seven, and
only a near-certain copy is worth guessing. So two things decide a draft's length:

- **the cost** of a step with ``k`` guessed rows, in one-row steps (:class:`StepCosts`),
  timed at a few row counts once when the model is loaded
  (engine/llamacpp/step_costs.py) and then fixed for the model's life. It is not a
  straight line: on two AVX-512 cores (2026-12-03) a second row cost SmolLM2 0.58 of a
  step and each of eight 0.41, while Qwen's rows past the ninth cost 0.29 each against
  0.36 for the first eight. One share timed at nine rows guessed too often for short
  drafts on SmolLM2 and too short for long copies on Qwen (llama-server's 48-token
  drafts quoted a passage 16% faster than Ember's 8);
- **the odds** (:class:`DraftOdds`, one per answer): how often a guessed token is
  confirmed, by how long the match was that the guess came from (three tokens of prose
  shared with the prompt by chance are confirmed about 60% of the time, a copied line
  of 16 tokens 95%), starting from measured priors and learning from the answer's own
  drafts;

and :func:`best_length` picks the draft length with the most tokens per unit of time:
none at all where guessing measures slower.

Why fixed and per answer: a length that followed live timings and earlier answers'
luck would compute the same greedy request in other batch shapes from one time to the
next, and llama.cpp rounds other batch shapes differently, so two answers to the same
request could part after a near tie. With the cost fixed at load and the odds starting
afresh for each answer, the same request alone gives the same drafts, the same batches
and the same tokens.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

# Match lengths (tokens equal before the guess) grouped where acceptance changed when
# measured on quotes, edits, summaries, stories and explanations with both starters.
MATCH_BUCKETS = (3, 4, 8, 16)
# Per-token confirmation before anything is observed, by bucket: what those runs saw,
# rounded down (2026-12-02; greedy and sampled alike).
PRIOR_ACCEPT = (0.6, 0.75, 0.9, 0.95)
PRIOR_WEIGHT = 8.0  # the prior counts as this many observed guesses
MEMORY = 200.0  # observations older than about this many guesses fade
BEST_ACCEPT = 0.99  # what a long copy confirms at best: if even that does not pay, no drafts
# Draft only for an expected 10% gain or more: the Python work of a drafted step is not
# in the sum, and at 3% the server beside llama-server lost 12-17% on prose (2026-12-02).
MARGIN = 1.10
COST_RANGE = (0.02, 2.0)  # a guessed row's measured share of a step is kept within this


@dataclass(frozen=True)
class StepCosts:
    """What a step with ``k`` guessed rows costs in one-row steps, for ``k`` from 0 (1.0)
    to ``limit``: never decreasing, each guessed row's share within ``COST_RANGE``."""

    of_drafts: tuple[float, ...]

    @property
    def limit(self) -> int:
        return len(self.of_drafts) - 1

    def at(self, drafts: int) -> float:
        return self.of_drafts[min(drafts, self.limit)]

    @classmethod
    def linear(cls, share: float, limit: int) -> StepCosts:
        """Each guessed row costing ``share`` of a step (for tests and what-ifs)."""
        return cls(tuple(1.0 + share * k for k in range(limit + 1)))

    @classmethod
    def from_timings(cls, timings: Mapping[int, Sequence[float]], limit: int) -> StepCosts:
        """From step times in seconds by the step's row count (1 and at least one more):
        the least of each count's times (noise on a shared machine only adds time),
        interpolated between the counts timed and extended past the last at its slope."""
        if 1 not in timings or not timings[1] or not any(r > 1 and t for r, t in timings.items()):
            raise ValueError("step costs need one-row and several-row timings")
        single = min(timings[1])
        if single <= 0:
            raise ValueError("a one-row step cannot take no time")
        rows = [1, *sorted(r for r, t in timings.items() if r > 1 and t)]
        cost = [1.0, *(min(timings[r]) / single for r in rows[1:])]
        low, high = COST_RANGE
        out = [1.0]
        for k in range(1, limit + 1):
            at = min(bisect_right(rows, k + 1), len(rows) - 1)  # the segment ending at `at`
            slope = (cost[at] - cost[at - 1]) / (rows[at] - rows[at - 1])
            value = cost[at] + slope * (k + 1 - rows[at])
            value = min(max(value, 1.0 + low * k), 1.0 + high * k)
            out.append(max(value, out[-1]))
        return cls(tuple(out))

    def __str__(self) -> str:
        shown = sorted({1, min(8, self.limit), self.limit} - {0})
        return ", ".join(f"{k} guessed: {self.at(k):.2f}" for k in shown)


def best_length(accept: float, costs: StepCosts, limit: int) -> int:
    """The draft length (0..limit) with the most expected tokens per unit of step time,
    or 0 when no length beats plain decoding by ``MARGIN``.

    With per-token confirmation ``accept``, a draft of ``k`` yields ``1 + a + … + a^k``
    tokens on average (the real token, then each guess while all before it held), for a
    step that costs ``costs.at(k)`` plain steps."""
    best, best_gain = 0, MARGIN
    expected, term = 1.0, 1.0
    for k in range(1, min(limit, costs.limit) + 1):
        term *= accept
        expected += term
        gain = expected / costs.at(k)
        if gain > best_gain:
            best, best_gain = k, gain
    return best


def drafts_can_pay(costs: StepCosts, limit: int) -> bool:
    """Whether any draft could be faster here: a long copy, confirmed at its best."""
    return best_length(BEST_ACCEPT, costs, limit) > 0


def bucket(match: int) -> int:
    """The index of the match-length group ``match`` falls into (short matches: 0)."""
    index = 0
    for i, lower in enumerate(MATCH_BUCKETS):
        if match >= lower:
            index = i
    return index


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
    """How one answer's drafts have done, by match length, from the priors on; with
    what guessed rows cost on this machine (``costs``, fixed)."""

    costs: StepCosts
    _tallies: list[_Tally] = field(default_factory=_priors)

    def accept(self, match: int) -> float:
        return self._tallies[bucket(match)].accept

    def length(self, match: int, limit: int) -> int:
        """How many tokens to guess after a match of ``match`` tokens (0: none)."""
        return best_length(self.accept(match), self.costs, limit)

    def observe(self, match: int, drafted: int, confirmed: int) -> None:
        """A draft of ``drafted`` tokens had its first ``confirmed`` confirmed: each
        confirmed token counts once, the miss (if any) once; what is older fades."""
        if drafted <= 0:
            return
        tally = self._tallies[bucket(match)]
        fade = 1.0 - (confirmed + 1) / MEMORY
        tally.confirmed = tally.confirmed * fade + confirmed
        tally.missed = tally.missed * fade + (1 if confirmed < drafted else 0)
