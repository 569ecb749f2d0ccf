"""`ember bench retrieval`: how well the document library finds the passage that answers
a question, and how fast it ingests and searches.

The corpus is real text nobody in this project wrote: the documentation topics that ship
with CPython (``pydoc_data.topics``), one ``.txt`` file per topic, ingested by Ember's own
:class:`~ember.documents.library.DocumentLibrary` into a throwaway database. The
questions (``bench/retrieval/questions.json``) were written by hand; each names the topic
that answers it and a short snippet of the answer passage.

A second set (``--set stdlib``) asks ``bench/retrieval/questions-stdlib.json`` of another
corpus, the docstrings of ~40 standard-library modules, one document per module
(:mod:`ember.bench.retrieval_corpora`): a search change chosen on one set can be checked
on text it was not tuned on. A third set (``--set heldout``),
``bench/retrieval/questions-heldout.json``, asks the docstrings of ~40 other modules; it
was written after the search settings were chosen on the first two, by someone who had
not seen their results. A fourth set (``--set manual``),
``bench/retrieval/questions-manual.json``, asks another kind of text: GNU user manuals
written as Word and PDF files when the benchmark runs (:mod:`ember.bench.manual_corpus`),
read by Ember's own extraction; its questions were written before any search setting
was looked at on it, and it is never used to choose one. A questions file names its
corpus in a top-level ``"corpus"`` field.

Besides Ember's searches, every run has a baseline row: Open WebUI's default recipe
(its loaders, 1000/100-character splitter and vector ranking) over the same files with
the same embedding model (:mod:`ember.bench.openwebui_recipe`).

Scoring: a retrieved chunk is a **hit** when it comes from a topic whose text contains the
snippet and itself contains the snippet (whitespace normalised). Several topics repeat
passages of others (``compound`` holds ``if``, ``try``, ``with``…; ``specialnames`` holds
``customization``…), so a chunk of the same passage in another topic counts too.
Recall@k is the share of questions with a hit in the first k results; MRR is the mean of
1/rank of the first hit within the first ``depth`` results (0 when none). The topic-level
variants count any chunk of an answering topic.

Scoring functions are pure; :func:`run` does the I/O (files, database, timing).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ember.bench import openwebui_recipe as recipe

# The question sets live in retrieval_sets; re-exported for the CLI, the tests and tools.
from ember.bench.retrieval_sets import DEFAULT_SET as DEFAULT_SET
from ember.bench.retrieval_sets import SETS as SETS
from ember.bench.retrieval_sets import QuestionSet as QuestionSet
from ember.bench.retrieval_sets import choose_set as choose_set
from ember.bench.retrieval_sets import corpus as corpus
from ember.bench.retrieval_sets import pick as pick
from ember.bench.retrieval_sets import questions_corpus as questions_corpus
from ember.bench.retrieval_sets import write_corpus as write_corpus
from ember.documents.library import DocumentLibrary, SearchSettings
from ember.documents.retrieval import BM25_WEIGHT, RRF_K

COLLECTION = "bench-retrieval"
PAGE_CHARS = 3000  # a "page" for ingest speed
K = 5
DEPTH = 10  # results asked for; MRR is computed over them
NO_THRESHOLD = -1.0  # cosine >= -1 always holds: a pure ranking comparison


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    topic: str
    snippet: str


@dataclass(frozen=True)
class Config:
    """One way of searching: a mode, its similarity thresholds and its fusion."""

    name: str
    mode: str
    min_similarity: float = NO_THRESHOLD
    keyword_similarity: float = NO_THRESHOLD
    passage_similarity: float = NO_THRESHOLD
    rrf_k: int = RRF_K
    bm25_weight: float = BM25_WEIGHT
    windows: bool = True  # hybrid: the best candidates ordered again by sentence windows

    def settings(self, limit: int = DEPTH) -> SearchSettings:
        return SearchSettings(
            limit=limit,
            mode=self.mode,
            min_similarity=self.min_similarity,
            keyword_similarity=self.keyword_similarity,
            passage_similarity=self.passage_similarity,
            rrf_k=self.rrf_k,
            bm25_weight=self.bm25_weight,
            windows=self.windows,
        )


DEFAULTS = SearchSettings()
CONFIGS = (
    Config("bm25", "bm25"),
    Config("vector", "vector"),
    Config("hybrid", "hybrid"),
    Config("hybrid, no sentence windows", "hybrid", windows=False),
    Config(
        "hybrid, default threshold",
        "hybrid",
        DEFAULTS.min_similarity,
        DEFAULTS.keyword_similarity,
        DEFAULTS.passage_similarity,
    ),
    Config("hybrid, k=60 equal weights", "hybrid", rrf_k=60, bm25_weight=1.0),
)


@dataclass(frozen=True)
class Retrieved:
    """One search result as the scorer sees it: the topic it came from and its text."""

    topic: str
    text: str


# ---------------------------------------------------------------- corpus and questions


def load_questions(path: Path) -> list[Question]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return [Question(**q) for q in data["questions"]]


def normalise(text: str) -> str:
    """Whitespace runs (line wraps included) become one space."""
    return " ".join(text.split())


def answer_topics(question: Question, texts: Mapping[str, str]) -> frozenset[str]:
    """The topics whose text contains the question's snippet (the passage it names)."""
    snippet = normalise(question.snippet)
    return frozenset(t for t, text in texts.items() if snippet in normalise(text))


