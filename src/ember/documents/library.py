"""The document library: collections of files, their chunks, BM25 and vectors in
Ember's SQLite database; the search over them is :mod:`ember.documents.search`.

Vectors are float32 blobs in ``doc_chunks`` searched by brute-force cosine in numpy:
Python's sqlite3 here cannot load extensions (``enable_load_extension`` is missing), so
sqlite-vec is not used yet; brute force is exact and fast to ~100k chunks.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ember.documents.chunker import Chunk, ChunkSpec, chunk_document
from ember.documents.embedding import TextEmbedder
from ember.documents.errors import (
    DocumentError,
    DocumentReadError,
    FileTooLargeError,
    NoRerankerModelError,
    UnsupportedFileError,
)
from ember.documents.extract import extract, supported
from ember.documents.reranking import PassageReranker, rerank
from ember.documents.retrieval import to_blob
from ember.documents.search import Hit, SearchSettings, hybrid_search, passage, whole_document
from ember.documents.vector_index import VectorIndex
from ember.documents.windows import WindowVectors, sentence_windows
from ember.errors import EmberError
from ember.storage import Database

log = logging.getLogger(__name__)

DEFAULT_COLLECTION = "default"
# What is embedded for a chunk (see _embed_text). Raise it when that changes: documents
# embedded by an older version are re-embedded (`reindex`, `ember docs reindex`, and the
# server at start).
# 1: the chunk's heading path and text; 2: the document's title before them; 3: and
# the chunk's sentence windows (documents/windows.py).
EMBED_VERSION = 3
# Kinds whose extraction changed since (their embedded text with it): pdf 1, the
# headings read from type sizes (documents/pdf_headings.py).
EXTRACTION_VERSIONS = {"pdf": 1}


def text_version(kind: str) -> int:
    """The version of the embedded text of a document of this kind: a stored document
    below it is embedded again, its file read anew (``stale``)."""
    return EMBED_VERSION + EXTRACTION_VERSIONS.get(kind, 0)


MAX_FILE_BYTES = 50 * 1024 * 1024
Progress = Callable[[Path], None]


@dataclass(frozen=True)
class IngestResult:
    path: Path
    status: str  # added | updated | unchanged | duplicate | failed
    chunks: int = 0
    detail: str = ""


@dataclass(frozen=True)
class DocumentRow:
    id: int
    collection: str
    path: str
    kind: str
    size: int
    chunks: int
    pages: int | None
    title: str | None
    model: str
    added_at: str
    embed_version: int


class DocumentLibrary:
    def __init__(
        self,
        db: Database,
        embedder: Callable[[], TextEmbedder],
        *,
        spec: ChunkSpec | None = None,
        max_file_bytes: int = MAX_FILE_BYTES,
        reranker: Callable[[], PassageReranker] | None = None,
        rerank_candidates: int = 0,
    ) -> None:
        """``reranker`` (loaded on first use) reorders the first ``rerank_candidates``
        passages of every search that does not say otherwise (docs/documents.md)."""
        self.db = db
        self._make_embedder = embedder
        self._embedder: TextEmbedder | None = None
        self._make_reranker = reranker
        self._reranker: PassageReranker | None = None
        self._rerank_lock = threading.Lock()
        self.rerank_candidates = rerank_candidates if reranker is not None else 0
        # One llama.cpp context embeds one batch at a time: the web API, the chat and the
        # CLI may call from different threads. Held only around the embedder itself, so
        # a search waits for one embedding batch, not for a whole upload being read.
        self._lock = threading.RLock()
        # Ingests and re-embeds write one document at a time (the dedupe checks and the
        # replacement of a document's rows must not interleave).
        self._ingest_lock = threading.Lock()
        self.spec = spec or ChunkSpec()
        self.max_file_bytes = max_file_bytes
        self.vectors = VectorIndex(db)
        self.windows = WindowVectors(db)

    @property
    def embedder(self) -> TextEmbedder:
        with self._lock:
            if self._embedder is None:
                self._embedder = self._make_embedder()
            return self._embedder

    def _embed(self, texts: list[str]) -> list[list[float]]:
        with self._lock:
            return self.embedder.embed(texts)

    def _count_tokens(self, text: str) -> int:
        with self._lock:
            return self.embedder.count_tokens(text)

    def _rerank(self, question: str, kept: list[int], pool: int) -> list[int]:
        """``kept`` with its first ``pool`` reordered by the reranker, if there is one."""
        if self._make_reranker is None or pool <= 0:
            return kept
        with self._rerank_lock:  # one reranker context, shared by every caller's thread
            if self._reranker is None:
                try:
                    self._reranker = self._make_reranker()
                except NoRerankerModelError as exc:
                    # The rerank setting without a reranker installed: answer from the
                    # hybrid ranking rather than fail every search; said once.
                    log.warning("documents: %s (%s); searching without it", exc, exc.hint)
                    self._make_reranker = None
                    return kept
            return rerank(self.db, self._reranker, question, kept, pool)

    def close(self) -> None:
        with self._lock:
            if self._embedder is not None:
                self._embedder.close()
                self._embedder = None
        with self._rerank_lock:
            if self._reranker is not None:
                self._reranker.close()
                self._reranker = None

    # ------------------------------------------------------------ collections

    def collections(self) -> list[tuple[str, int]]:
        rows = self.db.query(
            "SELECT c.name, COUNT(d.id) FROM doc_collections c"
            " LEFT JOIN documents d ON d.collection_id = c.id GROUP BY c.id ORDER BY c.name"
        )
        return [(r[0], r[1]) for r in rows]

    def _collection_id(self, name: str, *, create: bool) -> int | None:
        row = self.db.query_one("SELECT id FROM doc_collections WHERE name = ?", (name,))
        if row is not None:
            return int(row[0])
        if not create:
            return None
        with self.db.transaction() as tx:
            cur = tx.execute("INSERT INTO doc_collections (name) VALUES (?)", (name,))
            return int(cur.lastrowid or 0)

    # ------------------------------------------------------------ ingest

    def add(
        self,
        paths: Iterable[Path],
        collection: str = DEFAULT_COLLECTION,
        progress: Progress | None = None,
    ) -> list[IngestResult]:
        """Index files and folders (recursively, supported types only); a file that fails
        is reported and skipped, the others still go in."""
        files = list(self.expand(paths))
        cid = self._collection_id(collection, create=True)
        assert cid is not None
        results = []
        for path in files:
            try:
                with self._ingest_lock:
                    results.append(self._add_file(path, cid))
            except DocumentError as exc:
                results.append(IngestResult(path, "failed", detail=exc.message))
            if progress is not None:
                progress(path)
        return results

    @staticmethod
    def expand(paths: Iterable[Path]) -> Iterator[Path]:
        """Files named directly (any type: an unsupported one fails with a clear error)
        and the supported, non-hidden files under folders, in a stable order."""
        for path in paths:
            path = path.expanduser().resolve()
            if path.is_dir():
                for root, dirs, names in os.walk(path):
                    dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                    for name in sorted(names):
                        file = Path(root) / name
                        if not name.startswith(".") and supported(file):
                            yield file
            else:
                yield path

    def _add_file(self, path: Path, cid: int, *, force: bool = False) -> IngestResult:
        if not path.is_file():
            raise DocumentError(f"{path}: no such file")
        if not supported(path):
            extract(path, b"")  # raises UnsupportedFileError with the list of types
        size = path.stat().st_size
        if size > self.max_file_bytes:
            raise FileTooLargeError(
                f"{path.name} is {size / 1e6:.1f} MB; the limit is "
                f"{self.max_file_bytes / 1e6:.0f} MB"
            )
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        model = self.embedder.name
        existing = self.db.query_one(
            "SELECT id, sha256, model, embed_version, kind FROM documents"
            " WHERE collection_id = ? AND path = ?",
            (cid, str(path)),
        )
        if (
            not force
            and existing is not None
            and (existing["sha256"], existing["model"], existing["embed_version"])
            == (digest, model, text_version(existing["kind"]))
        ):
            return IngestResult(path, "unchanged")
        twin = self.db.query_one(
            "SELECT path FROM documents WHERE collection_id = ? AND sha256 = ? AND path != ?",
            (cid, digest, str(path)),
        )
        if twin is not None:
            return IngestResult(path, "duplicate", detail=f"same content as {twin['path']}")
        doc = extract(path, data)
        chunks = chunk_document(doc, self._count_tokens, self.spec)
        if not chunks:
            raise DocumentReadError(f"{path.name}: no text found (a scanned PDF needs OCR)")
        context = document_context(doc.title, doc.text, path)
        vectors = self._embed([_embed_text(c, context) for c in chunks])
        window_vectors = self._embed_windows(chunks)
        with self.db.transaction() as tx:
            if existing is not None:
                tx.execute("DELETE FROM documents WHERE id = ?", (existing["id"],))
            cur = tx.execute(
                "INSERT INTO documents (collection_id, path, sha256, size, kind, title, pages,"
                " model, chunks, embed_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    cid,
                    str(path),
                    digest,
                    size,
                    doc.kind,
                    doc.title,
                    doc.pages,
                    model,
                    len(chunks),
                    text_version(doc.kind),
                ),
            )
            tx.executemany(
                "INSERT INTO doc_chunks (document_id, seq, text, heading, page, start, end,"
                " tokens, embedding) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        cur.lastrowid,
                        i,
                        c.text,
                        c.heading,
                        c.page,
                        c.start,
                        c.end,
                        c.tokens,
                        to_blob(v),
                    )
                    for i, (c, v) in enumerate(zip(chunks, vectors, strict=True))
                ],
            )
            chunk_ids = [
                int(r[0])
                for r in tx.execute(
                    "SELECT id FROM doc_chunks WHERE document_id = ? ORDER BY seq",
                    (cur.lastrowid,),
                )
            ]
        self.windows.replace(chunk_ids, window_vectors)
        return IngestResult(path, "updated" if existing else "added", len(chunks))

    def _embed_windows(self, chunks: Sequence[Chunk]) -> list[list[list[float]]]:
        """Each chunk's sentence windows' vectors (one embedding call for them all)."""
        windows = [sentence_windows(c.text) for c in chunks]
        flat = self._embed([w for ws in windows for w in ws])
        out, at = [], 0
        for ws in windows:
            out.append(flat[at : at + len(ws)])
            at += len(ws)
        return out

    # ------------------------------------------------------------ listing, removal

    def documents(self, collection: str | None = None) -> list[DocumentRow]:
        sql = (
            "SELECT d.id, c.name AS collection, d.path, d.kind, d.size, d.chunks, d.pages,"
            " d.title, d.model, d.added_at, d.embed_version FROM documents d"
            " JOIN doc_collections c ON c.id = d.collection_id"
        )
        params: tuple[str, ...] = ()
        if collection is not None:
            sql += " WHERE c.name = ?"
            params = (collection,)
        return [
            DocumentRow(**dict(r)) for r in self.db.query(sql + " ORDER BY c.name, d.path", params)
        ]

    def remove(self, target: str, collection: str | None = None) -> list[DocumentRow]:
        """Remove documents by path (a folder removes everything under it) or id; their
        chunks go with them."""
        path = str(Path(target).expanduser().resolve())
        rows = [
            d
            for d in self.documents(collection)
            if d.path == path or d.path.startswith(path.rstrip("/") + "/") or str(d.id) == target
        ]
        with self.db.transaction() as tx:
            tx.executemany("DELETE FROM documents WHERE id = ?", [(d.id,) for d in rows])
        return rows

    # ------------------------------------------------------------ re-embedding

    def stale(self, collection: str | None = None) -> list[DocumentRow]:
        """Documents whose vectors came from another embedding model or an older version
        of the embedded text; a search does not see those from another model."""
        model = self.embedder.name
        return [
            d
            for d in self.documents(collection)
            if d.model != model or d.embed_version < text_version(d.kind)
        ]

    def reindex(
        self,
        rows: Sequence[DocumentRow],
        progress: Progress | None = None,
        stop: threading.Event | None = None,
    ) -> list[IngestResult]:
        """Embed ``rows`` again with the present model and text: from the file when it is
        still there (read, chunked and embedded anew), else from the stored passages.
        ``stop`` ends it between documents (a server shutting down)."""
        results = []
        for row in rows:
            if stop is not None and stop.is_set():
                break
            path = Path(row.path)
            cid = self._collection_id(row.collection, create=False)
            try:
                with self._ingest_lock:
                    if cid is None:
                        continue  # its collection was removed meanwhile
                    if path.is_file():
                        result = self._add_file(path, cid, force=True)
                    else:
                        result = self._reembed_stored(row)
                results.append(
                    IngestResult(path, "updated", result.chunks, result.detail)
                    if result.status == "added"
                    else result
                )
            except DocumentError as exc:
                results.append(IngestResult(path, "failed", detail=exc.message))
            if progress is not None:
                progress(path)
        return results

    def _reembed_stored(self, row: DocumentRow) -> IngestResult:
        stored = self.db.query(
            "SELECT id, text, heading, page, start, end, tokens FROM doc_chunks"
            " WHERE document_id = ? ORDER BY seq",
            (row.id,),
        )
        ids = [int(r["id"]) for r in stored]
        chunks = [
            Chunk(
                r["text"],
                r["start"],
                r["end"],
                r["page"],
                tuple(r["heading"].split(" > ")) if r["heading"] else (),
                r["tokens"],
            )
            for r in stored
        ]
        first = chunks[0].text if chunks else ""
        context = document_context(row.title, first, Path(row.path))
        vectors = self._embed([_embed_text(c, context) for c in chunks])
        window_vectors = self._embed_windows(chunks)
        self.windows.replace(ids, window_vectors)
        with self.db.transaction() as tx:
            tx.executemany(
                "UPDATE doc_chunks SET embedding = ? WHERE id = ?",
                [(to_blob(v), cid) for cid, v in zip(ids, vectors, strict=True)],
            )
            tx.execute(
                "UPDATE documents SET model = ?, embed_version = ? WHERE id = ?",
                (self.embedder.name, text_version(row.kind), row.id),
            )
        return IngestResult(
            Path(row.path), "updated", len(chunks), "the file is gone: its stored text was used"
        )

    def remove_collection(self, name: str) -> int:
        if name == DEFAULT_COLLECTION:
            raise EmberError("the default collection cannot be removed")
        count = len(self.documents(name))
        with self.db.transaction() as tx:
            tx.execute("DELETE FROM doc_collections WHERE name = ?", (name,))
        return count

    # ------------------------------------------------------------ search

    def search(
        self,
        question: str,
        collection: str | Sequence[str] | None = None,
        settings: SearchSettings | None = None,
    ) -> list[Hit]:
        """The best chunks for ``question`` in ``collection`` (a name, several, or None
        for all): BM25 and vector rankings fused by reciprocal rank; chunks unrelated to
        the question (cosine below the threshold) are dropped, so an unrelated question
        retrieves nothing. With a reranker, the best of the rest are reordered by it."""
        s = settings or SearchSettings()
        collection_ids: list[int] | None = None
        if collection is not None:
            names = [collection] if isinstance(collection, str) else list(collection)
            collection_ids = [
                cid for cid in (self._collection_id(n, create=False) for n in names) if cid
            ]
            if not collection_ids:
                return []
        pool = self.rerank_candidates if s.rerank_candidates is None else s.rerank_candidates
        return hybrid_search(
            self.db,
            self.vectors,
            self.windows,
            question,
            np.asarray(self._embed([question])[0], dtype=np.float32),
            model=self.embedder.name,
            collection_ids=collection_ids,
            settings=s,
            rerank=lambda ranked: self._rerank(question, ranked, pool),
        )

    def whole_document(self, chunk_id: int) -> list[Hit]:
        """Every chunk of the document that holds ``chunk_id``, in document order."""
        return whole_document(self.db, chunk_id)

    def passage(self, chunk_id: int) -> dict[str, Any] | None:
        """One chunk with its document and collection (what a citation opens), or None."""
        return passage(self.db, chunk_id)


def document_context(title: str | None, text: str, path: Path) -> str:
    """What a chunk is part of: the document's title, else its first line, else its
    file name (at most 100 characters)."""
    if title and title.strip():
        return title.strip()[:100]
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return (first or path.stem)[:100]


def _embed_text(chunk: Chunk, context: str) -> str:
    """What is embedded: the document's title and the chunk's heading path before its
    text, so a passage that never names its subject still embeds near questions about
    it. Measured offline on the retrieval benchmark's stored rankings: vector recall@5
    0.738 -> 0.775 with the title (bench/results, docs/documents.md)."""
    lines = [context] if context and not chunk.text.startswith(context) else []
    if chunk.heading and chunk.heading != context:
        lines.append(chunk.heading)
    return "\n".join([*lines, chunk.text])


__all__ = ["DocumentLibrary", "Hit", "IngestResult", "SearchSettings", "UnsupportedFileError"]
