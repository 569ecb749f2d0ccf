"""Sentence windows: a second, finer score for the best candidates of a search.

A chunk is embedded as a whole (a few hundred tokens), so a question whose answer is one
sentence of a long chunk matches it only weakly; a long chunk about the same subject can
rank above it. Each chunk therefore also keeps the vectors of its sentence windows (two
sentences, sliding by one). A search orders its best candidates a second time by their
best window, and fuses that order with the first by reciprocal rank.

Measured with ``ember bench retrieval`` (all-MiniLM-L6-v2, the 30 best hybrid
candidates rescored, equal weights, k = 10), recall@5 / MRR / recall@1:
- pydoc: 0.812 / 0.588 / 0.438 -> 0.825 / 0.650 / 0.537;
- stdlib: 0.817 / 0.630 / 0.500 -> 0.850 / 0.667 / 0.550;
- heldout (never tuned on): 0.850 / 0.634 / 0.483 -> 0.867 / 0.670 / 0.533.
Ordering by the best window alone lost recall on the held-out set (0.783); windows of
three sentences did too. Capping the chunks per document, boosting headings and other
fusion constants did not help.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from ember.documents.retrieval import RRF_K, from_blob, rrf, to_blob
from ember.storage import Database

SENTENCES = re.compile(r"(?<=[.!?:])\s+|\n\s*\n")
WINDOW = 2  # sentences per window
CANDIDATES = 30  # the best candidates of a search ordered again by their windows


def sentence_windows(text: str, size: int = WINDOW) -> list[str]:
    """The chunk's windows of ``size`` sentences, sliding by one; a chunk of ``size``
    sentences or fewer is its own window."""
    sentences = [s for s in SENTENCES.split(text) if s and s.strip()]
    if len(sentences) <= size:
        return [text]
    return [" ".join(sentences[i : i + size]) for i in range(len(sentences) - size + 1)]


def rescored(
    candidates: Sequence[int], best_window: Mapping[int, float], k: int = RRF_K
) -> list[int]:
    """``candidates`` (best first) fused with their order by ``best_window``, the
    similarity of each one's best window (the caller gives a chunk without windows its
    own similarity)."""
    by_window = sorted(candidates, key=lambda cid: -best_window[cid])
    return [cid for cid, _ in rrf([list(candidates), by_window], k)]


class WindowVectors:
    """The windows' vectors in ``doc_windows``, next to their chunks."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def replace(
        self, chunk_ids: Sequence[int], vectors: Sequence[Sequence[Sequence[float]]]
    ) -> None:
        """Each chunk's windows' vectors (``vectors[i]`` are chunk ``chunk_ids[i]``'s)."""
        with self.db.transaction() as tx:
            tx.executemany(
                "DELETE FROM doc_windows WHERE chunk_id = ?", [(cid,) for cid in chunk_ids]
            )
            tx.executemany(
                "INSERT INTO doc_windows (chunk_id, embedding) VALUES (?, ?)",
                [
                    (cid, to_blob(v))
                    for cid, chunk_vectors in zip(chunk_ids, vectors, strict=True)
                    for v in chunk_vectors
                ],
            )

    def best(self, query: npt.NDArray[np.float32], chunk_ids: Sequence[int]) -> dict[int, float]:
        """The cosine of each chunk's best window with ``query`` (unit vectors); chunks
        without windows are left out."""
        if not chunk_ids:
            return {}
        rows = self.db.query(
            "SELECT chunk_id, embedding FROM doc_windows WHERE chunk_id IN "
            f"({', '.join('?' * len(chunk_ids))})",
            tuple(chunk_ids),
        )
        best: dict[int, float] = {}
        for row in rows:
            score = float(from_blob(row["embedding"]) @ query)
            cid = int(row["chunk_id"])
            best[cid] = max(best.get(cid, -1.0), score)
        return best
