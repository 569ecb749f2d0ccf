"""Ollama-compatible routes (/api): thin adapters over the chat service and model store."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from ember import __version__
from ember.chat.grammar import grammar_for
from ember.chat.tool_calls import tool_format
from ember.chat.types import ChatDelta, ChatDone, ChatEvent
from ember.engine.base import Chunk, FinishReason, TokenLogprob
from ember.engine.loader import model_name
from ember.errors import EmberError
from ember.fit.pull_check import FitPullCheck
from ember.models.store import ModelRecord
from ember.server import wire_ollama as wire
from ember.server.pull_progress import PullProgress
from ember.server.streaming import (
    chat_events,
    chat_of,
    epoch_seconds,
    json_body,
    ndjson,
    raise_if_failed,
    resolve_model,
    runtime_of,
    started,
)
from ember.server.wire_common import parse_body, shorten, with_hint
from ember.server.wire_ollama import RawGenerate
from ember.server.wire_ollama_models import (
    ChatBody,
    CopyBody,
    DeleteBody,
    EmbedBody,
    EmbeddingsBody,
    GenerateBody,
    PullBody,
    ShowBody,
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
    chat_request = resolve_model(runtime_of(request), wire.chat_to_request(body))
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
        chat_request = resolve_model(runtime_of(request), converted)
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


async def _as_chunks(events: AsyncIterator[ChatEvent]) -> AsyncIterator[Chunk]:
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


@router.post("/pull", response_model=None)
async def pull(request: Request) -> Any:
    """Pull a model, streaming Ollama's progress lines (or one final status). A model
    that cannot fit this machine is refused before the download, as `ember pull` does,
    unless the body says ``"force": true`` (an Ember extension)."""
    body = parse_body(PullBody, await json_body(request))
    runtime = runtime_of(request)
    store = runtime.models
    check = None if body.force else await asyncio.to_thread(fit_check, runtime.settings.home)
    if body.stream is False:
        await asyncio.to_thread(store.pull, body.model, check=check)
        return wire.progress("success")
    lines = PullProgress(asyncio.get_running_loop())

    def work() -> None:
        try:
            store.pull(body.model, progress=lines, check=check)
        except EmberError as exc:
            lines.put({"error": with_hint(exc)})
        except Exception as exc:  # noqa: BLE001 - reported to the client, not swallowed
            lines.put({"error": f"pull failed: {exc}"})
        else:
            lines.put(wire.progress("success"))
        finally:
            lines.close()

    task = asyncio.create_task(asyncio.to_thread(work))

    async def stream() -> AsyncIterator[bytes]:
        async for line in lines:
            yield ndjson(line)
        await task

    return StreamingResponse(stream(), media_type="application/x-ndjson")


def fit_check(home: Path) -> FitPullCheck:
    from ember import hardware

    return FitPullCheck(hardware.probe_machine(home))


@router.delete("/delete")
async def delete(request: Request) -> Response:
    body = parse_body(DeleteBody, await json_body(request))
    runtime = runtime_of(request)
    record = runtime.models.get(body.model)
    chat_of(request).unload(record.name)
    runtime.models.remove(record.name)
    return Response(status_code=200)


@router.post("/copy")
async def copy(request: Request) -> Response:
    """Copy a model under a second name, replacing that name if taken (as Ollama does;
    ``ember cp`` refuses instead)."""
    body = parse_body(CopyBody, await json_body(request))
    models = runtime_of(request).models
    source = models.get(body.source)
    if models.exists(body.destination):
        target = models.get(body.destination)
        if target.name == source.name:
            return Response(status_code=200)
        chat_of(request).unload(target.name)
        models.remove(target.name)
    models.copy(source.name, body.destination)
    return Response(status_code=200)


@router.get("/tags")
async def tags(request: Request) -> dict[str, Any]:
    runtime = runtime_of(request)
    local = [
        wire.tag_entry(
            r.name,
            size=r.size,
            digest=r.digest,
            modified_at=epoch_seconds(r.modified_at),
            details=_details(r),
        )
        for r in runtime.models.installed()
    ]
    remote = [
        wire.tag_entry(m.name, size=0, digest="", modified_at=0.0, details={"format": "remote"})
        for m in await runtime.backends.remote_models()
    ]
    return wire.tags_response(local + remote)


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
    capabilities: tuple[str, ...] = (
        ("embedding",) if info and info.is_embedding_model else ("completion",)
    )
    if info is not None and tool_format(info.chat_template) == "tagged":
        capabilities += ("tools",)
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
    seen: set[str] = set()
    for loaded in runtime.engines.loaded():
        name = model_name(loaded.name)
        if name in seen:
            continue
        seen.add(name)
        record = runtime.models.get(name)
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
                context_length=getattr(loaded.engine, "n_ctx", None),
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
        "parameter_size": wire.human_parameter_count(info.parameters) if info else "",
        "quantization_level": (info.quantization or "") if info else "",
    }
