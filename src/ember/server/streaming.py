"""Shared route helpers: resolve the model, fail before streaming, frame SSE and NDJSON."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any, TypeVar, cast

from fastapi import Request

from ember.chat.answering import Answerer
from ember.chat.service import ChatService
from ember.chat.types import ChatDelta, ChatDone, ChatProgress, ChatRequest, EgressScope
from ember.errors import EmberError
from ember.runtime import Runtime

T = TypeVar("T")


class InvalidJSONError(EmberError):
    status = 400
    code = "invalid_json"


async def json_body(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError as exc:
        raise InvalidJSONError(f"the request body is not valid JSON: {exc}") from exc


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def chat_of(request: Request) -> ChatService:
    chat: ChatService = request.app.state.chat
    return chat


CLOUD_CONFIRM_HEADER = "x-ember-cloud"


def with_egress_scope(request: Request, chat_request: ChatRequest) -> ChatRequest:
    """Who asks, for the cloud gate: the API key's own cloud policy and id, and whether
    this one request is confirmed for the cloud (``X-Ember-Cloud: allow``)."""
    key = getattr(request.state, "api_key", None)
    confirmed = request.headers.get(CLOUD_CONFIRM_HEADER, "").strip().lower() == "allow"
    user = getattr(request.state, "user", None)
    scope = EgressScope(
        policy=getattr(key, "cloud_policy", None),
        key_id=getattr(key, "id", None),
        user_id=getattr(user, "id", None),
        confirmed=confirmed,
    )
    return replace(chat_request, egress=scope)


def chat_events(request: Request, chat_request: ChatRequest) -> AsyncIterator[ChatDelta | ChatDone]:
    """The answer's events through the one answering path (API plan: Ember's tools only
    with the ``api_tools`` setting and no tools in the request)."""
    answerer: Answerer = request.app.state.answerer
    return answerer.for_api(with_egress_scope(request, chat_request))


def chat_stream_events(
    request: Request, chat_request: ChatRequest
) -> AsyncIterator[ChatDelta | ChatDone | ChatProgress]:
    """:func:`chat_events` with :class:`ChatProgress` while the prompt is read, when the
    request asks for it (``progress``)."""
    answerer: Answerer = request.app.state.answerer
    return answerer.for_api_stream(with_egress_scope(request, chat_request))


async def resolve_model(runtime: Runtime, chat_request: ChatRequest) -> ChatRequest:
    """The installed model's canonical name (404 here, before any byte is streamed); a
    remote's model (``REMOTE/MODEL``) is the remote's to resolve, and a model the workers
    serve is the pool's."""
    name = chat_request.model or runtime.settings.default_model
    if await runtime.backends.routed_elsewhere(name):
        return replace(chat_request, model=name)
    record = runtime.models.get(name)
    return replace(chat_request, model=record.name)


async def started(events: AsyncIterator[T]) -> AsyncIterator[T]:
    """Pull the first event now, so load and context errors become HTTP errors, not a
    broken stream; then yield it and the rest."""
    first = await anext(events)

    async def chained() -> AsyncIterator[T]:
        try:
            yield first
            async for event in events:
                yield event
        finally:
            await _aclose(events)

    return chained()


async def _aclose(iterator: AsyncIterator[Any]) -> None:
    close = getattr(iterator, "aclose", None)
    if close is not None:
        await close()


_END = object()


async def merged(streams: list[AsyncIterator[T]]) -> AsyncIterator[tuple[int, T]]:
    """Items of several streams as they come, tagged with the stream's index (``n`` > 1:
    the choices are generated side by side in the engine's slots). Closing the merged
    stream (a client gone) closes every stream under it."""
    queue: asyncio.Queue[tuple[int, object]] = asyncio.Queue()

    async def pump(index: int, stream: AsyncIterator[T]) -> None:
        try:
            async for item in stream:
                await queue.put((index, item))
        except Exception as exc:  # noqa: BLE001 - handed to the consumer, raised there
            await queue.put((index, exc))
            return
        finally:
            await _aclose(stream)
        await queue.put((index, _END))

    tasks = [asyncio.create_task(pump(i, s)) for i, s in enumerate(streams)]
    try:
        remaining = len(tasks)
        while remaining:
            index, item = await queue.get()
            if item is _END:
                remaining -= 1
            elif isinstance(item, Exception):
                raise item
            else:
                yield index, cast(T, item)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def sse(data: dict[str, Any] | str) -> bytes:
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return f"data: {text}\n\n".encode()


def ndjson(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, ensure_ascii=False) + "\n").encode()


def raise_if_failed(done: ChatDone) -> None:
    """A non-streamed answer that failed mid-generation becomes an HTTP error."""
    if done.finish_reason == "error":
        raise EmberError(f"generation failed: {done.error or 'unknown error'}")


def epoch_seconds(iso: str) -> float:
    """A timestamp stored by SQLite ('2026-11-23T10:00:00.000Z') as epoch seconds."""
    from datetime import datetime

    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0
