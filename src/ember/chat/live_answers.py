"""Answers that keep going when nobody is watching.

With answers that take 30 s or more on two cores, people reload, switch conversations or
close the lid and expect the answer to be there (ChatGPT's behaviour). So a web-chat
answer runs in its own task, not in the HTTP response: a client follows it (the events so
far, then the new ones as they come), and leaving stops only the following. Stopping is
an explicit call (:meth:`LiveAnswers.stop`: the page's Stop button and Esc, Ctrl+C in
``ember chat``). An answer nobody follows is still bounded by its token limit.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Generic, TypeVar

T = TypeVar("T")


class LiveAnswer(Generic[T]):
    """One answer's events, produced by a task of its own and kept for its followers."""

    def __init__(self, events: AsyncIterator[T]) -> None:
        self.events: list[T] = []
        self.finished = False
        self.error: BaseException | None = None
        self._changed = asyncio.Event()
        self.task = asyncio.get_running_loop().create_task(self._run(events))

    async def _run(self, events: AsyncIterator[T]) -> None:
        try:
            async for event in events:
                self.events.append(event)
                self._notify()
        except asyncio.CancelledError:
            pass  # stopped: the answer's own clean-up (keep what was written) has run
        except Exception as exc:  # noqa: BLE001 - re-raised to each follower, as it came
            self.error = exc
        finally:
            close = getattr(events, "aclose", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    await close()
            self.finished = True
            self._notify()

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def follow(self) -> AsyncIterator[T]:
        """Every event from the first; then each new one until the answer ends (its error,
        if it failed, is raised here). Leaving early leaves the answer running."""
        seen = 0
        while True:
            changed = self._changed
            while seen < len(self.events):
                yield self.events[seen]
                seen += 1
            if self.finished:
                if self.error is not None:
                    raise self.error
                return
            await changed.wait()

    def stop(self) -> None:
        self.task.cancel()


class LiveAnswers(Generic[T]):
    """The answers running now, by conversation."""

    def __init__(self) -> None:
        # By conversation, in the order they started (a dict as an ordered set).
        self._running: dict[str, dict[LiveAnswer[T], None]] = {}

    def start(self, conversation_id: str, events: AsyncIterator[T]) -> LiveAnswer[T]:
        answer = LiveAnswer(events)
        running = self._running.setdefault(conversation_id, {})
        running[answer] = None

        def forget(_task: asyncio.Task[None]) -> None:
            running.pop(answer, None)
            if not running and self._running.get(conversation_id) is running:
                del self._running[conversation_id]

        answer.task.add_done_callback(forget)
        return answer

    def running(self, conversation_id: str) -> int:
        return len(self._running.get(conversation_id, ()))

    def latest(self, conversation_id: str) -> LiveAnswer[T] | None:
        """The conversation's answer being written now (the last started), if any: a page
        that opens the conversation follows it from its first event."""
        running = self._running.get(conversation_id)
        return next(reversed(running), None) if running else None

    async def stop(self, conversation_id: str) -> int:
        """Stop the conversation's running answers (each keeps what it wrote, marked
        incomplete); returns how many there were."""
        answers = list(self._running.get(conversation_id, ()))
        for answer in answers:
            answer.stop()
        await asyncio.gather(*(a.task for a in answers), return_exceptions=True)
        return len(answers)

    async def close(self) -> None:
        """At shutdown: stop them all."""
        for conversation_id in list(self._running):
            await self.stop(conversation_id)
