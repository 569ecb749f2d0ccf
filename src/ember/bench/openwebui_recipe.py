"""Open WebUI's default document recipe, reproduced as a baseline row of
`ember bench retrieval`: the same files and the same embedding model as Ember's rows,
Open WebUI's loading, splitting and ranking.

What Open WebUI does with a file by default (``backend/open_webui``: ``config.py``,
``routers/retrieval.py`` ``save_docs_to_vector_db``, ``retrieval/loaders/main.py``):

- load it with LangChain's loaders: a PDF one document per page (``PyPDFLoader``, mode
  ``page``: pypdf's ``extract_text``), a Word file as one text (``Docx2txtLoader``), any
  other text file whole (``TextLoader``); each text then goes through ``ftfy.fix_text``
  (curly quotes made straight, among others);
- split each loaded document with ``MarkdownHeaderTextSplitter`` (headings ``#`` to
  ``######``, kept in the text: ``ENABLE_MARKDOWN_HEADER_TEXT_SPLITTER`` is on), then with
  ``RecursiveCharacterTextSplitter`` (``RAG_TEXT_SPLITTER`` "" = "character"): 1000
  characters (``CHUNK_SIZE``), 100 of overlap (``CHUNK_OVERLAP``), separators
  ``["\\n\\n", "\\n", " ", ""]``, length in characters; ``CHUNK_MIN_SIZE_TARGET`` is 0, so
  small pieces are not merged;
- embed each chunk's text with its newlines replaced by spaces and no prefix
  (``RAG_EMBEDDING_CONTENT_PREFIX`` and ``…_QUERY_PREFIX`` unset) by
  ``sentence-transformers/all-MiniLM-L6-v2`` (``RAG_EMBEDDING_MODEL``), which reads at most
  256 tokens (its ``max_seq_length``) and drops the rest;
- rank chunks by cosine with the embedded question (Chroma's collection space) and give
  the model the first ``RAG_TOP_K`` = 3; hybrid search (``ENABLE_RAG_HYBRID_SEARCH``) and a
  reranker are off, the relevance threshold is 0 and applies only to them.

Here the embedder is Ember's own all-MiniLM-L6-v2 (the same weights, run by llama.cpp),
so the row differs from Ember's only in the recipe. Open WebUI's chat also asks a model to
rewrite the question into search queries (``ENABLE_RETRIEVAL_QUERY_GENERATION``); that
depends on the model and is left out, as it is from Ember's rows: each question is the
query.

The splitters and loaders are re-implemented (pure functions below) rather than imported,
so the benchmark runs with Ember's runtime dependencies only; the tests compare them with
``langchain-text-splitters``, ``docx2txt`` and ``ftfy`` (dev dependencies) on the real
corpora.
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import numpy.typing as npt

NAME = "open-webui recipe (1000/100 chars, vectors)"
CHUNK_SIZE = 1000
CHUNK_OVERLAP = 100
SEPARATORS = ("\n\n", "\n", " ", "")
TOP_K = 3  # RAG_TOP_K: what the model is given
# sentence-transformers cuts all-MiniLM-L6-v2's input at 256 tokens, [CLS] and [SEP]
# included (the model's sentence_bert_config.json).
MAX_SEQ_TOKENS = 256
_SPECIAL_TOKENS = 2
_HEADERS = ("######", "#####", "####", "###", "##", "#")  # longest first, as LangChain

TokenCounter = Callable[[str], int]

# ---------------------------------------------------------------- ftfy.fix_text, the part
# that changes clean text: mojibake repair and HTML unescaping are not reproduced (the
# corpora are clean UTF-8 without entities; the tests check the result equals ftfy's).

_QUOTES = {0x2BC: "'", 0x2018: "'", 0x2019: "'", 0x201A: "'", 0x201B: "'"} | {
    c: '"' for c in range(0x201C, 0x2020)
}
_LIGATURES = {
    0x132: "IJ",
    0x133: "ij",
    0x149: "ʼn",
    0x1C4: "DŽ",
    0x1C5: "Dž",
    0x1C6: "dž",
    0x1C7: "LJ",
    0x1C8: "Lj",
    0x1C9: "lj",
    0x1CA: "NJ",
    0x1CB: "Nj",
    0x1CC: "nj",
    0x1F1: "DZ",
    0x1F2: "Dz",
    0x1F3: "dz",
    0xFB00: "ff",
    0xFB01: "fi",
    0xFB02: "fl",
    0xFB03: "ffi",
    0xFB04: "ffl",
    0xFB05: "ſt",
    0xFB06: "st",
}
_CONTROL = dict.fromkeys(
    [
        *range(0x00, 0x09),
        0x0B,
        *range(0x0E, 0x20),
        0x7F,
        *range(0x206A, 0x2070),
        0xFEFF,
        *range(0xFFF9, 0xFFFD),
    ]
)


def _width(char: str) -> str:
    """ftfy's fix_character_width: the ideographic space and the full- and half-width
    forms (U+FF01-U+FFEF) as NFKC writes them."""
    if char == "\u3000":
        return " "
    if 0xFF01 <= ord(char) < 0xFFF0:
        return unicodedata.normalize("NFKC", char)
    return char


def fix_text(text: str) -> str:
    """What ``ftfy.fix_text`` does to clean text, as Open WebUI's loader applies it."""
    text = text.translate(_LIGATURES)
    text = "".join(_width(c) if ord(c) >= 0x3000 else c for c in text)
    text = text.translate(_QUOTES)
    for crlf in ("\r\n", "\r", "\u2028", "\u2029", "\x85"):
        text = text.replace(crlf, "\n")
    text = text.translate(_CONTROL)
    return unicodedata.normalize("NFC", text)


