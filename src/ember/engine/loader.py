"""Open an engine for an installed model (the one place a ModelRecord becomes an Engine)."""

from __future__ import annotations

from ember.config import Settings
from ember.engine.llamacpp import LlamaCppEngine, LoadOptions
from ember.models.store import ModelRecord


def open_engine(
    record: ModelRecord, settings: Settings, options: LoadOptions | None = None
) -> LlamaCppEngine:
    """Load ``record`` with llama.cpp; conversation KV states live under EMBER_HOME/kv."""
    opts = options or LoadOptions()
    if opts.kv_dir is None:
        opts = LoadOptions(**{**opts.__dict__, "kv_dir": settings.home / "kv"})
    return LlamaCppEngine(record.path, name=record.name, digest=record.digest, options=opts)
