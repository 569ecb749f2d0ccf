"""Ollama-compatible generation (/api): chat, generate, embeddings — thin adapters over
the answering path (model management is routes_ollama_models.py)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from ember.chat.grammar import grammar_for
from ember.chat.types import ChatDelta, ChatDone
from ember.engine.base import Chunk, FinishReason, TokenLogprob
from ember.errors import EmberError
from ember.server import wire_ollama as wire
from ember.server.streaming import (
    chat_events,
    chat_of,
    json_body,
    ndjson,
    raise_if_failed,
    resolve_model,
    runtime_of,
    started,
)
from ember.server.wire_common import parse_body, shorten
from ember.server.wire_ollama import RawGenerate
from ember.server.wire_ollama_models import (
    ChatBody,
    EmbedBody,
    EmbeddingsBody,
    GenerateBody,
)
from ember.server.wire_ollama_responses import Durations, rfc3339

router = APIRouter(prefix="/api")


@router.post("/chat", response_model=None)
async def chat(request: Request) -> Any:
    t0 = time.perf_counter()
    body = parse_body(ChatBody, await json_body(request))
    action = wire.load_only(body)
    if action is not None:
        return await _load_or_unload(request, body.model, body.keep_alive, action, "chat")
    chat_request = await resolve_model(runtime_of(request), wire.chat_to_request(body))
    model = body.model
    events = await started(chat_events(request, chat_request))
    if not chat_request.stream:
        logprobs: list[TokenLogprob] = []
        async for event in events:
            if isinstance(event, ChatDelta):
                logprobs.extend(event.logprobs)
            else:
                raise_if_failed(event)
                return wire.chat_response(
                    event,
                    model=model,
                    created_at=rfc3339(time.time()),
                    durations=Durations(total_s=time.perf_counter() - t0),
                    logprobs=logprobs,
                )
        raise EmberError("the generation ended without a result")

    async def lines() -> AsyncIterator[bytes]:
        async for event in events:
            now = rfc3339(time.time())
            if isinstance(event, ChatDelta):
                yield ndjson(wire.chat_stream_chunk(event, model=model, created_at=now))
            else:
                if event.error:
                    yield ndjson({"error": event.error})
                yield ndjson(
                    wire.chat_response(
                        event,
                        model=model,
                        created_at=now,
                        streamed=True,
                        durations=Durations(total_s=time.perf_counter() - t0),
                    )
                )

    return StreamingResponse(lines(), media_type="application/x-ndjson")


@router.post("/generate", response_model=None)
async def generate(request: Request) -> Any:
    """One prompt through the model's chat template, or as written with ``raw``."""
    t0 = time.perf_counter()
    body = parse_body(GenerateBody, await json_body(request))
    action = wire.load_only(body)
    if action is not None:
        return await _load_or_unload(request, body.model, body.keep_alive, action, "generate")
    converted = wire.generate_to_request(body)
    model = body.model
    if isinstance(converted, RawGenerate):
        chunks = await _raw_chunks(request, converted)
    else:
        chat_request = await resolve_model(runtime_of(request), converted)
        chunks = _as_chunks(await started(chat_events(request, chat_request)))

    def final(
        text: str, last: Chunk, streamed: bool, logprobs: list[TokenLogprob] | None = None
    ) -> dict[str, Any]:
        return wire.generate_response(
            text,
            model=model,
            created_at=rfc3339(time.time()),
            finish_reason=last.finish_reason or "stop",
            usage=last.usage,
            durations=Durations(total_s=time.perf_counter() - t0),
            streamed=streamed,
            logprobs=logprobs,
        )

    if not converted.stream:
        text = ""
        logprobs: list[TokenLogprob] = []
        async for chunk in chunks:
            text += chunk.text
            logprobs.extend(chunk.logprobs)
            if chunk.finish_reason is not None:
                if chunk.finish_reason == "error":
                    raise EmberError(f"generation failed: {chunk.error or 'unknown error'}")
                return final(text, chunk, streamed=False, logprobs=logprobs)
        raise EmberError("the generation ended without a result")

    async def lines() -> AsyncIterator[bytes]:
        async for chunk in chunks:
            if chunk.text or chunk.logprobs:
                now = rfc3339(time.time())
                yield ndjson(
                    wire.generate_stream_chunk(
                        chunk.text, model=model, created_at=now, logprobs=chunk.logprobs
                    )
                )
            if chunk.finish_reason is not None:
                if chunk.error:
                    yield ndjson({"error": chunk.error})
                yield ndjson(final("", chunk, streamed=True))

    return StreamingResponse(lines(), media_type="application/x-ndjson")


async def _raw_chunks(request: Request, raw: RawGenerate) -> AsyncIterator[Chunk]:
    """``raw: true``: the prompt goes to the engine as written (grammar from ``format``)."""
    model = runtime_of(request).models.get(raw.model).name
    generate = replace(
        raw.request,
        sampling=replace(raw.request.sampling, grammar=grammar_for(raw.response_format)),
    )
    return await started(chat_of(request).generate(model, generate, raw.keep_alive, raw.num_ctx))


async def _as_chunks(events: AsyncIterator[ChatDelta | ChatDone]) -> AsyncIterator[Chunk]:
    """Chat events as engine-shaped chunks, so templated and raw generate share one path."""
    async for event in events:
        if isinstance(event, ChatDelta):
            yield Chunk(text=event.content, logprobs=event.logprobs)
        else:
            yield Chunk(finish_reason=_chunk_reason(event), usage=event.usage, error=event.error)


def _chunk_reason(done: ChatDone) -> FinishReason:
    return "stop" if done.finish_reason == "tool_calls" else done.finish_reason


async def _load_or_unload(
    request: Request,
    name: str,
    keep_alive: float | None,
    action: Literal["load", "unload"],
    endpoint: Literal["chat", "generate"],
) -> dict[str, Any]:
    """An empty chat/generate: load the model (or, with keep_alive 0, unload it)."""
    model = runtime_of(request).models.get(name).name
    chat = chat_of(request)
    if action == "unload":
        chat.unload(model)
    else:
        await chat.load(model, keep_alive)
    return wire.load_response(
        model=name, created_at=rfc3339(time.time()), action=action, endpoint=endpoint
    )


@router.post("/embed")
async def embed(request: Request) -> dict[str, Any]:
    t0 = time.perf_counter()
    body = parse_body(EmbedBody, await json_body(request))
    model = runtime_of(request).models.get(body.model).name
    vectors, tokens = await chat_of(request).embed(
        model, wire.embed_inputs(body), body.keep_alive, truncate=body.truncate is not False
    )
    return wire.embed_response(
        [shorten(v, body.dimensions) for v in vectors],
        model=body.model,
        prompt_tokens=tokens,
        durations=Durations(total_s=time.perf_counter() - t0),
    )


@router.post("/embeddings")
async def embeddings(request: Request) -> dict[str, Any]:
    """The older one-text endpoint; an empty prompt gives an empty vector, as Ollama does."""
    body = parse_body(EmbeddingsBody, await json_body(request))
    model = runtime_of(request).models.get(body.model).name
    if not body.prompt:
        return wire.embeddings_response([])
    vectors, _ = await chat_of(request).embed(model, [body.prompt], body.keep_alive)
    return wire.embeddings_response(vectors[0])