# ---------------------------------------------------------------- loaders


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _xml_text(xml: bytes) -> str:
    text = []
    for node in ElementTree.fromstring(xml).iter():
        if node.tag == f"{_W}t":
            text.append(node.text or "")
        elif node.tag == f"{_W}tab":
            text.append("\t")
        elif node.tag in (f"{_W}br", f"{_W}cr"):
            text.append("\n")
        elif node.tag == f"{_W}p":
            text.append("\n\n")  # docx2txt marks a paragraph where it starts
    return "".join(text)


def docx_text(data: bytes) -> str:
    """``docx2txt.process``: headers, the body in document order (a table's cells as
    paragraphs where the table stands), footers, stripped."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        parts = [n for n in names if re.match(r"word/header[0-9]*.xml", n)]
        parts += ["word/document.xml"]
        parts += [n for n in names if re.match(r"word/footer[0-9]*.xml", n)]
        return "".join(_xml_text(archive.read(n)) for n in parts).strip()


def pdf_pages(data: bytes) -> list[str]:
    """``PyPDFLoader`` in page mode: one text per page, pypdf's plain extraction."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data), strict=False)
    return [page.extract_text() or "" for page in reader.pages]


def load(path: Path) -> list[str]:
    """The documents Open WebUI's default loader makes of a file, fixed by ftfy."""
    data = path.read_bytes()
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        texts = pdf_pages(data)
    elif suffix == ".docx":
        texts = [docx_text(data)]
    else:
        texts = [data.decode("utf-8")]
    return [fix_text(t) for t in texts]


# ---------------------------------------------------------------- splitting (LangChain)


def _split_keeping_separator(text: str, separator: str) -> list[str]:
    """``_split_text_with_regex`` with ``keep_separator=True``: each separator starts the
    piece after it; empty pieces are dropped."""
    if not separator:
        return [c for c in text if c]
    parts = re.split(f"({re.escape(separator)})", text)
    pieces = [parts[0]] + [parts[i] + parts[i + 1] for i in range(1, len(parts), 2)]
    return [p for p in pieces if p]


