"""A chat service over one real SmolLM2 engine with a chosen context (no model store)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ember.chat.service import ChatService
from ember.engine.llamacpp import LlamaCppEngine, LoadOptions
from ember.engine.pool import Closable, EnginePool


@contextmanager
def small_chat(model_path: Path, *, n_ctx: int, n_slots: int) -> Iterator[ChatService]:
    async def opener(name: str) -> tuple[Closable, int]:
        options = LoadOptions(n_ctx=n_ctx, n_slots=n_slots)
        return LlamaCppEngine(model_path, name=name, digest="sha256:test", options=options), 1

    pool = EnginePool(opener, memory_budget=1 << 40)
    try:
        yield ChatService(pool)
    finally:
        pool.close()
