"""Draft lengths from what guesses cost and how often they are confirmed (pure)."""

from __future__ import annotations

from ember.engine.draft_odds import (
    MATCH_BUCKETS,
    PRIOR_COST,
    PROBE_EVERY,
    DraftOdds,
    StepCost,
    best_length,
    bucket,
)


def test_no_draft_where_guessing_measures_slower() -> None:
    assert best_length(accept=0.6, cost_ratio=0.9, limit=8) == 0  # prose on a slow CPU
    assert best_length(accept=0.99, cost_ratio=0.9, limit=8) > 0  # a copy still pays
    assert best_length(accept=1.0, cost_ratio=0.05, limit=8) == 8
    assert best_length(accept=1.0, cost_ratio=0.05, limit=3) == 3
    assert best_length(accept=1.0, cost_ratio=0.05, limit=0) == 0


def test_cheaper_rows_and_likelier_guesses_make_longer_drafts() -> None:
    by_cost = [best_length(0.9, ratio, 8) for ratio in (0.05, 0.2, 0.4, 0.7)]
    assert by_cost == sorted(by_cost, reverse=True)
    assert by_cost[0] > by_cost[-1]
    by_odds = [best_length(accept, 0.3, 8) for accept in (0.5, 0.7, 0.9, 0.99)]
    assert by_odds == sorted(by_odds)
    assert by_odds[0] < by_odds[-1]


def test_the_expected_gain_is_what_it_says() -> None:
    """Two guesses at 0.8 yield 1 + 0.8 + 0.64 tokens for 1.2 steps (ratio 0.1): 2.03x,
    better than one guess (1.8 / 1.1 = 1.64x)."""
    assert best_length(0.8, 0.1, 2) == 2


def test_match_lengths_fall_into_groups() -> None:
    assert bucket(0) == bucket(3) == 0
    assert bucket(MATCH_BUCKETS[1]) == 1
    assert bucket(100) == len(MATCH_BUCKETS) - 1


def test_the_cost_of_a_row_is_learned_from_timed_steps() -> None:
    cost = StepCost()
    assert cost.ratio == PRIOR_COST
    cost.observe(9, 0.1)  # no one-row step yet: nothing to compare with
    assert cost.ratio == PRIOR_COST
    for _ in range(20):
        cost.observe(1, 0.020)
    for _ in range(20):
        cost.observe(9, 0.020 + 8 * 0.018)  # each extra row 90% of a step (AVX2, 2 cores)
    assert abs(cost.ratio - 0.9) < 0.02


def test_confirmations_are_learned_by_match_length_and_sampling() -> None:
    odds = DraftOdds(cost=StepCost(one_row=0.02, extra_share=0.3))
    before = odds.accept(3, sampled=True)
    for _ in range(50):
        odds.observe(3, sampled=True, drafted=4, confirmed=0)
    assert odds.accept(3, sampled=True) < before / 2
    assert odds.length(3, sampled=True, limit=8) == 0  # prose sampled: stop guessing
    assert odds.accept(3, sampled=False) == before  # greedy answers keep their own count
    for _ in range(50):
        odds.observe(20, sampled=False, drafted=8, confirmed=8)
    assert odds.accept(20, sampled=False) > 0.99
    assert odds.length(20, sampled=False, limit=8) == 8


def test_guessing_that_stopped_is_measured_again_now_and_then() -> None:
    odds = DraftOdds(cost=StepCost(one_row=0.02, extra_share=1.5))
    assert odds.length(20, sampled=False, limit=8) == 0
    for _ in range(PROBE_EVERY):
        odds.cost.observe(1, 0.02)
    assert 0 < odds.length(20, sampled=False, limit=8) <= 8  # a probe after a long match
    assert odds.length(3, sampled=False, limit=8) == 0  # not after a short one
    odds.cost.observe(5, 0.1)
    assert odds.length(20, sampled=False, limit=8) == 0
