"""OpenAI-compatible routes (/v1): thin adapters over the chat service."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from ember.chat.remote import SAVE_KV_HEADER
from ember.chat.types import ChatDelta, ChatDone, ChatProgress
from ember.engine.base import Chunk, TokenLogprob, Usage
from ember.errors import EmberError, ModelNotFoundError
from ember.server import wire_openai as wire
from ember.server.streaming import (
    chat_events,
    chat_of,
    chat_stream_events,
    epoch_seconds,
    json_body,
    merged,
    raise_if_failed,
    resolve_model,
    runtime_of,
    sse,
    started,
)
from ember.server.wire_common import InvalidRequestError, parse_body
from ember.server.wire_openai_models import (
    ChatCompletionRequest,
    CompletionRequest,
    EmbeddingRequest,
)

router = APIRouter(prefix="/v1")


@router.post("/chat/completions", response_model=None)
async def chat_completions(request: Request) -> Any:
    began = time.perf_counter()
    body = parse_body(ChatCompletionRequest, await json_body(request))
    chat_request = await resolve_model(runtime_of(request), wire.to_chat_request(body))
    if request.headers.get(SAVE_KV_HEADER) == "1":  # a front end's worker pool asks it
        chat_request = replace(chat_request, save_kv=True)
    model, request_id, created = (
        chat_request.model,
        f"chatcmpl-{uuid.uuid4().hex}",
        int(time.time()),
    )
    if chat_request.stream:
        frames = _chat_frames(
            await started(chat_stream_events(request, chat_request)),
            include_usage=body.include_usage,
            model=model,
            request_id=request_id,
            created=created,
            began=began,
        )
        return StreamingResponse(frames, media_type="text/event-stream")
    logprobs: list[TokenLogprob] = []
    async for event in await started(chat_events(request, chat_request)):
        if isinstance(event, ChatDelta):
            logprobs.extend(event.logprobs)
        else:
            raise_if_failed(event)
            return wire.chat_completion(
                event,
                logprobs=logprobs if chat_request.logprobs is not None else None,
                model=model,
                request_id=request_id,
                created=created,
            )
    raise EmberError("the generation ended without a result")


async def _chat_frames(
    events: AsyncIterator[ChatDelta | ChatDone | ChatProgress],
    *,
    include_usage: bool,
    model: str,
    request_id: str,
    created: int,
    began: float,
) -> AsyncIterator[bytes]:
    """The SSE frames of a streamed chat answer; progress (``return_progress``) first,
    timed from ``began``, the request's arrival."""
    ids: dict[str, Any] = {"model": model, "request_id": request_id, "created": created}
    first = True
    async for event in events:
        if isinstance(event, ChatProgress):
            elapsed = int((time.perf_counter() - began) * 1000)
            yield sse(
                wire.progress_chunk(event, time_ms=elapsed, include_usage=include_usage, **ids)
            )
            continue
        for chunk in wire.chat_chunks(event, first=first, include_usage=include_usage, **ids):
            yield sse(chunk)
        first = False
        if isinstance(event, ChatDone):
            if event.error:
                yield sse(_stream_error(event.error))
            if include_usage:
                yield sse(wire.usage_chunk(event.usage, **ids))
    yield sse("[DONE]")


