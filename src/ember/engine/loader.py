"""Turn an installed model into a running engine (the one place a ModelRecord is loaded)."""

from __future__ import annotations

import asyncio
import os
from dataclasses import replace

from ember.config import Settings
from ember.engine.llamacpp import LlamaCppEngine, LoadOptions
from ember.engine.llamacpp.embedder import LlamaCppEmbedder
from ember.engine.pool import Closable, EnginePool
from ember.models.store import ModelRecord, ModelStore


def open_engine(
    record: ModelRecord, settings: Settings, options: LoadOptions | None = None
) -> LlamaCppEngine:
    """Load ``record`` for generation; conversation KV states live under EMBER_HOME/kv."""
    opts = options or LoadOptions()
    if opts.kv_dir is None:
        opts = replace(opts, kv_dir=settings.home / "kv")
    return LlamaCppEngine(record.path, name=record.name, digest=record.digest, options=opts)


EMBEDDING_SUFFIX = "#embedding"
CHAT_MODEL_EMBEDDING_CTX = 4096


def embedding_key(name: str) -> str:
    """The pool key of a chat model opened for embeddings (a second, embedding context)."""
    return name + EMBEDDING_SUFFIX


def model_name(key: str) -> str:
    """The model name behind a pool key."""
    return key.removesuffix(EMBEDDING_SUFFIX)


def open_any(
    record: ModelRecord, settings: Settings, *, for_embedding: bool = False
) -> tuple[Closable, int]:
    """An embedder for embedding models (or a chat model opened ``for_embedding``, with
    mean pooling as Ollama does), a generator otherwise; with the bytes it holds."""
    if record.info is not None and record.info.is_embedding_model:
        return LlamaCppEmbedder(
            record.path, name=record.name, pooling=record.info.pooling
        ), record.size
    if for_embedding:
        return LlamaCppEmbedder(
            record.path,
            name=record.name,
            pooling="mean",
            n_seq=4,
            n_ctx=CHAT_MODEL_EMBEDDING_CTX,
        ), record.size
    engine = open_engine(record, settings)
    return engine, record.size + engine.kv_bytes()


def total_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def make_pool(store: ModelStore, settings: Settings) -> EnginePool:
    """The runtime's pool: 3/4 of RAM as the budget until the fit planner sets it."""

    async def opener(key: str) -> tuple[Closable, int]:
        record = store.get(model_name(key))
        for_embedding = key.endswith(EMBEDDING_SUFFIX)
        return await asyncio.to_thread(open_any, record, settings, for_embedding=for_embedding)

    return EnginePool(opener, memory_budget=total_memory() * 3 // 4)
