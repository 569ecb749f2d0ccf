"""Which backend computes an answer: ``REMOTE/MODEL`` goes to that remote, a model the
workers serve goes to the worker pool (chat/workers.py), anything else to the local
llama.cpp service. Itself a :class:`ChatBackend`, so the answering path does not know
where answers are made; every :class:`ChatDone` says (``where``)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Protocol

from ember.chat.backend import ChatBackend
from ember.chat.types import ChatDone, ChatEvent, ChatRequest
from ember.chat.workers import WorkerPool
from ember.engine.base import Usage
from ember.errors import EmberError

log = logging.getLogger(__name__)
SEPARATOR = "/"
MODELS_TTL_S = 15.0


class RemoteBackend(ChatBackend, Protocol):
    name: str
    root: str

    async def list_models(self) -> list[str]: ...


@dataclass(frozen=True)
class RemoteModel:
    name: str  # as Ember shows it: REMOTE/MODEL
    remote: str
    model: str  # the remote's own name
    url: str


UsageObserver = Callable[[str, Usage], None]


class Backends:
    def __init__(
        self,
        local: ChatBackend,
        remotes: Mapping[str, RemoteBackend] | None = None,
        on_usage: UsageObserver | None = None,
        pool: WorkerPool | None = None,
    ) -> None:
        self.local = local
        self.remotes = dict(remotes or {})
        self._on_usage = on_usage
        self.pool = pool
        self._listed: tuple[float, list[RemoteModel]] | None = None

    def remote_of(self, model: str) -> tuple[RemoteBackend, str] | None:
        """The remote a model name points at and the remote's name for it, or None (local)."""
        prefix, sep, rest = model.partition(SEPARATOR)
        remote = self.remotes.get(prefix) if sep and rest else None
        return (remote, rest) if remote is not None else None

    async def routed_elsewhere(self, model: str) -> bool:
        """Whether ``model`` is answered off this machine: a remote's (``REMOTE/MODEL``)
        or one the workers serve."""
        if self.remote_of(model) is not None:
            return True
        return self.pool is not None and await self.pool.serves(model)

    async def stream(self, request: ChatRequest) -> AsyncIterator[ChatEvent]:
        target = self.remote_of(request.model)
        if target is not None:
            remote, model = target
            events = remote.stream(replace(request, model=model, trim_to_fit=False))
        elif self.pool is not None and await self.pool.serves(request.model):
            events = self.pool.stream(request)
        else:
            async for event in self.local.stream(request):
                yield event
            return
        # Answers computed elsewhere count in this server's usage too.
        async for event in events:
            if isinstance(event, ChatDone) and self._on_usage is not None:
                self._on_usage(request.model, event.usage)
            yield event

    async def context_length(self, model: str, num_ctx: int | None = None) -> int:
        target = self.remote_of(model)
        if target is None:
            return await self.local.context_length(model, num_ctx)
        remote, name = target
        return await remote.context_length(name, num_ctx)

    async def remote_models(self) -> list[RemoteModel]:
        """Every remote's models (a remote that does not answer is left out and logged);
        kept for a few seconds, since every model list asks."""
        if self._listed is not None and time.monotonic() - self._listed[0] < MODELS_TTL_S:
            return self._listed[1]

        async def of(remote: RemoteBackend) -> list[RemoteModel]:
            try:
                ids = await remote.list_models()
            except EmberError as exc:
                log.warning("remote %s lists no models: %s", remote.name, exc)
                return []
            return [
                RemoteModel(f"{remote.name}{SEPARATOR}{m}", remote.name, m, remote.root)
                for m in ids
            ]

        listed = [
            m for ms in await asyncio.gather(*(of(r) for r in self.remotes.values())) for m in ms
        ]
        # A worker's models answer by their plain names too (the pool picks the worker).
        workers = self.pool.names() if self.pool is not None else frozenset()
        plain: dict[str, RemoteModel] = {}
        for m in listed:
            if m.remote in workers:
                plain.setdefault(m.model, RemoteModel(m.model, m.remote, m.model, m.url))
        listed += plain.values()
        self._listed = (time.monotonic(), listed)
        return listed