def select(questions: Sequence[Question], texts: Mapping[str, str]) -> list[Question]:
    """The questions whose topic is in the corpus."""
    return [q for q in questions if q.topic in texts]


# ---------------------------------------------------------------- scoring (pure)


def hit_rank(
    question: Question, accepted: frozenset[str], results: Sequence[Retrieved]
) -> int | None:
    """1-based rank of the first result that is the answer passage, or None."""
    snippet = normalise(question.snippet)
    for rank, r in enumerate(results, start=1):
        if r.topic in accepted and snippet in normalise(r.text):
            return rank
    return None


def topic_rank(accepted: frozenset[str], results: Sequence[Retrieved]) -> int | None:
    """1-based rank of the first result from an answering topic, or None."""
    return next((rank for rank, r in enumerate(results, start=1) if r.topic in accepted), None)


def recall_at(ranks: Sequence[int | None], k: int) -> float:
    """Share of questions answered within the first ``k`` results."""
    if not ranks:
        return 0.0
    return sum(1 for r in ranks if r is not None and r <= k) / len(ranks)


def mrr(ranks: Sequence[int | None]) -> float:
    """Mean reciprocal rank (a miss counts 0)."""
    if not ranks:
        return 0.0
    return sum(1.0 / r for r in ranks if r is not None) / len(ranks)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) by linear interpolation between closest ranks."""
    if not values:
        return 0.0
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


@dataclass
class ConfigResult:
    config: Config
    ranks: dict[str, int | None] = field(default_factory=dict)
    topic_ranks: dict[str, int | None] = field(default_factory=dict)
    latencies_s: list[float] = field(default_factory=list)
    empty: int = 0  # questions that retrieved nothing

    def summary(self) -> dict[str, Any]:
        ranks, topics = list(self.ranks.values()), list(self.topic_ranks.values())
        ms = [s * 1000 for s in self.latencies_s]
        return {
            "name": self.config.name,
            "mode": self.config.mode,
            "min_similarity": self.config.min_similarity,
            "keyword_similarity": self.config.keyword_similarity,
            f"recall_at_{K}": recall_at(ranks, K),
            "recall_at_1": recall_at(ranks, 1),
            f"mrr_at_{DEPTH}": mrr(ranks),
            f"topic_recall_at_{K}": recall_at(topics, K),
            "empty_results": self.empty,
            "latency_ms": {
                "median": statistics.median(ms) if ms else 0.0,
                "p95": percentile(ms, 0.95),
            },
            f"missed_at_{K}": sorted(q for q, r in self.ranks.items() if r is None or r > K),
        }


# ---------------------------------------------------------------- running (I/O)


@dataclass(frozen=True)
class IngestStats:
    documents: int
    chunks: int
    characters: int
    seconds: float
    model_load_s: float
    failed: list[str]

    def summary(self) -> dict[str, Any]:
        pages = self.characters / PAGE_CHARS
        per = 1 / self.seconds if self.seconds > 0 else 0.0
        return {
            "documents": self.documents,
            "chunks": self.chunks,
            "characters": self.characters,
            "pages": round(pages, 1),
            "seconds": self.seconds,
            "documents_per_s": self.documents * per,
            "pages_per_s": pages * per,
            "chunks_per_s": self.chunks * per,
            "embedding_model_load_s": self.model_load_s,
            "failed": self.failed,
        }


def ingest(
    library: DocumentLibrary, paths: Sequence[Path], collection: str, characters: int
) -> IngestStats:
    """Add ``paths`` to ``collection``, timed (the embedding model is loaded first and
    timed apart); ``characters``: the text they hold, for pages per second."""
    start = time.perf_counter()
    library.embedder.count_tokens("warm up")
    loaded = time.perf_counter()
    results = library.add(paths, collection)
    seconds = time.perf_counter() - loaded
    added = [r for r in results if r.status in ("added", "updated")]
    return IngestStats(
        documents=len(added),
        chunks=sum(r.chunks for r in added),
        characters=characters,
        seconds=seconds,
        model_load_s=loaded - start,
        failed=[f"{r.path.name}: {r.detail}" for r in results if r.status == "failed"],
    )


def search_config(
    library: DocumentLibrary,
    questions: Sequence[Question],
    accepted: Mapping[str, frozenset[str]],
    config: Config,
    collection: str,
) -> ConfigResult:
    result = ConfigResult(config)
    for q in questions:
        start = time.perf_counter()
        hits = library.search(q.question, collection, config.settings())
        result.latencies_s.append(time.perf_counter() - start)
        retrieved = [Retrieved(Path(h.path).stem, h.text) for h in hits]
        result.ranks[q.id] = hit_rank(q, accepted[q.id], retrieved)
        result.topic_ranks[q.id] = topic_rank(accepted[q.id], retrieved)
        result.empty += not hits
    return result


RECIPE = Config(recipe.NAME, "open-webui")


def search_recipe(
    library: DocumentLibrary,
    paths: Sequence[Path],
    questions: Sequence[Question],
    accepted: Mapping[str, frozenset[str]],
    say: Callable[[str], None],
) -> tuple[ConfigResult, dict[str, Any]]:
    """The baseline row: Open WebUI's default recipe over the same files with the same
    embedding model, scored like Ember's rows; and what the recipe built."""
    embedder = library.embedder
    chunks = recipe.chunk_files(paths)
    say(f"open-webui recipe: embedding {len(chunks)} chunks…")
    start = time.perf_counter()
    index = recipe.build_index(chunks, embedder.embed, embedder.count_tokens)
    seconds = time.perf_counter() - start
    result = ConfigResult(RECIPE)
    for q in questions:
        start = time.perf_counter()
        ranked = index.rank(embedder.embed([q.question])[0], DEPTH)
        result.latencies_s.append(time.perf_counter() - start)
        retrieved = [Retrieved(c.topic, c.text) for c in ranked]
        # Open WebUI's loader straightens quotes (ftfy): the snippet as it reads there.
        seen = replace(q, snippet=recipe.fix_text(q.snippet))
        result.ranks[q.id] = hit_rank(seen, accepted[q.id], retrieved)
        result.topic_ranks[q.id] = topic_rank(accepted[q.id], retrieved)
        result.empty += not ranked
    texts = [normalise(c.text) for c in chunks]
    cut = [
        q.id
        for q in questions
        if not any(normalise(recipe.fix_text(q.snippet)) in t for t in texts)
    ]
    stats = {
        "chunks": len(chunks),
        "chunks_cut_at_max_seq_length": index.truncated,
        "seconds": seconds,
        "chunk_size_chars": recipe.CHUNK_SIZE,
        "chunk_overlap_chars": recipe.CHUNK_OVERLAP,
        "separators": list(recipe.SEPARATORS),
        "max_seq_tokens": recipe.MAX_SEQ_TOKENS,
        "top_k": recipe.TOP_K,
        f"recall_at_{recipe.TOP_K}": recall_at(list(result.ranks.values()), recipe.TOP_K),
        "unanswerable": cut,
        "recipe": (
            "Open WebUI defaults: PyPDFLoader pages / docx2txt / whole text, ftfy.fix_text; "
            "MarkdownHeaderTextSplitter then RecursiveCharacterTextSplitter(1000, 100); "
            "newlines -> spaces, no prefix, all-MiniLM-L6-v2 read to 256 tokens; cosine, "
            "no hybrid, no reranker; the question is the query (no LLM query rewrite)"
        ),
    }
    return result, stats