def _merge(splits: Sequence[str], chunk_size: int, overlap: int) -> list[str]:
    """``TextSplitter._merge_splits`` with an empty separator (the separators are kept in
    the pieces): pieces packed up to ``chunk_size``; the next chunk starts with the last
    pieces of the previous one that fit in ``overlap``."""
    chunks: list[str] = []
    current: list[str] = []
    total = 0
    for piece in splits:
        if total + len(piece) > chunk_size and current:
            if joined := "".join(current).strip():
                chunks.append(joined)
            while total > overlap or (total + len(piece) > chunk_size and total > 0):
                total -= len(current[0])
                current = current[1:]
        current.append(piece)
        total += len(piece)
    if joined := "".join(current).strip():
        chunks.append(joined)
    return chunks


def recursive_split(
    text: str,
    chunk_size: int = CHUNK_SIZE,
    overlap: int = CHUNK_OVERLAP,
    separators: Sequence[str] = SEPARATORS,
) -> list[str]:
    """``RecursiveCharacterTextSplitter.split_text``: split on the first separator the
    text contains, pack the pieces shorter than ``chunk_size``, split the longer ones
    again with the separators after it (the last, "", cuts between characters)."""
    separator = separators[-1]
    rest: tuple[str, ...] = ()
    for i, candidate in enumerate(separators):
        if not candidate:
            separator = candidate
            break
        if candidate in text:
            separator, rest = candidate, tuple(separators[i + 1 :])
            break
    chunks: list[str] = []
    good: list[str] = []
    for piece in _split_keeping_separator(text, separator):
        if len(piece) < chunk_size:
            good.append(piece)
            continue
        if good:
            chunks += _merge(good, chunk_size, overlap)
            good = []
        chunks += recursive_split(piece, chunk_size, overlap, rest) if rest else [piece]
    if good:
        chunks += _merge(good, chunk_size, overlap)
    return chunks


def _header(line: str) -> tuple[int, str] | None:
    for sep in _HEADERS:
        if line.startswith(sep) and (len(line) == len(sep) or line[len(sep)] == " "):
            return len(sep), line[len(sep) :].strip()
    return None


def markdown_header_split(text: str) -> list[str]:
    """``MarkdownHeaderTextSplitter(headers # … ######, strip_headers=False).split_text``:
    lines stripped (and of non-printable characters, tabs included), blank lines
    dropped, a new piece at each Markdown heading (kept in it), lines of one piece
    joined by two spaces and a newline; fenced code is never split."""
    pieces: list[tuple[str, dict[int, str]]] = []  # (content, header path)
    content: list[str] = []
    path: dict[int, str] = {}  # level -> heading
    meta: dict[int, str] = {}  # the path of the lines being collected
    fence = ""
    for raw in text.split("\n"):
        line = "".join(filter(str.isprintable, raw.strip()))
        if not fence:
            if line.startswith("```") and line.count("```") == 1:
                fence = "```"
            elif line.startswith("~~~"):
                fence = "~~~"
        elif line.startswith(fence):
            fence = ""
        if fence:
            content.append(line)
            continue
        header = _header(line)
        if header is not None:
            level, name = header
            path = {lv: h for lv, h in path.items() if lv < level} | {level: name}
            if content:
                pieces.append(("\n".join(content), dict(meta)))
                content = []
            content.append(line)
        elif line:
            content.append(line)
        elif content:
            pieces.append(("\n".join(content), dict(meta)))
            content = []
        meta = dict(path)
    if content:
        pieces.append(("\n".join(content), meta))
    return _aggregate(pieces)


def _aggregate(pieces: list[tuple[str, dict[int, str]]]) -> list[str]:
    """``aggregate_lines_to_chunks``: consecutive pieces under the same headings become
    one; a piece that is only a heading joins the piece under it."""
    out: list[tuple[str, dict[int, str]]] = []
    for text, meta in pieces:
        same = bool(out) and out[-1][1] == meta
        under_heading = (
            bool(out) and len(out[-1][1]) < len(meta) and out[-1][0].split("\n")[-1][0] == "#"
        )
        if same or under_heading:
            out[-1] = (out[-1][0] + "  \n" + text, meta)
        else:
            out.append((text, meta))
    return [text for text, _ in out]


