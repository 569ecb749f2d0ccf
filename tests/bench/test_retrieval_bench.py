"""The retrieval benchmark: its scoring on hand-made rankings, its question set against
the CPython documentation topics, and a small run of `ember bench retrieval` end to end
with the real all-MiniLM embedding model (Ember's searches and the Open WebUI recipe)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ember.bench.retrieval import (
    Question,
    Retrieved,
    answer_topics,
    corpus,
    hit_rank,
    load_questions,
    mrr,
    normalise,
    percentile,
    recall_at,
    render_text,
    select,
    topic_rank,
)
from ember.cli.app import app

QUESTIONS = Path(__file__).parents[2] / "bench" / "retrieval" / "questions.json"
Q = Question("q", "how do I leave a loop early?", "break", "terminates the nearest enclosing loop")


def test_hit_needs_the_snippet_in_an_answering_topic() -> None:
    accepted = frozenset({"break", "compound"})
    results = [
        Retrieved("while", "It terminates the nearest enclosing loop"),  # wrong topic
        Retrieved("break", "an unrelated chunk of the right topic"),
        Retrieved("compound", "It terminates the nearest\n   enclosing loop, skipping"),
    ]
    assert hit_rank(Q, accepted, results) == 3  # line wraps do not matter
    assert topic_rank(accepted, results) == 2
    assert hit_rank(Q, accepted, results[:2]) is None
    assert topic_rank(accepted, results[:1]) is None
    assert hit_rank(Q, accepted, []) is None


def test_recall_and_mrr_on_hand_made_ranks() -> None:
    ranks = [1, 3, None, 6, 2]
    assert recall_at(ranks, 1) == pytest.approx(1 / 5)
    assert recall_at(ranks, 5) == pytest.approx(3 / 5)
    assert recall_at(ranks, 10) == pytest.approx(4 / 5)
    assert mrr(ranks) == pytest.approx((1 + 1 / 3 + 0 + 1 / 6 + 1 / 2) / 5)
    assert recall_at([], 5) == mrr([]) == 0.0


def test_percentile_interpolates() -> None:
    assert percentile([10.0, 20.0, 30.0, 40.0, 50.0], 0.5) == 30.0
    assert percentile([1.0, 2.0], 0.95) == pytest.approx(1.95)
    assert percentile([7.0], 0.95) == 7.0
    assert percentile([], 0.95) == 0.0


def test_answer_topics_include_repeated_passages() -> None:
    texts = {
        "break": "It terminates the nearest enclosing\nloop.",
        "x": "nothing",
        "compound": "... It terminates the nearest enclosing loop ...",
    }
    assert answer_topics(Q, texts) == {"break", "compound"}
    assert normalise(" a \n\n b\tc ") == "a b c"


def test_every_question_names_a_topic_and_paraphrases() -> None:
    """Snippets are checked against the topics' text of the running Python in
    test_retrieval_corpora.py (strictly on 3.11, the version they were copied from)."""
    questions = load_questions(QUESTIONS)
    texts = corpus()
    assert len(questions) >= 50
    assert len({q.id for q in questions}) == len(questions)
    assert select(questions, texts) == questions
    for q in questions:
        # A paraphrase: the question does not quote its answer.
        assert normalise(q.snippet).lower() not in q.question.lower(), q.id


def test_bench_retrieval_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    topics = ["break", "continue", "lambda", "pass", "power"]
    args = ["bench", "retrieval", "--questions", str(QUESTIONS), "-o", str(out)]
    result = CliRunner().invoke(app, [*args, *(a for t in topics for a in ("-t", t))])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["questions"] == 6
    assert data["ingest"]["documents"] == 5
    assert data["ingest"]["chunks"] >= 5
    assert data["ingest"]["pages_per_s"] > 0
    assert [r["name"] for r in data["runs"]] == [
        "bm25",
        "vector",
        "hybrid",
        "hybrid, no sentence windows",
        "hybrid, default threshold",
        "hybrid, k=60 equal weights",
        "open-webui recipe (1000/100 chars, vectors)",
    ]
    hybrid = data["runs"][2]
    assert hybrid["recall_at_5"] == 1.0  # five small topics: every answer is in the top five
    # The baseline: Open WebUI's recipe over the same five files, the real all-MiniLM.
    baseline = data["runs"][-1]
    assert baseline["recall_at_5"] >= 0.5
    assert baseline["latency_ms"]["median"] > 0
    assert data["open_webui_recipe"]["chunks"] >= 5
    assert data["open_webui_recipe"]["unanswerable"] == []
    assert hybrid["latency_ms"]["median"] > 0
    assert data["off_topic"] == {"questions": 20, "retrieved_something": []}
    assert out.with_suffix(".txt").read_text() == render_text(data)
    assert "recall@5" in result.output
