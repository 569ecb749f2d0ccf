"""Draft lengths from what guesses cost and how often they are confirmed (pure)."""

from __future__ import annotations

import pytest

from ember.engine.draft_odds import (
    COST_RANGE,
    MATCH_BUCKETS,
    PRIOR_ACCEPT,
    DraftOdds,
    StepCosts,
    best_length,
    bucket,
    drafts_can_pay,
)


def lin(share: float, limit: int = 8) -> StepCosts:
    return StepCosts.linear(share, limit)


def test_no_draft_where_guessing_measures_slower() -> None:
    assert best_length(accept=0.6, costs=lin(0.9), limit=8) == 0  # prose on a slow CPU
    assert best_length(accept=0.99, costs=lin(0.7), limit=8) > 0  # a copy still pays
    assert best_length(accept=1.0, costs=lin(0.05), limit=8) == 8
    assert best_length(accept=1.0, costs=lin(0.05), limit=3) == 3
    assert best_length(accept=1.0, costs=lin(0.05), limit=0) == 0
    assert best_length(accept=1.0, costs=lin(0.05, limit=4), limit=8) == 4  # as far as timed


def test_cheaper_rows_and_likelier_guesses_make_longer_drafts() -> None:
    by_cost = [best_length(0.9, lin(ratio), 8) for ratio in (0.05, 0.2, 0.4, 0.7)]
    assert by_cost == sorted(by_cost, reverse=True)
    assert by_cost[0] > by_cost[-1]
    by_odds = [best_length(accept, lin(0.3), 8) for accept in (0.5, 0.7, 0.9, 0.99)]
    assert by_odds == sorted(by_odds)
    assert by_odds[0] < by_odds[-1]


def test_the_expected_gain_is_what_it_says() -> None:
    """Two guesses at 0.8 yield 1 + 0.8 + 0.64 tokens for 1.2 steps (ratio 0.1): 2.03x,
    better than one guess (1.8 / 1.1 = 1.64x)."""
    assert best_length(0.8, lin(0.1), 2) == 2


def test_match_lengths_fall_into_groups() -> None:
    assert bucket(0) == bucket(3) == 0
    assert bucket(MATCH_BUCKETS[1]) == 1
    assert bucket(100) == len(MATCH_BUCKETS) - 1


def test_step_costs_are_read_from_timed_steps_and_interpolated() -> None:
    """The least time of each row count counts (one slow moment does not decide); the
    counts not timed lie on the line between their neighbours, those past the last on
    its slope; a guessed row is never free and never dearer than COST_RANGE allows."""
    ms = 0.001
    timings = {
        1: [10 * ms, 30 * ms],
        2: [16 * ms, 16 * ms],  # a second row: 0.6 of a step
        9: [50 * ms, 90 * ms],  # eight rows: 4 steps
        17: [82 * ms, 82 * ms],  # sixteen: 7.2 steps
    }
    costs = StepCosts.from_timings(timings, limit=24)
    assert costs.limit == 24
    assert costs.at(0) == 1.0
    assert costs.at(1) == pytest.approx(1.6)
    assert costs.at(8) == pytest.approx(5.0)
    assert costs.at(4) == pytest.approx(1.6 + 3 * (5.0 - 1.6) / 7)
    assert costs.at(16) == pytest.approx(8.2)
    assert costs.at(24) == pytest.approx(8.2 + 8 * 0.4)  # past the last count: its slope
    assert costs.at(99) == costs.at(24)
    assert list(costs.of_drafts) == sorted(costs.of_drafts)

    cheap = StepCosts.from_timings({1: [0.02], 9: [0.01]}, limit=8)
    assert cheap.at(8) == pytest.approx(1 + 8 * COST_RANGE[0])  # never free
    dear = StepCosts.from_timings({1: [0.02], 9: [2.0]}, limit=8)
    assert dear.at(8) == pytest.approx(1 + 8 * COST_RANGE[1])
    with pytest.raises(ValueError, match="need one-row and several-row timings"):
        StepCosts.from_timings({9: [0.1]}, limit=8)
    with pytest.raises(ValueError, match="need one-row and several-row timings"):
        StepCosts.from_timings({1: [0.02]}, limit=8)


def test_a_curve_drafts_long_where_long_rows_are_cheap_and_not_where_short_are_dear() -> None:
    """Measured 2026-12-03 on two AVX-512 cores: SmolLM2's second row costs 0.58 of a
    step, so a one-token guess on prose (60%) does not pay though a nine-row share of
    0.41 says it would; Qwen's rows past the ninth cost 0.29, so a copy confirmed at 95%
    drafts longer than the share of the first eight (0.36) would say."""
    smollm2 = StepCosts.from_timings({1: [11.3], 2: [17.9], 9: [48.7], 17: [92.6]}, limit=16)
    assert best_length(0.6, lin(0.41), 16) == 1
    assert best_length(0.6, smollm2, 16) == 0
    qwen = StepCosts.from_timings({1: [37.3], 2: [50.4], 9: [145.9], 17: [229.4]}, limit=16)
    assert best_length(0.99, qwen, 16) == 16
    assert best_length(0.95, qwen, 16) > best_length(0.95, lin(0.36, limit=16), 16)


def test_drafts_are_made_only_where_a_copy_could_pay() -> None:
    assert drafts_can_pay(lin(0.3), 8)
    assert drafts_can_pay(lin(0.7), 8)  # the AVX2 machine: a long copy still pays
    assert not drafts_can_pay(lin(1.0), 8)  # a guessed row as dear as a step
    assert not drafts_can_pay(lin(0.3), 0)


def test_an_answers_odds_start_from_the_priors_and_learn_by_match_length() -> None:
    odds = DraftOdds(lin(0.3))
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
    assert DraftOdds(lin(0.3)).accept(3) == PRIOR_ACCEPT[0]  # the next answer afresh
