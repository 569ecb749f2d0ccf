"""The reranker as the library's second stage: it reorders only the first candidates
the hybrid search kept, sees each passage with its heading, never lets an unrelated
question through, and is off unless the library was given one."""

from __future__ import annotations

from pathlib import Path

import pytest

from ember.config import Settings
from ember.documents.embedding import LlamaTextEmbedder
from ember.documents.errors import NoRerankerModelError
from ember.documents.library import DocumentLibrary, SearchSettings
from ember.documents.reranking import RERANK_CANDIDATES, LlamaPassageReranker, PassageReranker
from ember.runtime import Runtime, build
from ember.storage import Database
from tests.documents.conftest import _Shared

NOTES = """# Pets

## Cats

Cats sleep between twelve and sixteen hours a day, usually in warm places.

## Dogs

Dogs sleep about twelve hours a day and like a warm basket.

## Hamsters

Hamsters sleep through the day and run on their wheel at night.
"""


class WordReranker:
    """Scores a passage by how often it says ``word``; records what it was asked."""

    name = "word-reranker"

    def __init__(self, word: str) -> None:
        self.word = word
        self.calls: list[list[str]] = []
        self.closed = False

    def score(self, query: str, passages: list[str]) -> list[float]:
        self.calls.append(passages)
        return [float(p.lower().count(self.word)) for p in passages]

    def close(self) -> None:
        self.closed = True


def library_with(
    db: Database, embedder: LlamaTextEmbedder, reranker: PassageReranker, pool: int
) -> DocumentLibrary:
    return DocumentLibrary(
        db, lambda: _Shared(embedder), reranker=lambda: reranker, rerank_candidates=pool
    )


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    path = tmp_path / "pets.md"
    path.write_text(NOTES)
    return path


def test_the_reranker_reorders_the_first_candidates(
    runtime: Runtime, embedder: LlamaTextEmbedder, notes: Path
) -> None:
    words = WordReranker("hamsters")
    library = library_with(runtime.db, embedder, words, pool=10)
    library.add([notes])
    plain = library.search("how long do cats sleep?", settings=SearchSettings(rerank_candidates=0))
    assert plain[0].heading == "Pets > Cats"
    assert words.calls == []
    hits = library.search("how long do cats sleep?")
    assert hits[0].heading == "Pets > Hamsters"
    assert {h.chunk_id for h in hits} == {h.chunk_id for h in plain}
    # Each passage is read with its heading path, and only the pool is read.
    assert any(p.startswith("Pets > Hamsters\n") for p in words.calls[0])
    library.search("how long do cats sleep?", settings=SearchSettings(rerank_candidates=1))
    assert len(words.calls[-1]) == 1
    library.close()
    assert words.closed


def test_an_unrelated_question_still_retrieves_nothing(
    runtime: Runtime, embedder: LlamaTextEmbedder, notes: Path
) -> None:
    words = WordReranker("the")  # it would like every passage
    library = library_with(runtime.db, embedder, words, pool=10)
    library.add([notes])
    assert library.search("what is the capital of Peru?") == []
    assert words.calls == []


def test_the_real_reranker_reorders_the_same_hits(
    runtime: Runtime, embedder: LlamaTextEmbedder, notes: Path, reranker_gguf: Path
) -> None:
    model = LlamaPassageReranker(reranker_gguf, name="cross-encoder", n_threads=2)
    library = library_with(runtime.db, embedder, model, pool=10)
    library.add([notes])
    question = "which pet runs at night?"
    plain = library.search(question, settings=SearchSettings(rerank_candidates=0))
    hits = library.search(question)
    assert sorted(h.chunk_id for h in hits) == sorted(h.chunk_id for h in plain)
    library.close()


def test_rerank_is_off_unless_the_setting_turns_it_on(isolated_home: Path) -> None:
    off = build(Settings(home=isolated_home))
    assert off.documents.rerank_candidates == 0
    off.close()
    on = build(Settings(home=isolated_home, rerank=True))
    assert on.documents.rerank_candidates == RERANK_CANDIDATES
    on.close()


def test_rerank_without_a_reranker_installed_searches_without_it(
    runtime: Runtime,
    embedder: LlamaTextEmbedder,
    notes: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    attempts = 0

    def missing() -> PassageReranker:
        nonlocal attempts
        attempts += 1
        raise NoRerankerModelError("no reranker is installed", hint="`ember import` one")

    library = DocumentLibrary(
        runtime.db, lambda: _Shared(embedder), reranker=missing, rerank_candidates=10
    )
    library.add([notes])
    with caplog.at_level("WARNING"):
        hits = library.search("how long do cats sleep?")
        again = library.search("how long do cats sleep?")
    library.close()
    assert hits
    assert hits[0].heading == "Pets > Cats"
    assert [h.chunk_id for h in again] == [h.chunk_id for h in hits]
    assert attempts == 1  # said once, then the library searches without it
    assert "no reranker is installed" in caplog.text
