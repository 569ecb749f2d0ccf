"""The benchmark's reranker rows: configs that ask for reranking, and the command with
--reranker, end to end on a few topics with a real (stand-in) cross-encoder."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from ember.bench.rerank_row import RerankConfig, rerank_configs, rerank_note
from ember.bench.retrieval import CONFIGS, render_text
from ember.cli.app import app
from ember.documents.embedding import starter_folder
from ember.models.convert_bert import import_folder
from ember.runtime import Runtime
from tests.documents.cross_encoder import make_cross_encoder

QUESTIONS = Path(__file__).resolve().parents[2] / "bench" / "retrieval" / "questions.json"


def test_rerank_rows_ask_the_library_to_rerank() -> None:
    rows = rerank_configs([10, 30])
    assert [r.name for r in rows] == [
        "hybrid + reranker (10)",
        "hybrid + reranker (30)",
        "vectors + reranker (10)",
        "vectors + reranker (30)",
    ]
    assert [r.settings().rerank_candidates for r in rows] == [10, 30, 10, 30]
    assert rows[2].settings().mode == "vector"
    assert [r.name for r in rerank_configs([20], vectors=False)] == ["hybrid + reranker (20)"]
    # The plain rows leave it to the library, whose benchmark copy reranks nothing.
    assert {c.settings().rerank_candidates for c in CONFIGS} == {None}
    assert isinstance(rows[0], RerankConfig)


def test_the_note_names_the_reranker() -> None:
    assert rerank_note({"reranker": None}) == ""
    assert "ce (threads=1)" in rerank_note({"reranker": "ce", "embedding_threads": 1})


def test_bench_retrieval_with_a_reranker(runtime: Runtime, tmp_path: Path) -> None:
    minilm = starter_folder()
    assert minilm is not None
    folder = make_cross_encoder(minilm, tmp_path / "cross-encoder")
    import_folder(runtime.models, folder, name="ce-bench")
    out = tmp_path / "report.json"
    args = ["bench", "retrieval", "--questions", str(QUESTIONS), "-o", str(out), "--threads", "1"]
    args += ["--reranker", "ce-bench", "--rerank-candidates", "5", "-t", "lambda", "-t", "pass"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["reranker"] == "ce-bench:latest"
    runs = {r["name"]: r for r in data["runs"]}
    assert {"hybrid", "hybrid + reranker (5)", "vectors + reranker (5)"} <= set(runs)
    assert runs["hybrid + reranker (5)"]["latency_ms"]["median"] > 0
    assert out.with_suffix(".txt").read_text() == render_text(data) + rerank_note(data)
