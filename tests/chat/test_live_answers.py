"""Answers that run on without their stream (chat/live_answers.py), with a scripted
answer; the real server and model are in tests/server/test_chat_api_e2e.py."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from ember.chat.live_answers import LiveAnswers


class Script:
    """An answer of ``n`` words, one per ``gate`` release; records its clean-up."""

    def __init__(self, n: int, fail_at: int | None = None) -> None:
        self.n, self.fail_at = n, fail_at
        self.gate = asyncio.Semaphore(0)
        self.cleaned = False

    async def events(self) -> AsyncIterator[str]:
        try:
            for i in range(self.n):
                await self.gate.acquire()
                if i == self.fail_at:
                    raise RuntimeError("the model went away")
                yield f"w{i}"
        finally:
            self.cleaned = True  # the Assistant keeps the partial answer here

    def release(self, k: int) -> None:
        for _ in range(k):
            self.gate.release()


async def take(follower: AsyncIterator[str], k: int) -> list[str]:
    return [await anext(follower) for _ in range(k)]


def test_a_follower_that_leaves_does_not_stop_the_answer() -> None:
    async def scenario() -> None:
        live: LiveAnswers[str] = LiveAnswers()
        script = Script(5)
        answer = live.start("c1", script.events())
        first = answer.follow()
        script.release(2)
        assert await take(first, 2) == ["w0", "w1"]
        await first.aclose()  # the page reloads
        script.release(3)
        await asyncio.wait_for(answer.task, 5)
        assert answer.events == ["w0", "w1", "w2", "w3", "w4"]
        assert live.running("c1") == 0
        # A follower that comes later gets the whole answer.
        assert [e async for e in answer.follow()] == answer.events

    asyncio.run(scenario())


def test_two_followers_see_the_same_events_as_they_come() -> None:
    async def scenario() -> None:
        live: LiveAnswers[str] = LiveAnswers()
        script = Script(3)
        answer = live.start("c1", script.events())

        async def all_of() -> list[str]:
            return [e async for e in answer.follow()]

        a, b = asyncio.create_task(all_of()), asyncio.create_task(all_of())
        script.release(3)
        assert await asyncio.wait_for(asyncio.gather(a, b), 5) == [["w0", "w1", "w2"]] * 2

    asyncio.run(scenario())


def test_stop_ends_the_answer_and_runs_its_clean_up() -> None:
    async def scenario() -> None:
        live: LiveAnswers[str] = LiveAnswers()
        script = Script(100)
        answer = live.start("c1", script.events())
        other = live.start("c2", Script(1).events())
        script.release(2)
        follower = answer.follow()
        assert await take(follower, 2) == ["w0", "w1"]
        assert live.running("c1") == 1
        assert await live.stop("c1") == 1
        assert script.cleaned
        assert answer.finished
        assert [e async for e in follower] == []  # the follower ends too
        assert await live.stop("c1") == 0
        assert not other.finished  # another conversation's answer is not touched
        await live.close()
        assert other.finished

    asyncio.run(scenario())


def test_a_failed_answer_raises_its_error_in_each_follower() -> None:
    async def scenario() -> None:
        live: LiveAnswers[str] = LiveAnswers()
        script = Script(3, fail_at=1)
        answer = live.start("c1", script.events())
        script.release(3)
        with pytest.raises(RuntimeError, match="went away"):
            [e async for e in answer.follow()]
        assert answer.events == ["w0"]

    asyncio.run(scenario())
