"""The passages' vectors held in memory between searches.

Reading every float32 blob from SQLite on each question costs more than the search
itself once a library grows (100k passages of 384 dimensions are 150 MB). The matrix is
loaded once and reloaded only when passages change: triggers on ``doc_chunks``
(migration ``m006_doc_generation``) bump ``doc_state.generation`` on every insert,
delete or re-embedding, from any process, so a check costs one tiny query. Vectors are
searched by exact cosine in numpy (sqlite-vec needs SQLite extensions, which Python's
``sqlite3`` cannot load everywhere).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ember.documents.retrieval import from_blob
from ember.storage import Database


@dataclass(frozen=True)
class _Loaded:
    generation: int
    model: str
    ids: npt.NDArray[np.int64]
    collections: npt.NDArray[np.int64]
    matrix: npt.NDArray[np.float32]


class VectorIndex:
    """Cosine similarity of a question with the passages of some collections."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._loaded: _Loaded | None = None
        self._lock = threading.Lock()
        self.loads = 0  # how many times the matrix was read from the database

    def similarities(
        self, query: npt.NDArray[np.float32], model: str, collection_ids: Sequence[int] | None
    ) -> tuple[list[int], npt.NDArray[np.float32]]:
        """(passage ids, their cosine with ``query``) for the passages embedded by
        ``model`` in ``collection_ids`` (None: all collections)."""
        loaded = self._current(model)
        if collection_ids is None:
            ids, scores = loaded.ids, loaded.matrix @ query if len(loaded.ids) else loaded.ids
        else:
            keep = np.isin(loaded.collections, np.asarray(collection_ids, dtype=np.int64))
            ids = loaded.ids[keep]
            scores = loaded.matrix[keep] @ query if len(ids) else np.zeros(0, np.float32)
        return ids.tolist(), np.asarray(scores, dtype=np.float32)

    def _current(self, model: str) -> _Loaded:
        row = self.db.query_one("SELECT generation FROM doc_state")
        generation = int(row[0]) if row else 0
        with self._lock:
            loaded = self._loaded
            if loaded is None or loaded.generation != generation or loaded.model != model:
                loaded = self._loaded = self._load(generation, model)
            return loaded

    def _load(self, generation: int, model: str) -> _Loaded:
        rows = self.db.query(
            "SELECT ch.id, d.collection_id, ch.embedding FROM doc_chunks ch"
            " JOIN documents d ON d.id = ch.document_id WHERE d.model = ? ORDER BY ch.id",
            (model,),
        )
        self.loads += 1
        if not rows:
            empty = np.zeros(0, dtype=np.int64)
            return _Loaded(generation, model, empty, empty, np.zeros((0, 0), np.float32))
        return _Loaded(
            generation,
            model,
            np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)),
            np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows)),
            np.stack([from_blob(r[2]) for r in rows]),
        )