def unanswerable(
    library: DocumentLibrary, questions: Sequence[Question], collection: str
) -> list[str]:
    """Questions whose snippet no chunk contains whole (cut by a chunk boundary)."""
    rows = library.db.query(
        "SELECT ch.text FROM doc_chunks ch JOIN documents d ON d.id = ch.document_id"
        " JOIN doc_collections c ON c.id = d.collection_id WHERE c.name = ?",
        (collection,),
    )
    chunks = [normalise(r[0]) for r in rows]
    return [q.id for q in questions if not any(normalise(q.snippet) in text for text in chunks)]


def run(
    library: DocumentLibrary,
    texts: Mapping[str, str],
    questions: Sequence[Question],
    folder: Path,
    configs: Sequence[Config] = CONFIGS,
    progress: Callable[[str], None] | None = None,
    question_set: QuestionSet | None = None,
    off_topic: Sequence[str] = (),
    baseline: bool = True,
) -> dict[str, Any]:
    """Write the corpus to ``folder``, ingest it, ask every question in every config
    and, with ``baseline``, of Open WebUI's recipe over the same files; the report as a
    JSON-ready dict. ``question_set`` (default: pydoc) names the set and writes its
    files; ``texts`` are its documents' texts as the scorer reads them. ``off_topic``
    questions, which nothing in the corpus answers, are asked with the default
    threshold: the report counts those that still retrieved something."""
    say = progress or (lambda _: None)
    qset = question_set or SETS[DEFAULT_SET]
    chosen = select(questions, texts)
    accepted = {q.id: answer_topics(q, texts) for q in chosen}
    paths = qset.write(texts, folder)
    say(f"ingesting {len(paths)} {qset.documents}…")
    stats = ingest(library, paths, COLLECTION, sum(len(t) for t in texts.values()))
    results = []
    for config in configs:
        say(f"searching: {config.name}, {len(chosen)} questions…")
        results.append(search_config(library, chosen, accepted, config, COLLECTION))
    extra: dict[str, Any] = {}
    if baseline:
        row, extra["open_webui_recipe"] = search_recipe(library, paths, chosen, accepted, say)
        results.append(row)
    if qset.held_out:
        extra["held_out"] = qset.held_out
    noise = [q for q in off_topic if library.search(q, COLLECTION)]
    return {
        "benchmark": "ember bench retrieval",
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
        },
        "set": qset.name,
        "corpus": qset.description.format(python=platform.python_version(), count=len(texts)),
        "embedding_model": library.embedder.name,
        "chunking": {
            "max_tokens": library.spec.max_tokens,
            "overlap_tokens": library.spec.overlap_tokens,
        },
        "fusion": {"hybrid": {"rrf_k": RRF_K, "bm25_weight": BM25_WEIGHT, "vector_weight": 1.0}},
        "questions": len(chosen),
        "unanswerable": unanswerable(library, chosen, COLLECTION),
        "scoring": (
            f"hit = a result from a topic containing the snippet that contains the snippet; "
            f"recall@{K}, MRR over the first {DEPTH} results; topic recall@{K}: any result "
            f"from such a topic; page = {PAGE_CHARS} characters"
        ),
        "ingest": stats.summary(),
        "off_topic": {"questions": len(off_topic), "retrieved_something": noise},
        "runs": [r.summary() for r in results],
        "ranks": {r.config.name: r.ranks for r in results},
        **extra,
    }


