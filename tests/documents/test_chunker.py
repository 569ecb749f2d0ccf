from __future__ import annotations

import itertools

import pytest

from ember.documents.chunker import ChunkSpec, chunk_document
from ember.documents.extract import extract_md, extract_txt


def words(text: str) -> int:
    return len(text.split())


def test_short_paragraphs_pack_into_one_chunk_with_offsets() -> None:
    doc = extract_txt(b"First para here.\n\nSecond para here.\n\nThird.")
    [chunk] = chunk_document(doc, words, ChunkSpec(max_tokens=50, overlap_tokens=5))
    assert chunk.text == doc.text[chunk.start : chunk.end]
    assert chunk.text.startswith("First")
    assert chunk.text.endswith("Third.")
    assert chunk.tokens == 7


def test_headings_split_sections_and_are_kept_as_a_path() -> None:
    doc = extract_md(b"# Guide\n\nIntro text.\n\n## Install\n\nRun it.\n\n## Backup\n\nCopy it.")
    chunks = chunk_document(doc, words, ChunkSpec(max_tokens=50, overlap_tokens=5))
    assert [(c.heading, c.text) for c in chunks] == [
        ("Guide", "Intro text."),
        ("Guide > Install", "Run it."),
        ("Guide > Backup", "Copy it."),
    ]


def test_chunks_respect_budget_and_overlap() -> None:
    paras = [f"Paragraph {i} " + "word " * 8 for i in range(10)]  # 10 words each
    doc = extract_txt("\n\n".join(paras).encode())
    chunks = chunk_document(doc, words, ChunkSpec(max_tokens=30, overlap_tokens=10))
    assert all(c.tokens <= 30 for c in chunks)
    for prev, nxt in itertools.pairwise(chunks):
        assert nxt.start < prev.end  # the last paragraph is repeated
        assert nxt.start > prev.start  # and progress is made
    covered = "".join(doc.text[c.start : c.end] for c in chunks)
    assert all(p.strip() in covered for p in paras)


def test_long_paragraph_splits_at_sentences_then_words() -> None:
    long_sentence = " ".join(f"w{i}" for i in range(25))
    text = "One two three. Four five six. " + long_sentence + "."
    doc = extract_txt(text.encode())
    chunks = chunk_document(doc, words, ChunkSpec(max_tokens=10, overlap_tokens=0))
    assert chunks[0].text == "One two three. Four five six."
    assert all(c.tokens <= 10 for c in chunks)
    assert chunks[-1].text.endswith("w24.")


def test_pages_are_never_mixed() -> None:
    from ember.documents.extract import _Builder

    b = _Builder("pdf")
    b.add("page one text", page=1)
    b.add("page two text", page=2)
    chunks = chunk_document(b.build(), words, ChunkSpec(max_tokens=100, overlap_tokens=5))
    assert [(c.page, c.text) for c in chunks] == [(1, "page one text"), (2, "page two text")]


def test_overlap_must_be_smaller_than_size() -> None:
    with pytest.raises(ValueError, match="overlap"):
        chunk_document(extract_txt(b"x"), words, ChunkSpec(max_tokens=10, overlap_tokens=10))
