"""`ember bench retrieval --reranker MODEL`: the rows with the cross-encoder as second
stage ("hybrid + reranker (N)", "vectors + reranker (N)"), N the candidates it reorders.

Each row is an ordinary search config whose settings ask the library to rerank its
first N kept candidates, so it is scored, timed and reported like the other rows: its
latency per question includes reading the N pairs. The rows without a reranker stay as
they are (the benchmark's library reranks nothing unless a row asks).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ember.bench.retrieval import DEPTH, Config
from ember.documents.library import SearchSettings
from ember.documents.reranking import (
    RERANK_CANDIDATES,
    LlamaPassageReranker,
    PassageReranker,
    reranker_model,
)
from ember.models.store import ModelStore


@dataclass(frozen=True)
class RerankConfig(Config):
    """A search config whose first ``rerank_candidates`` results the reranker reorders."""

    rerank_candidates: int = RERANK_CANDIDATES

    def settings(self, limit: int = DEPTH) -> SearchSettings:
        return replace(super().settings(limit), rerank_candidates=self.rerank_candidates)


def rerank_configs(pools: Sequence[int], *, vectors: bool = True) -> list[Config]:
    """A "hybrid + reranker (N)" row for each pool size N, and with ``vectors`` a
    "vectors + reranker (N)" row for each too."""
    modes = [("hybrid", "hybrid")] + ([("vectors", "vector")] if vectors else [])
    return [
        RerankConfig(f"{label} + reranker ({n})", mode, rerank_candidates=n)
        for label, mode in modes
        for n in pools
    ]


def rerank_note(data: dict[str, Any]) -> str:
    """The report's line about the reranker, empty without one."""
    model = data.get("reranker")
    if not model:
        return ""
    return (
        f"reranker: {model} (threads={data.get('embedding_threads', '?')}); a row's "
        "latency includes reading its candidate pairs\n"
    )


def bench_reranker(
    store: ModelStore, name: str | None, threads: int | None
) -> tuple[str, Callable[[], PassageReranker]]:
    """The store's reranker ``name`` (None: the first installed) and a loader for it
    running on ``threads``, as the benchmark's library takes it."""
    record = reranker_model(store, name)

    def load() -> PassageReranker:
        return LlamaPassageReranker(record.path, name=record.name, n_threads=threads)

    return record.name, load