def render_text(data: dict[str, Any]) -> str:
    """A plain table: one row per search config, then ingest speed."""
    ing = data["ingest"]
    width = max(28, *(len(r["name"]) + 2 for r in data["runs"]))
    head = (
        f"{'search':<{width}}{'recall@5':>9}{'MRR@10':>8}{'recall@1':>9}{'topic r@5':>10}"
        f"{'empty':>6}{'median ms':>11}{'p95 ms':>8}"
    )
    qset = SETS.get(data.get("set", DEFAULT_SET), SETS[DEFAULT_SET])
    lines = [
        f"ember bench retrieval, set {qset.name} — {data['questions']} questions, "
        f"{ing['documents']} {qset.documents} "
        f"({ing['pages']} pages of {PAGE_CHARS} chars, {ing['chunks']} chunks), "
        f"{data['embedding_model']} (threads={data.get('embedding_threads', '?')}), "
        f"{data['machine']['cpus']} CPUs",
        head,
        "-" * len(head),
    ]
    for run in data["runs"]:
        latency = run["latency_ms"]
        lines.append(
            f"{run['name']:<{width}}{run[f'recall_at_{K}']:>9.3f}{run[f'mrr_at_{DEPTH}']:>8.3f}"
            f"{run['recall_at_1']:>9.3f}{run[f'topic_recall_at_{K}']:>10.3f}"
            f"{run['empty_results']:>6}{latency['median']:>11.1f}{latency['p95']:>8.1f}"
        )
    lines += [
        "",
        f"ingest: {ing['seconds']:.1f} s — {ing['documents_per_s']:.2f} documents/s, "
        f"{ing['pages_per_s']:.2f} pages/s, {ing['chunks_per_s']:.1f} chunks/s "
        f"(embedding model loaded in {ing['embedding_model_load_s']:.1f} s, not counted)",
    ]
    owui = data.get("open_webui_recipe")
    if owui:
        top = owui["top_k"]
        lines.append(
            f"open-webui recipe: {owui['chunks']} chunks of <= {owui['chunk_size_chars']} "
            f"chars ({owui['chunks_cut_at_max_seq_length']} longer than the model's "
            f"{owui['max_seq_tokens']} tokens), embedded in {owui['seconds']:.1f} s; "
            f"recall@{top} (the RAG_TOP_K it gives the model) {owui[f'recall_at_{top}']:.3f}"
            + (f"; snippet cut by its chunks: {', '.join(owui['unanswerable'])}"
               if owui["unanswerable"] else "")
        )  # fmt: skip
    if data.get("held_out"):
        lines.append(f"held out: {data['held_out']}")
    off = data.get("off_topic") or {}
    if off.get("questions"):
        noisy = off["retrieved_something"]
        lines.append(
            f"off-topic questions that retrieved something (default threshold): "
            f"{len(noisy)} of {off['questions']}" + (f" ({'; '.join(noisy)})" if noisy else "")
        )
    if data["unanswerable"]:
        lines.append(f"snippet cut by a chunk boundary: {', '.join(data['unanswerable'])}")
    for run in data["runs"]:
        missed = run[f"missed_at_{K}"]
        if missed:
            lines.append(f"missed at {K}, {run['name']}: {', '.join(missed)}")
    return "\n".join(lines) + "\n"


def dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)
