"""Hybrid retrieval over the library's stored chunks: BM25 and vector rankings fused by
reciprocal rank, thresholds that let an unrelated question retrieve nothing, the
sentence windows' second look, and the reranker's last word.

Kept apart from :mod:`ember.documents.library` (collections, ingest, re-embedding and
the models' lifecycle): this module only reads the rows the library wrote, so what a
search ranks, and why, is in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ember.documents.retrieval import (
    BM25_WEIGHT,
    RRF_K,
    fts_query,
    query_terms,
    rrf,
    top_indices,
)
from ember.documents.vector_index import VectorIndex
from ember.documents.windows import CANDIDATES, WindowVectors, rescored
from ember.storage import Database


@dataclass(frozen=True)
class Hit:
    chunk_id: int
    path: str
    collection: str
    text: str
    heading: str
    page: int | None
    start: int
    end: int
    similarity: float  # cosine with the question
    score: float  # reciprocal-rank-fusion score
    bm25_rank: int | None
    vector_rank: int | None


@dataclass(frozen=True)
class SearchSettings:
    limit: int = 5
    candidates: int = 50
    # A question is related to the documents when its best passage reaches
    # min_similarity (all-MiniLM: off-topic questions peaked at 0.28 on two real
    # corpora); then passages down to passage_similarity are kept. A passage that
    # contains every query term (a name, a code) needs only keyword_similarity.
    min_similarity: float = 0.30
    passage_similarity: float = 0.20
    keyword_similarity: float = 0.15
    mode: str = "hybrid"  # hybrid | bm25 | vector
    rrf_k: int = RRF_K
    bm25_weight: float = BM25_WEIGHT  # the vector ranking's weight is 1
    # How many of the best kept candidates the reranker reorders (0: none); None: the
    # library's own number, which is 0 unless it was given a reranker.
    rerank_candidates: int | None = None
    # Hybrid search: the best candidates ordered again by their sentence windows
    # (documents/windows.py).
    windows: bool = True


Rerank = Callable[[list[int]], list[int]]


def hybrid_search(
    db: Database,
    vectors: VectorIndex,
    windows: WindowVectors,
    question: str,
    query: np.ndarray,
    *,
    model: str,
    collection_ids: list[int] | None,
    settings: SearchSettings,
    rerank: Rerank,
) -> list[Hit]:
    """The best chunks for ``question`` (embedded as ``query`` by ``model``) among the
    chunks of ``collection_ids`` (None: every collection). ``rerank`` reorders the
    ranked chunk ids (it keeps them as they are when there is no reranker)."""
    s = settings
    where = "d.model = ?"
    params: list[object] = [model]
    if collection_ids is not None:
        where += f" AND d.collection_id IN ({', '.join('?' * len(collection_ids))})"
        params.extend(collection_ids)
    ids, scores = vectors.similarities(query, model, collection_ids)
    if not ids:
        return []
    similarity = dict(zip(ids, scores.tolist(), strict=True))
    vector_ranking = [ids[i] for i in top_indices(scores, s.candidates)]
    terms = query_terms(question)
    bm25_ranking = bm25(db, fts_query(terms), where, params, s.candidates) if terms else []
    every_term = set(bm25(db, fts_query(terms, all_terms=True), where, params, 1000))
    rankings, weights = {
        "hybrid": ([bm25_ranking, vector_ranking], [s.bm25_weight, 1.0]),
        "bm25": ([bm25_ranking], [1.0]),
        "vector": ([vector_ranking], [1.0]),
    }[s.mode]
    # Equal fused scores (common in small collections) are ordered by similarity.
    fused = sorted(
        rrf(rankings, s.rrf_k, weights),
        key=lambda kv: (-round(kv[1], 12), -similarity[kv[0]]),
    )
    related = float(scores.max()) >= s.min_similarity
    kept = {
        cid: score
        for cid, score in fused
        if (related and similarity[cid] >= s.passage_similarity)
        or (cid in every_term and similarity[cid] >= s.keyword_similarity)
    }
    ranked = list(kept)
    if s.windows and s.mode == "hybrid":
        first = ranked[:CANDIDATES]
        best = {**{cid: similarity[cid] for cid in first}, **windows.best(query, first)}
        ranked = rescored(first, best, s.rrf_k) + ranked[CANDIDATES:]
    order = rerank(ranked)
    bm25_pos = {cid: i + 1 for i, cid in enumerate(bm25_ranking)}
    vec_pos = {cid: i + 1 for i, cid in enumerate(vector_ranking)}
    return [
        hit(db, cid, kept[cid], similarity[cid], bm25_pos.get(cid), vec_pos.get(cid))
        for cid in order[: s.limit]
    ]


def bm25(db: Database, match: str, where: str, params: list[object], limit: int) -> list[int]:
    """Chunk ids by SQLite FTS5's BM25 (the heading weighs half the text)."""
    if not match:
        return []
    rows = db.query(
        "SELECT ch.id FROM doc_chunks_fts f JOIN doc_chunks ch ON ch.id = f.rowid"
        " JOIN documents d ON d.id = ch.document_id"
        " JOIN doc_collections c ON c.id = d.collection_id"
        f" WHERE doc_chunks_fts MATCH ? AND {where}"
        " ORDER BY bm25(doc_chunks_fts, 1.0, 0.5) LIMIT ?",
        (match, *params, limit),
    )
    return [int(r[0]) for r in rows]


def whole_document(db: Database, chunk_id: int) -> list[Hit]:
    """Every chunk of the document that holds ``chunk_id``, in document order."""
    rows = db.query(
        "SELECT id FROM doc_chunks WHERE document_id ="
        " (SELECT document_id FROM doc_chunks WHERE id = ?) ORDER BY seq",
        (chunk_id,),
    )
    return [hit(db, int(r[0]), 0.0, 0.0, None, None) for r in rows]


def passage(db: Database, chunk_id: int) -> dict[str, Any] | None:
    """One chunk with its document and collection (what a citation opens), or None."""
    row = db.query_one(
        "SELECT ch.id, ch.text, ch.heading, ch.page, ch.start, ch.end,"
        " d.id AS document_id, d.path, d.title, c.name AS collection"
        " FROM doc_chunks ch JOIN documents d ON d.id = ch.document_id"
        " JOIN doc_collections c ON c.id = d.collection_id WHERE ch.id = ?",
        (chunk_id,),
    )
    return None if row is None else dict(row)


def hit(
    db: Database, cid: int, score: float, sim: float, bm25_rank: int | None, vec: int | None
) -> Hit:
    r = passage(db, cid)
    assert r is not None
    return Hit(
        cid,
        r["path"],
        r["collection"],
        r["text"],
        r["heading"],
        r["page"],
        r["start"],
        r["end"],
        sim,
        score,
        bm25_rank,
        vec,
    )
