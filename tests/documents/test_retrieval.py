"""The pure parts of hybrid retrieval: query terms, the FTS5 expression, reciprocal rank
fusion (weighted), cosine ranking, and the reranker's view and order."""

from __future__ import annotations

import numpy as np
import pytest

from ember.documents.retrieval import (
    fts_query,
    query_terms,
    reorder,
    rerank_text,
    rrf,
    top_indices,
)


def test_query_terms_drop_stopwords_and_repeats() -> None:
    assert query_terms("How do I back up the back-up of my Chat history?") == [
        "back",
        "chat",
        "history",
    ]
    assert query_terms("what is 7 of 12?") == ["7", "12"]


def test_fts_query_quotes_every_term() -> None:
    assert fts_query(["near", 'say"hi']) == '"near" OR "say""hi"'
    assert fts_query(["a", "b"], all_terms=True) == '"a" AND "b"'


def test_rrf_sums_reciprocal_ranks() -> None:
    fused = dict(rrf([[1, 2, 3], [3, 1]], k=60))
    assert fused[1] == pytest.approx(1 / 61 + 1 / 62)
    assert fused[3] == pytest.approx(1 / 63 + 1 / 61)
    assert fused[2] == pytest.approx(1 / 62)
    assert [i for i, _ in rrf([[1, 2, 3], [3, 1]], k=60)] == [1, 3, 2]


def test_rrf_weights_let_the_stronger_ranking_lead() -> None:
    keyword, vector = [7, 8], [8, 9]
    assert next(i for i, _ in rrf([keyword, vector], k=1)) == 8  # in both lists
    # A keyword-only first place loses to a vector-only first place when keywords weigh less.
    assert [i for i, _ in rrf([[7], [9]], k=1, weights=[0.5, 1.0])] == [9, 7]
    with pytest.raises(ValueError, match="shorter"):
        rrf([keyword, vector], weights=[1.0])


def test_top_indices_are_the_best_scores_first() -> None:
    scores = np.array([0.1, 0.9, 0.5, 0.7], dtype=np.float32)
    assert top_indices(scores, 3) == [1, 3, 2]
    assert top_indices(scores, 10) == [1, 3, 2, 0]
    assert top_indices(np.zeros(0, dtype=np.float32), 3) == []


def test_a_reranker_reads_the_heading_path_then_the_text() -> None:
    assert rerank_text("Guide > Backups", "Copy ember.db.") == "Guide > Backups\nCopy ember.db."
    assert rerank_text("", "Copy ember.db.") == "Copy ember.db."


def test_reorder_by_score_keeps_ties_in_order() -> None:
    assert reorder([7, 3, 9, 4], [0.1, 2.0, 0.1, -1.0]) == [3, 7, 9, 4]
    assert reorder([], []) == []
