"""Chunking that follows structure: sections (heading path + page) are never mixed in
one chunk; inside a section, paragraphs are packed up to a token budget, with a token
overlap between neighbouring chunks. A paragraph too long for one chunk is cut at
sentence ends, and a sentence too long at word boundaries.

Pure functions of the extracted text and a token counter (the embedding model's
tokenizer in use; any ``str -> int`` in tests).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import groupby

from ember.documents.extract import Block, Extracted

TokenCounter = Callable[[str], int]

_SENTENCE_END = re.compile(r"(?<=[.!?…。])[\"')\]]*\s+")
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class ChunkSpec:
    max_tokens: int = 200
    overlap_tokens: int = 32


@dataclass(frozen=True)
class Chunk:
    text: str
    start: int
    end: int
    page: int | None
    headings: tuple[str, ...]
    tokens: int

    @property
    def heading(self) -> str:
        return " > ".join(self.headings)


@dataclass(frozen=True)
class _Piece:
    start: int
    end: int
    tokens: int


def chunk_document(
    doc: Extracted, count: TokenCounter, spec: ChunkSpec | None = None
) -> list[Chunk]:
    """Chunks of ``doc`` in document order, each within ``spec.max_tokens``."""
    spec = spec or ChunkSpec()
    if spec.overlap_tokens >= spec.max_tokens:
        raise ValueError("overlap must be smaller than the chunk size")
    chunks: list[Chunk] = []
    for (page, headings), group in groupby(doc.blocks, key=lambda b: (b.page, b.headings)):
        pieces = [p for block in group for p in _pieces(doc.text, block, count, spec.max_tokens)]
        for first, last, tokens in _pack(pieces, spec):
            start, end = pieces[first].start, pieces[last].end
            chunks.append(Chunk(doc.text[start:end], start, end, page, headings, tokens))
    return chunks


def _pieces(text: str, block: Block, count: TokenCounter, limit: int) -> Iterator[_Piece]:
    """The block whole if it fits, else its sentences, else word windows."""
    tokens = count(text[block.start : block.end])
    if tokens <= limit:
        yield _Piece(block.start, block.end, tokens)
        return
    for start, end in _spans(text, block.start, block.end, _SENTENCE_END):
        n = count(text[start:end])
        if n <= limit:
            yield _Piece(start, end, n)
        else:
            yield from _word_windows(text, start, end, count, limit)


def _spans(
    text: str, start: int, end: int, separator: re.Pattern[str]
) -> Iterator[tuple[int, int]]:
    pos = start
    for match in separator.finditer(text, start, end):
        if match.start() > pos:
            yield pos, match.start()
        pos = match.end()
    if pos < end:
        yield pos, end


def _word_windows(
    text: str, start: int, end: int, count: TokenCounter, limit: int
) -> Iterator[_Piece]:
    """Greedy runs of whole words within ``limit`` tokens (a single giant word alone)."""
    words = [(m.start(), m.end()) for m in _WORD.finditer(text, start, end)]
    i = 0
    while i < len(words):
        j = i + 1
        while j < len(words) and count(text[words[i][0] : words[j][1]]) <= limit:
            j += 1
        s, e = words[i][0], words[j - 1][1]
        yield _Piece(s, e, count(text[s:e]))
        i = j


def _pack(pieces: list[_Piece], spec: ChunkSpec) -> Iterator[tuple[int, int, int]]:
    """(first, last, tokens) runs of pieces within the budget; the next run starts with
    the trailing pieces of the previous one that fit in the overlap."""
    i = 0
    while i < len(pieces):
        j, total = i, pieces[i].tokens
        while j + 1 < len(pieces) and total + pieces[j + 1].tokens <= spec.max_tokens:
            j += 1
            total += pieces[j].tokens
        yield i, j, total
        if j + 1 >= len(pieces):
            return
        k, back = j + 1, 0
        while k - 1 > i and back + pieces[k - 1].tokens <= spec.overlap_tokens:
            k -= 1
            back += pieces[k].tokens
        # The overlap must leave room for the next piece, or we would loop.
        while k <= j and back + pieces[j + 1].tokens > spec.max_tokens:
            back -= pieces[k].tokens
            k += 1
        i = k
