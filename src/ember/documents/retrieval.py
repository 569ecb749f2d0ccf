"""Pure parts of hybrid retrieval: the FTS5 query from a question, reciprocal rank
fusion, and cosine ranking over a matrix of unit vectors."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

# Fusion: BM25 counts half as much as vectors, and ranks are compared with k = 10, so a
# passage first in one ranking is not outweighed by one middling in both (k = 60).
# Measured on the two question sets of `ember bench retrieval` (docs/documents.md):
# recall@5 0.812 and 0.817, against vectors alone 0.775 and 0.817 and equal-weight
# RRF k = 60 0.762 and 0.717; the neighbouring settings (k 5-10, weight 0.3-0.7) score
# about the same, so this is a plateau, not a spike.
RRF_K = 10
BM25_WEIGHT = 0.5

_TERM = re.compile(r"\w+", re.UNICODE)
_STOPWORDS_TEXT = """
    a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    out over own same she should so some such than that the their theirs them then there these
    they this those through to too under until up very was we were what when where which while
    who whom why will with would you your yours tell know please explain give show find get
    much many does"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())


def query_terms(question: str) -> list[str]:
    """The content words of a question, lowercased, in order, without repeats."""
    seen: dict[str, None] = {}
    for term in _TERM.findall(question.lower()):
        if term not in STOPWORDS and (len(term) > 1 or term.isdigit()):
            seen.setdefault(term, None)
    return list(seen)


def fts_query(terms: Sequence[str], *, all_terms: bool = False) -> str:
    """An FTS5 MATCH expression: each term quoted (no operator injection), OR'ed by
    default, AND'ed with ``all_terms``."""
    quoted = ['"' + t.replace('"', '""') + '"' for t in terms]
    return (" AND " if all_terms else " OR ").join(quoted)


def rrf(
    rankings: Sequence[Sequence[int]],
    k: int = RRF_K,
    weights: Sequence[float] | None = None,
) -> list[tuple[int, float]]:
    """Reciprocal rank fusion: ids ordered by the sum of weight/(k + rank) over the
    rankings (rank from 1; weights 1 by default); ties keep the order in which ids were
    first seen."""
    scores: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights or [1.0] * len(rankings), strict=True):
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda kv: -kv[1])


def top_indices(scores: npt.NDArray[np.float32], limit: int) -> list[int]:
    """Positions of the ``limit`` highest scores, best first."""
    limit = min(limit, len(scores))
    if limit <= 0:
        return []
    top = np.argpartition(-scores, limit - 1)[:limit]
    return [int(i) for i in top[np.argsort(-scores[top], kind="stable")]]


def to_blob(vector: Sequence[float]) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def from_blob(blob: bytes) -> npt.NDArray[np.float32]:
    return np.frombuffer(blob, dtype="<f4")


def rerank_text(heading: str | None, text: str) -> str:
    """What a reranker reads of a passage: its heading path, then its text (a passage
    that never names its subject is still judged with it, as in the embedded text)."""
    return f"{heading}\n{text}" if heading else text


def reorder(candidates: Sequence[int], scores: Sequence[float]) -> list[int]:
    """``candidates`` by reranker score, best first; equal scores keep their order."""
    order = sorted(range(len(candidates)), key=lambda i: -scores[i])
    return [candidates[i] for i in order]