@router.post("/completions", response_model=None)
async def completions(request: Request) -> Any:
    """Legacy completions: the prompt as written, no chat template; ``n`` choices per
    prompt run side by side in the engine's slots."""
    began = time.perf_counter()
    raw = await json_body(request)
    body = parse_body(CompletionRequest, raw)
    generates = wire.to_generate_requests(body)
    runtime = runtime_of(request)
    model = runtime.models.get(body.model).name
    prompts = [p if isinstance(p, str) else None for p in body.prompt]
    per_prompt = body.n or 1
    if body.echo and None in prompts:
        raise InvalidRequestError(
            "echo is supported for text prompts only", param="echo", code="unsupported_value"
        )
    echoes = [(prompts[i // per_prompt] or "") if body.echo else "" for i in range(len(generates))]
    chat = chat_of(request)
    streams = [await started(chat.generate(model, g)) for g in generates]
    request_id, created = f"cmpl-{uuid.uuid4().hex}", int(time.time())
    want_logprobs = body.logprobs is not None

    if not body.stream:
        texts = list(echoes)
        logprobs: list[list[TokenLogprob]] = [[] for _ in generates]
        finals: dict[int, Chunk] = {}
        async for index, chunk in merged(streams):
            texts[index] += chunk.text
            logprobs[index].extend(chunk.logprobs)
            if chunk.finish_reason is not None:
                finals[index] = chunk
        for chunk in finals.values():
            if chunk.finish_reason == "error":
                raise EmberError(f"generation failed: {chunk.error or 'unknown error'}")
        choices = [
            wire.completion_choice(
                texts[i],
                index=i,
                finish_reason=finals[i].finish_reason if i in finals else "cancelled",
                logprobs=logprobs[i] if want_logprobs else None,
                text_offset=len(echoes[i]),
            )
            for i in range(len(generates))
        ]
        usage = _total_usage([finals[i].usage for i in sorted(finals)], per_prompt)
        return wire.completion_response(
            choices, model=model, request_id=request_id, created=created, usage=usage
        )

    include_usage = body.include_usage

    async def frames() -> AsyncIterator[bytes]:
        offsets = [0] * len(generates)
        usages: list[Usage | None] = [None] * len(generates)
        for index, echo in enumerate(echoes):
            if echo:
                offsets[index] = len(echo)
                yield sse(_chunk(echo, index, None, None, 0))
        async for index, chunk in merged(streams):
            if chunk.prompt_progress is not None:
                read, total = chunk.prompt_progress
                yield sse(
                    wire.completion_progress_chunk(
                        read,
                        total,
                        model=model,
                        request_id=request_id,
                        created=created,
                        time_ms=int((time.perf_counter() - began) * 1000),
                        index=index,
                        include_usage=include_usage,
                    )
                )
            if chunk.finish_reason == "error":
                yield sse(_stream_error(chunk.error or "generation failed"))
            if chunk.text or chunk.logprobs or chunk.finish_reason is not None:
                lps = chunk.logprobs if want_logprobs else None
                yield sse(_chunk(chunk.text, index, chunk.finish_reason, lps, offsets[index]))
                offsets[index] += len(chunk.text)
            usages[index] = chunk.usage or usages[index]
        if include_usage:
            usage = _total_usage(usages, per_prompt)
            if usage is not None:
                yield sse(
                    wire.usage_chunk(usage, model=model, request_id=request_id, created=created)
                )
        yield sse("[DONE]")

    def _chunk(
        text: str,
        index: int,
        finish: str | None,
        lps: tuple[TokenLogprob, ...] | None,
        offset: int,
    ) -> dict[str, Any]:
        return wire.completion_chunk(
            text,
            model=model,
            request_id=request_id,
            created=created,
            index=index,
            finish_reason=finish,
            logprobs=lps,
            text_offset=offset,
            include_usage=include_usage,
        )

    return StreamingResponse(frames(), media_type="text/event-stream")


def _total_usage(usages: list[Usage | None], per_prompt: int) -> Usage | None:
    """One usage over all choices: each prompt counted once, every completion counted."""
    known = [u for u in usages if u is not None]
    if not known:
        return None
    return Usage(
        prompt_tokens=sum(
            u.prompt_tokens for i, u in enumerate(usages) if u and i % per_prompt == 0
        ),
        completion_tokens=sum(u.completion_tokens for u in known),
        cached_tokens=sum(u.cached_tokens for u in known),
        ttft_s=max(u.ttft_s for u in known),
        prompt_tps=known[0].prompt_tps,
        decode_tps=sum(u.decode_tps for u in known),
        queue_s=max(u.queue_s for u in known),
    )


def _stream_error(message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "server_error", "param": None, "code": None}}


@router.post("/embeddings")
async def embeddings(request: Request) -> dict[str, Any]:
    body = parse_body(EmbeddingRequest, await json_body(request))
    runtime = runtime_of(request)
    record = runtime.models.get(body.model)
    texts = wire.embedding_inputs(body)
    vectors, tokens = await chat_of(request).embed(record.name, texts)
    return wire.embeddings_response(
        vectors,
        model=record.name,
        prompt_tokens=tokens,
        dimensions=body.dimensions,
        encoding_format=body.encoding_format,
    )


@router.get("/models")
async def models(request: Request) -> dict[str, Any]:
    runtime = runtime_of(request)
    local = [
        wire.model_object(r.name, int(epoch_seconds(r.created_at)))
        for r in runtime.models.installed()
    ]
    remote = [
        wire.model_object(m.name, 0, owned_by=m.remote)
        for m in await runtime.backends.remote_models()
    ]
    return wire.model_list(local + remote)


@router.get("/models/{model_id:path}")
async def model(model_id: str, request: Request) -> dict[str, Any]:
    runtime = runtime_of(request)
    target = runtime.backends.remote_of(model_id)
    if target is not None:
        listed = {m.name for m in await runtime.backends.remote_models()}
        if model_id not in listed:
            raise ModelNotFoundError(f"the remote {target[0].name} has no model {target[1]!r}")
        return wire.model_object(model_id, 0, owned_by=target[0].name)
    record = runtime.models.get(model_id)
    return wire.model_object(record.name, int(epoch_seconds(record.created_at)))
