"""Draft lengths from what guesses cost and how often they are confirmed (pure)."""

from __future__ import annotations

import pytest

from ember.engine.draft_odds import (
    COST_RANGE,
    MATCH_BUCKETS,
    PRIOR_ACCEPT,
    DraftOdds,
    best_length,
    bucket,
    drafts_can_pay,
    row_cost,
)


def test_no_draft_where_guessing_measures_slower() -> None:
    assert best_length(accept=0.6, cost_ratio=0.9, limit=8) == 0  # prose on a slow CPU
    assert best_length(accept=0.99, cost_ratio=0.7, limit=8) > 0  # a copy still pays
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


def test_a_rows_cost_is_read_from_timed_steps() -> None:
    # each extra row 90% of a step (AVX2, 2 cores); one slow moment does not decide
    one_row = [0.020, 0.021, 0.060]
    nine_rows = [0.020 + 8 * 0.018, 0.9, 0.020 + 8 * 0.018]
    assert abs(row_cost(one_row, 9, nine_rows) - 0.9) < 0.06
    assert row_cost([0.02], 9, [0.01]) == COST_RANGE[0]  # never free, never negative
    assert row_cost([0.02], 9, [2.0]) == COST_RANGE[1]
    with pytest.raises(ValueError, match="needs one-row and several-row timings"):
        row_cost([], 9, [0.1])
    with pytest.raises(ValueError, match="needs one-row and several-row timings"):
        row_cost([0.02], 1, [0.1])


def test_drafts_are_made_only_where_a_copy_could_pay() -> None:
    assert drafts_can_pay(0.3, 8)
    assert drafts_can_pay(0.7, 8)  # the AVX2 machine: a long copy still pays
    assert not drafts_can_pay(1.0, 8)  # a guessed row as dear as a step
    assert not drafts_can_pay(0.3, 0)


def test_an_answers_odds_start_from_the_priors_and_learn_by_match_length() -> None:
    odds = DraftOdds(cost_ratio=0.3)
    assert odds.accept(3) == PRIOR_ACCEPT[0]
    assert odds.accept(20) == PRIOR_ACCEPT[-1]
    for _ in range(50):
        odds.observe(3, drafted=4, confirmed=0)
    assert odds.accept(3) < PRIOR_ACCEPT[0] / 2
    assert odds.length(3, limit=8) == 0  # this answer's prose: stop guessing
    assert odds.accept(20) == PRIOR_ACCEPT[-1]  # long matches keep their own count
    for _ in range(50):
        odds.observe(20, drafted=8, confirmed=8)
    assert odds.accept(20) > 0.99
    assert odds.length(20, limit=8) == 8
    assert DraftOdds(cost_ratio=0.3).accept(3) == PRIOR_ACCEPT[0]  # the next answer afresh
