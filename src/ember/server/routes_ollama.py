"""Ollama-compatible routes (/api): thin adapters over the chat service and model store."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from ember import __version__
from ember.chat.types import ChatDelta, ChatDone, ChatRequest
from ember.errors import EmberError
from ember.models.gguf_info import format_parameters
from ember.models.store import ModelRecord
from ember.server import wire_ollama as wire
from ember.server.streaming import (
    chat_of,
    epoch_seconds,
    json_body,
    ndjson,
    raise_if_failed,
    resolve_model,
    runtime_of,
    started,
)
from ember.server.wire_common import InvalidRequestError, parse_body
from ember.server.wire_ollama_models import ChatBody, ShowBody
from ember.server.wire_ollama_responses import Durations, rfc3339

router = APIRouter(prefix="/api")


@router.post("/chat", response_model=None)
async def chat(request: Request) -> Any:
    t0 = time.perf_counter()
    body = parse_body(ChatBody, await json_body(request))
    chat_request = resolve_model(runtime_of(request), wire.chat_to_request(body))
    model = body.model
    events = await started(chat_of(request).stream(chat_request))
    if not chat_request.stream:
        async for event in events:
            if isinstance(event, ChatDone):
                raise_if_failed(event)
                return wire.chat_response(
                    event,
                    model=model,
                    created_at=rfc3339(time.time()),
                    durations=Durations(total_s=time.perf_counter() - t0),
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
    """One prompt through the model's chat template (``raw`` prompts: not yet supported)."""
    t0 = time.perf_counter()
    converted = wire.generate_to_request(await json_body(request))
    if not isinstance(converted, ChatRequest):
        raise InvalidRequestError(
            "raw prompts are not supported yet", param="raw", hint="send raw=false (the default)"
        )
    chat_request = resolve_model(runtime_of(request), converted)
    model = converted.model
    events = await started(chat_of(request).stream(chat_request))

    def final(done: ChatDone, streamed: bool) -> dict[str, Any]:
        return wire.generate_response(
            done.content,
            model=model,
            created_at=rfc3339(time.time()),
            finish_reason=done.finish_reason,
            usage=done.usage,
            durations=Durations(total_s=time.perf_counter() - t0),
            streamed=streamed,
        )

    if not chat_request.stream:
        async for event in events:
            if isinstance(event, ChatDone):
                raise_if_failed(event)
                return final(event, streamed=False)
        raise EmberError("the generation ended without a result")

    async def lines() -> AsyncIterator[bytes]:
        async for event in events:
            if isinstance(event, ChatDelta):
                now = rfc3339(time.time())
                yield ndjson(wire.generate_stream_chunk(event.content, model=model, created_at=now))
            else:
                if event.error:
                    yield ndjson({"error": event.error})
                yield ndjson(final(event, streamed=True))

    return StreamingResponse(lines(), media_type="application/x-ndjson")


@router.get("/tags")
async def tags(request: Request) -> dict[str, Any]:
    records = runtime_of(request).models.installed()
    return wire.tags_response(
        [
            wire.tag_entry(
                r.name,
                size=r.size,
                digest=r.digest,
                modified_at=epoch_seconds(r.modified_at),
                details=_details(r),
            )
            for r in records
        ]
    )


@router.post("/show")
async def show(request: Request) -> dict[str, Any]:
    body = parse_body(ShowBody, await json_body(request))
    record = runtime_of(request).models.get(body.model)
    info = record.info
    arch = info.architecture if info else "unknown"
    model_info: dict[str, Any] = {"general.architecture": arch}
    if info is not None:
        model_info.update(
            {
                "general.parameter_count": info.parameters,
                f"{arch}.context_length": info.context_length,
                f"{arch}.embedding_length": info.embedding_length,
                f"{arch}.block_count": info.block_count,
                f"{arch}.attention.head_count": info.head_count,
                f"{arch}.attention.head_count_kv": info.head_count_kv,
            }
        )
    capabilities = ("embedding",) if info and info.is_embedding_model else ("completion",)
    return wire.show_response(
        details=_details(record),
        model_info=model_info,
        template=(info.chat_template if info else None) or "",
        parameters=record.params,
        license=info.license if info else None,
        system=record.system,
        modified_at=epoch_seconds(record.modified_at),
        capabilities=capabilities,
    )


@router.get("/ps")
async def ps(request: Request) -> dict[str, Any]:
    runtime = runtime_of(request)
    entries = []
    now_wall, now_mono = time.time(), time.monotonic()
    for loaded in runtime.engines.loaded():
        record = runtime.models.get(loaded.name)
        expires = (
            None
            if loaded.keep_alive < 0
            else now_wall + (loaded.last_used + loaded.keep_alive - now_mono)
        )
        entries.append(
            wire.ps_entry(
                record.name,
                size=loaded.size,
                digest=record.digest,
                details=_details(record),
                expires_at=expires,
            )
        )
    return wire.ps_response(entries)


@router.get("/version")
async def version() -> dict[str, Any]:
    return wire.version_response(__version__)


def _details(record: ModelRecord) -> dict[str, Any]:
    info = record.info
    return {
        "format": "gguf",
        "family": info.architecture if info else "",
        "parameter_size": format_parameters(info.parameters) if info else "",
        "quantization_level": (info.quantization or "") if info else "",
    }
