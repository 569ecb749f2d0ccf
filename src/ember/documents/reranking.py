"""The second stage of document search: a cross-encoder reranker reads the question
with each of the best fused candidates and reorders them.

A cross-encoder sees question and passage together, so it can tell "how do I catch two
exceptions at once" from a passage that merely shares the words; it is too slow to read
every passage, so it only reorders the first ``pool`` candidates the hybrid search kept
(after the relatedness gate, which stays on the vectors' similarity: an unrelated
question still retrieves nothing). The model is a reranker GGUF from the store (pooling
``rank``; ``ember import`` converts a Hugging Face cross-encoder folder), run by Ember's
llama.cpp engine.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from ember.documents.errors import NoRerankerModelError
from ember.documents.retrieval import reorder, rerank_text
from ember.models.store import ModelRecord, ModelStore
from ember.storage import Database

# How many of the best candidates a search reranks when `rerank` is on; see the
# measurements in docs/documents.md.
RERANK_CANDIDATES = 20


class PassageReranker(Protocol):
    """What the documents layer needs of a reranker: one score per passage."""

    name: str

    def score(self, query: str, passages: list[str]) -> list[float]: ...

    def close(self) -> None: ...


class LlamaPassageReranker:
    def __init__(
        self,
        path: Path,
        *,
        name: str,
        n_threads: int | None = None,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        from ember.engine.llamacpp.reranker import LlamaCppReranker

        self.name = name
        self._reranker = LlamaCppReranker(path, name=name, n_threads=n_threads)
        self._on_close = on_close

    def score(self, query: str, passages: list[str]) -> list[float]:
        return self._reranker.score_sync(query, passages)

    def close(self) -> None:
        self._reranker.close()
        if self._on_close is not None:
            self._on_close()
            self._on_close = None


def reranker_model(store: ModelStore, name: str | None = None) -> ModelRecord:
    """``name``, else the first installed reranker."""
    if name:
        record = store.get(name)
        if record.info is None or not record.info.is_reranker:
            raise NoRerankerModelError(
                f"{record.name} is not a reranker",
                hint="import a cross-encoder (ms-marco-MiniLM-L-6-v2) with `ember import`",
            )
        return record
    for record in store.installed():
        if record.info is not None and record.info.is_reranker:
            return record
    raise NoRerankerModelError(
        "no reranker is installed",
        hint="`ember import` a cross-encoder folder (ms-marco-MiniLM-L-6-v2), or turn rerank off",
    )


def rerank(
    db: Database,
    reranker: PassageReranker,
    question: str,
    candidates: Sequence[int],
    pool: int,
) -> list[int]:
    """``candidates`` (chunk ids, best first) with the first ``pool`` reordered by the
    reranker."""
    head = list(candidates[:pool])
    if not head:
        return list(candidates)
    rows = db.query(
        f"SELECT id, heading, text FROM doc_chunks WHERE id IN ({', '.join('?' * len(head))})",
        tuple(head),
    )
    texts = {int(r["id"]): rerank_text(r["heading"], r["text"]) for r in rows}
    present = [cid for cid in head if cid in texts]
    scores = reranker.score(question, [texts[cid] for cid in present])
    return reorder(present, scores) + list(candidates[pool:])
