"""Ollama-compatible model management (/api): pull, copy, delete, tags, show, ps, version —
thin adapters over the model store and the engine pool (generation is routes_ollama.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from ember import __version__
from ember.chat.tool_calls import tool_format
from ember.engine.loader import model_name
from ember.errors import EmberError
from ember.fit.pull_check import FitPullCheck
from ember.models.store import ModelRecord
from ember.server import wire_ollama as wire
from ember.server.pull_progress import PullProgress
from ember.server.streaming import (
    chat_of,
    epoch_seconds,
    json_body,
    ndjson,
    runtime_of,
)
from ember.server.wire_common import parse_body, with_hint
from ember.server.wire_ollama_models import (
    CopyBody,
    DeleteBody,
    PullBody,
    ShowBody,
)

router = APIRouter(prefix="/api")


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
