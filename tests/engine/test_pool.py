"""Model lifecycle policy with an injected opener and clock (the real engine: elsewhere)."""

from __future__ import annotations

import asyncio

import pytest

from ember.engine.pool import EnginePool
from ember.errors import EmberError


class FakeEngine:
    def __init__(self, name: str) -> None:
        self.name = name
        self.closed = False

    def close(self) -> None:
        self.closed = True


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def make_pool(budget: int = 100, keep_alive: float = 60.0) -> tuple[EnginePool, list[str], Clock]:
    opened: list[str] = []
    clock = Clock()

    async def opener(name: str) -> tuple[FakeEngine, int]:
        await asyncio.sleep(0.01)
        if name == "broken":
            raise EmberError("llama.cpp could not load broken")
        opened.append(name)
        return FakeEngine(name), 40

    return (
        EnginePool(opener, memory_budget=budget, keep_alive=keep_alive, clock=clock),
        opened,
        clock,
    )


def test_loads_on_first_use_and_reuses() -> None:
    pool, opened, _ = make_pool()

    async def go() -> None:
        async with pool.use("a") as first:
            pass
        async with pool.use("a") as second:
            assert second is first

    asyncio.run(go())
    assert opened == ["a"]


def test_concurrent_first_use_loads_once() -> None:
    pool, opened, _ = make_pool()

    async def go() -> None:
        async def borrow() -> None:
            async with pool.use("a"):
                await asyncio.sleep(0.01)

        await asyncio.gather(*(borrow() for _ in range(5)))

    asyncio.run(go())
    assert opened == ["a"]


def test_lru_unload_over_budget_spares_models_in_use() -> None:
    pool, _, clock = make_pool(budget=100)

    async def go() -> None:
        async with pool.use("a"):
            clock.now = 1
            async with pool.use("b"):
                clock.now = 2
                async with pool.use("c"):  # 120 > 100 but a and b are in use
                    assert {e.name for e in pool.loaded()} == {"a", "b", "c"}
        clock.now = 3
        async with pool.use("d"):  # a is least recently used and idle now
            pass

    asyncio.run(go())
    assert {e.name for e in pool.loaded()} <= {"b", "c", "d"}
    assert pool.used_bytes <= 120


def test_memory_held_outside_the_pool_counts_in_its_budget() -> None:
    pool, _, clock = make_pool(budget=100)

    async def go() -> None:
        async with pool.use("a"):
            pass
        clock.now = 1
        pool.hold("documents embedder", 30)
        assert pool.used_bytes == 70
        async with pool.use("b"):  # 40 + 40 + 30 > 100: the idle "a" makes room
            assert [e.name for e in pool.loaded()] == ["b"]
        pool.release("documents embedder")
        assert pool.used_bytes == 40

    asyncio.run(go())


def test_keep_alive_expiry_and_zero_keep_alive() -> None:
    pool, _, clock = make_pool(keep_alive=60)

    async def go() -> None:
        async with pool.use("a"):
            pass
        async with pool.use("b", keep_alive=0):
            pass

    asyncio.run(go())
    assert pool.expire() == ["b"]
    clock.now = 61
    assert pool.expire() == ["a"]
    assert pool.loaded() == []


def test_failed_load_leaves_others_serving() -> None:
    pool, _, _ = make_pool()

    async def go() -> None:
        async with pool.use("a"):
            pass
        with pytest.raises(EmberError, match="could not load"):
            async with pool.use("broken"):
                pass
        async with pool.use("a") as engine:
            assert isinstance(engine, FakeEngine)
            assert not engine.closed

    asyncio.run(go())
    assert [e.name for e in pool.loaded()] == ["a"]
