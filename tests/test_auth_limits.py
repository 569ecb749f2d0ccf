"""The sign-in throttle's and the per-user limits' arithmetic, on a clock the test moves."""

from __future__ import annotations

from pathlib import Path

import pytest

from ember.auth.throttle import FREE, FREE_PER_ADDRESS, MAX_WAIT_S, WINDOW_S, SignInThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_waits_double_after_the_free_tries_and_a_success_clears_the_name() -> None:
    clock = Clock()
    throttle = SignInThrottle(clock)
    for _ in range(FREE):
        assert throttle.wait_s("name:alice", "addr:1") == 0
        throttle.failed("name:alice", "addr:1")
    assert throttle.wait_s("name:alice", "addr:1") == 2.0
    assert throttle.wait_s("name:bob", "addr:1") == 0  # another name from there: free
    throttle.failed("name:alice", "addr:1")
    assert throttle.wait_s("name:alice", "addr:2") == 4.0
    clock.now += 4.0
    assert throttle.wait_s("name:alice", "addr:2") == 0
    for _ in range(20):
        throttle.failed("name:alice", "addr:2")
    assert throttle.wait_s("name:alice", "addr:9") == MAX_WAIT_S
    throttle.succeeded("name:alice")
    assert throttle.wait_s("name:alice", "addr:9") == 0


def test_one_address_guessing_many_names_is_slowed_and_old_failures_expire() -> None:
    clock = Clock()
    throttle = SignInThrottle(clock)
    for i in range(FREE_PER_ADDRESS):
        throttle.failed(f"name:user{i}", "addr:1")
    assert throttle.wait_s("name:fresh", "addr:1") > 0
    assert throttle.wait_s("name:fresh", "addr:2") == 0
    clock.now += WINDOW_S + 1
    assert throttle.wait_s("name:fresh", "addr:1") == 0


def test_user_limits_per_minute_and_per_day(tmp_path: Path) -> None:
    from datetime import datetime, timezone

    from ember.auth.quotas import QuotaExceededError, RateLimitedError, UsageLedger, UserLimits
    from ember.auth.users import UserStore
    from ember.storage import Database

    db = Database(tmp_path / "ember.db")
    users = UserStore(db)
    alice = users.add("alice", "a long password")
    clock = Clock()
    ledger = UsageLedger(db)
    limits = UserLimits(ledger, per_minute=2, tokens_per_day=100, clock=clock)
    limits.admit(alice)
    limits.admit(alice)
    with pytest.raises(RateLimitedError) as refused:
        limits.admit(alice)
    assert refused.value.retry_after_s == 60
    clock.now += 61
    limits.admit(alice)
    ledger.record(alice.id, 60, 40)
    noon = datetime.now(timezone.utc).replace(hour=12, minute=0, second=0, microsecond=0)
    with pytest.raises(QuotaExceededError) as over:
        limits.admit(alice, now=noon)
    assert over.value.retry_after_s == 12 * 3600
    unlimited = users.set_limits("alice", per_minute=0, tokens_per_day=0)  # her own: none
    for _ in range(5):
        limits.admit(unlimited, now=noon)
