"""Slowing down password guessing: after ``FREE`` failed sign-ins for one name (or
``FREE_PER_ADDRESS`` from one address: people behind one router share it) within
``WINDOW``, each further try waits, doubling from ``FIRST_WAIT`` up to ``MAX_WAIT``. A
success clears the name's failures. Kept in memory: a restart forgets, and a guesser
gains a handful of tries from it, no more.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

FREE = 5
FREE_PER_ADDRESS = 20
WINDOW_S = 15 * 60.0
FIRST_WAIT_S = 2.0
MAX_WAIT_S = 300.0


class SignInThrottle:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def wait_s(self, name: str, address: str) -> float:
        """How long the next try for ``name`` from ``address`` must wait; 0: now."""
        now = self._clock()
        return max(self._wait(name, FREE, now), self._wait(address, FREE_PER_ADDRESS, now))

    def _wait(self, key: str, free: int, now: float) -> float:
        failures = self._failures.get(key)
        if not failures:
            return 0.0
        while failures and now - failures[0] > WINDOW_S:
            failures.popleft()
        if len(failures) < free:
            return 0.0
        wait = min(FIRST_WAIT_S * 2.0 ** (len(failures) - free), MAX_WAIT_S)
        return max(0.0, failures[-1] + wait - now)

    def failed(self, *keys: str) -> None:
        now = self._clock()
        for key in keys:
            self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, key: str) -> None:
        self._failures.pop(key, None)
