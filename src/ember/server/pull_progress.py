"""Bridge a pull running in a worker thread to Ollama's NDJSON progress lines.

The model store reports through the :class:`~ember.models.progress.Progress` protocol
from its thread; this turns those calls into ``/api/pull`` lines on the event loop,
at most a few per second for byte counts so a fast local copy does not flood the client.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from ember.server.wire_ollama_listings import progress

_CLOSED = object()
MIN_INTERVAL_S = 0.1


class PullProgress:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._description = ""
        self._total: int | None = None
        self._completed = 0
        self._last_sent = 0.0

    # ----------------------------------------------------- Progress (worker thread)

    def status(self, message: str) -> None:
        self.put(progress(message))

    def start(self, description: str, total: int | None, completed: int = 0) -> None:
        self._description, self._total, self._completed = description, total, completed
        self._send_bytes(force=True)

    def advance(self, nbytes: int) -> None:
        self._completed += nbytes
        self._send_bytes(force=False)

    def finish(self) -> None:
        self._send_bytes(force=True)

    def _send_bytes(self, *, force: bool) -> None:
        now = time.monotonic()
        if not force and now - self._last_sent < MIN_INTERVAL_S:
            return
        self._last_sent = now
        digest = self._description if self._description.startswith("sha256:") else None
        self.put(
            progress(
                f"pulling {self._description}",
                digest=digest,
                total=self._total,
                completed=self._completed,
            )
        )

    # ------------------------------------------------------------- both sides

    def put(self, line: dict[str, Any]) -> None:
        self._loop.call_soon_threadsafe(self._queue.put_nowait, line)

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._queue.put_nowait, _CLOSED)

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        while True:
            line = await self._queue.get()
            if line is _CLOSED:
                return
            assert isinstance(line, dict)
            yield line