def split_documents(documents: Sequence[str]) -> list[str]:
    """Open WebUI's split of a file's loaded documents: Markdown headings, then 1000/100
    characters, each document on its own (a PDF's chunks never cross a page)."""
    return [
        chunk
        for document in documents
        for piece in markdown_header_split(document)
        for chunk in recursive_split(piece)
    ]


# ---------------------------------------------------------------- embedding and ranking


def embedded_text(chunk: str) -> str:
    """What is embedded for a chunk: ``sanitize_text_for_db`` (NUL characters and lone
    surrogates removed), newlines replaced by spaces, no prefix."""
    clean = chunk.replace("\x00", "").encode("utf-8", "surrogatepass").decode("utf-8", "ignore")
    return clean.replace("\n", " ")


def truncate(text: str, count: TokenCounter, limit: int = MAX_SEQ_TOKENS) -> str:
    """The longest prefix of ``text``, cut at a space, that the model reads within
    ``limit`` tokens with [CLS] and [SEP], as sentence-transformers truncates."""
    budget = limit - _SPECIAL_TOKENS
    if count(text) <= budget:
        return text
    cuts = [m.start() for m in re.finditer(r" ", text)]
    low, high = 0, len(cuts) - 1
    best = 0
    while low <= high:
        mid = (low + high) // 2
        if count(text[: cuts[mid]]) <= budget:
            best, low = cuts[mid], mid + 1
        else:
            high = mid - 1
    return text[:best]


@dataclass(frozen=True)
class RecipeChunk:
    topic: str
    text: str  # as stored and shown (before the newline replacement)


@dataclass
class RecipeIndex:
    """Open WebUI's collection for one corpus: its chunks and their unit vectors."""

    chunks: list[RecipeChunk]
    vectors: npt.NDArray[np.float32]
    truncated: int  # chunks longer than the model reads

    def rank(self, query: Sequence[float], depth: int) -> list[RecipeChunk]:
        """The ``depth`` chunks of highest cosine with ``query``, best first."""
        q = np.asarray(query, dtype=np.float32)
        q /= np.linalg.norm(q) or 1.0
        scores = self.vectors @ q
        order = np.argsort(-scores, kind="stable")[:depth]
        return [self.chunks[int(i)] for i in order]


def chunk_files(paths: Sequence[Path]) -> list[RecipeChunk]:
    """Every file loaded and split as Open WebUI does, in order (topic = file stem). A
    file whose text is already in the collection is refused, as Open WebUI refuses it
    (``DUPLICATE_CONTENT``: the sha256 of its pages' text joined by spaces)."""
    chunks: list[RecipeChunk] = []
    seen: set[str] = set()
    for path in paths:
        documents = load(path)
        digest = hashlib.sha256(" ".join(documents).encode("utf-8")).hexdigest()
        if digest in seen:
            continue
        seen.add(digest)
        chunks += [RecipeChunk(path.stem, text) for text in split_documents(documents)]
    return chunks


def build_index(
    chunks: list[RecipeChunk],
    embed: Callable[[list[str]], list[list[float]]],
    count: TokenCounter,
    batch: int = 64,
) -> RecipeIndex:
    """Embed ``chunks`` (in batches) as Open WebUI would, cut to what the model reads."""
    texts = [embedded_text(c.text) for c in chunks]
    cut = [truncate(t, count) for t in texts]
    rows: list[list[float]] = []
    for start in range(0, len(cut), batch):
        rows += embed(cut[start : start + batch])
    vectors = np.asarray(rows, dtype=np.float32).reshape(len(chunks), -1)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors /= np.where(norms == 0, 1.0, norms)
    truncated = sum(1 for a, b in zip(texts, cut, strict=True) if a != b)
    return RecipeIndex(chunks, vectors, truncated)
