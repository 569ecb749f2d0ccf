"""The sign-in throttle's arithmetic, on a clock the test moves."""

from __future__ import annotations

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
