"""Dev-only measurement: how much a reranker of the first N candidates could gain.

A reranker only reorders what the first stage found, so the share of questions whose
answer is among hybrid's (or the vectors') first N results is the most recall@5 a
perfect reranker of N candidates could reach. Prints recall@5/10/20/30/50 per set and
mode, all without a similarity threshold (a pure ranking comparison).

    python bench/retrieval/rerank_ceiling.py [--threads 1] pydoc stdlib [heldout]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from ember.bench.retrieval import (
    NO_THRESHOLD,
    SETS,
    Retrieved,
    answer_topics,
    hit_rank,
    load_questions,
    recall_at,
    select,
)
from ember.config import load_settings
from ember.documents.embedding import LlamaTextEmbedder, TextEmbedder, embedding_model
from ember.documents.library import DocumentLibrary, SearchSettings
from ember.runtime import build
from ember.storage import Database

DEPTHS = (5, 10, 20, 30, 50)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("sets", nargs="+", choices=sorted(SETS))
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    runtime = build(load_settings())
    record = embedding_model(runtime.models)

    def embedder() -> TextEmbedder:
        return LlamaTextEmbedder(record.path, name=record.name, n_threads=args.threads)

    unlimited = {
        "min_similarity": NO_THRESHOLD,
        "keyword_similarity": NO_THRESHOLD,
        "passage_similarity": NO_THRESHOLD,
    }
    try:
        for name in args.sets:
            qset = SETS[name]
            texts = qset.corpus_texts()
            here = Path(__file__).with_name(qset.questions)
            questions = select(load_questions(here), texts)
            accepted = {q.id: answer_topics(q, texts) for q in questions}
            with tempfile.TemporaryDirectory() as tmp:
                db = Database(Path(tmp) / "bench.db")
                library = DocumentLibrary(db, embedder)
                library.add(qset.write(texts, Path(tmp) / "docs"), "bench")
                for mode in ("hybrid", "vector"):
                    settings = SearchSettings(limit=max(DEPTHS), mode=mode, **unlimited)
                    ranks = [
                        hit_rank(
                            q,
                            accepted[q.id],
                            [
                                Retrieved(Path(h.path).stem, h.text)
                                for h in library.search(q.question, "bench", settings)
                            ],
                        )
                        for q in questions
                    ]
                    row = "  ".join(f"r@{n} {recall_at(ranks, n):.3f}" for n in DEPTHS)
                    print(f"{name:<8} {mode:<7} {row}", flush=True)
                library.close()
                db.close()
    finally:
        runtime.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
