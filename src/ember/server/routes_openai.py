"""OpenAI-compatible routes (/v1): thin adapters over the chat service."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from ember.chat.types import ChatDelta, ChatDone
from ember.engine.base import TokenLogprob
from ember.errors import EmberError
from ember.server import wire_openai as wire
from ember.server.streaming import (
    chat_of,
    epoch_seconds,
    json_body,
    raise_if_failed,
    resolve_model,
    runtime_of,
    sse,
    started,
)
from ember.server.wire_common import parse_body
from ember.server.wire_openai_models import ChatCompletionRequest, EmbeddingRequest

router = APIRouter(prefix="/v1")


@router.post("/chat/completions", response_model=None)
async def chat_completions(request: Request) -> Any:
    body = parse_body(ChatCompletionRequest, await json_body(request))
    chat_request = resolve_model(runtime_of(request), wire.to_chat_request(body))
    model, request_id, created = (
        chat_request.model,
        f"chatcmpl-{uuid.uuid4().hex}",
        int(time.time()),
    )
    events = await started(chat_of(request).stream(chat_request))
    if not chat_request.stream:
        logprobs: list[TokenLogprob] = []
        async for event in events:
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
    include_usage = body.include_usage

    async def frames() -> AsyncIterator[bytes]:
        first = True
        async for event in events:
            for chunk in wire.chat_chunks(
                event,
                first=first,
                include_usage=include_usage,
                model=model,
                request_id=request_id,
                created=created,
            ):
                yield sse(chunk)
            first = False
            if isinstance(event, ChatDone):
                if event.error:
                    yield sse(
                        {
                            "error": {
                                "message": event.error,
                                "type": "server_error",
                                "param": None,
                                "code": None,
                            }
                        }
                    )
                if include_usage:
                    yield sse(
                        wire.usage_chunk(
                            event.usage, model=model, request_id=request_id, created=created
                        )
                    )
        yield sse("[DONE]")

    return StreamingResponse(frames(), media_type="text/event-stream")


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
    records = runtime_of(request).models.installed()
    return wire.model_list(
        [wire.model_object(r.name, int(epoch_seconds(r.created_at))) for r in records]
    )


@router.get("/models/{model_id:path}")
async def model(model_id: str, request: Request) -> dict[str, Any]:
    record = runtime_of(request).models.get(model_id)
    return wire.model_object(record.name, int(epoch_seconds(record.created_at)))
