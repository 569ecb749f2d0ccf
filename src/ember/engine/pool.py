"""Which models are loaded: load on first use, keep-alive, LRU unload under a memory budget.

One load at a time (loads are memory- and disk-heavy); a model in use is never unloaded;
a failed load is reported to its caller and leaves every other loaded model serving.
The opener and the clock are injected, so the policy is tested without llama.cpp.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Protocol


class Closable(Protocol):
    def close(self) -> None: ...


@dataclass
class Loaded:
    name: str
    engine: Closable
    size: int
    last_used: float
    keep_alive: float
    users: int = 0
    expires_at: float = field(default=0.0)

    def idle_expired(self, now: float) -> bool:
        return self.users == 0 and self.keep_alive >= 0 and now - self.last_used >= self.keep_alive


Opener = Callable[[str], Awaitable[tuple[Closable, int]]]  # name -> (engine, bytes it holds)


class EnginePool:
    def __init__(
        self,
        opener: Opener,
        *,
        memory_budget: int,
        keep_alive: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._open = opener
        self.memory_budget = memory_budget
        self.keep_alive = keep_alive
        self._clock = clock
        self._loaded: dict[str, Loaded] = {}
        self._held: dict[str, int] = {}  # memory held outside the pool, by holder
        self._load_lock = asyncio.Lock()

    @asynccontextmanager
    async def use(self, name: str, keep_alive: float | None = None) -> AsyncIterator[Closable]:
        """Borrow the engine for ``name``, loading it if needed; it stays loaded while used."""
        entry = await self._acquire(name, keep_alive)
        try:
            yield entry.engine
        finally:
            entry.users -= 1
            entry.last_used = self._clock()

    async def _acquire(self, name: str, keep_alive: float | None) -> Loaded:
        self.expire()
        entry = self._loaded.get(name)
        if entry is None:
            async with self._load_lock:
                entry = self._loaded.get(name)
                if entry is None:
                    engine, size = await self._open(name)
                    entry = Loaded(name, engine, size, self._clock(), self.keep_alive)
                    self._loaded[name] = entry
                    self._evict_for_budget(keep=name)
        entry.users += 1
        entry.last_used = self._clock()
        if keep_alive is not None:
            entry.keep_alive = keep_alive
        return entry

    def expire(self) -> list[str]:
        """Unload engines idle for longer than their keep-alive; returns their names."""
        now = self._clock()
        gone = [n for n, e in self._loaded.items() if e.idle_expired(now)]
        for name in gone:
            self.unload(name)
        return gone

    def _evict_for_budget(self, keep: str) -> None:
        idle = sorted(
            (e for n, e in self._loaded.items() if n != keep and e.users == 0),
            key=lambda e: e.last_used,
        )
        while self.used_bytes > self.memory_budget and idle:
            self.unload(idle.pop(0).name)

    def unload(self, name: str) -> bool:
        entry = self._loaded.pop(name, None)
        if entry is None:
            return False
        entry.engine.close()
        return True

    def hold(self, holder: str, size: int) -> None:
        """Count memory that a model outside the pool holds (the documents' embedding
        model, used synchronously from worker threads) in the budget: the next load
        unloads idle models to make room for it too."""
        self._held[holder] = size

    def release(self, holder: str) -> None:
        self._held.pop(holder, None)

    @property
    def held(self) -> dict[str, int]:
        return self._held.copy()

    @property
    def used_bytes(self) -> int:
        # held may change from a worker thread: sum a copy (dict.copy is atomic in CPython)
        return sum(e.size for e in self._loaded.values()) + sum(self._held.copy().values())

    def loaded(self) -> list[Loaded]:
        return sorted(self._loaded.values(), key=lambda e: e.name)

    def close(self) -> None:
        for name in list(self._loaded):
            self.unload(name)
