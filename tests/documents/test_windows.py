"""Sentence windows: the pure pieces, and the library keeping, using and dropping the
windows' vectors with the real all-MiniLM model."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ember.documents.library import EMBED_VERSION, DocumentLibrary, SearchSettings
from ember.documents.windows import rescored, sentence_windows

LONG = (
    "The river flows through the old town. Boats carry tourists in summer. "
    "The bridges are lit at night. Fishing is allowed upstream of the mill. "
    "A licence costs twelve euros a year and is sold at the town hall. "
    "Swimming is not allowed near the weir."
)


def test_windows_are_two_sentences_sliding_by_one() -> None:
    windows = sentence_windows(LONG)
    assert len(windows) == 5
    assert windows[0] == "The river flows through the old town. Boats carry tourists in summer."
    assert windows[-1].endswith("Swimming is not allowed near the weir.")
    assert sentence_windows("One sentence only.") == ["One sentence only."]
    assert sentence_windows("First. Second.") == ["First. Second."]


def test_rescoring_fuses_the_first_order_with_the_windows_order() -> None:
    # 3 is last by its chunk but first by its best window: fused, it moves up, and ties
    # keep the first order.
    assert rescored([1, 2, 3], {1: 0.5, 2: 0.4, 3: 0.9}) == [1, 3, 2]
    assert rescored([1, 2], {1: 0.1, 2: 0.2}) == [1, 2]  # a tie: the first order wins


def test_the_library_keeps_each_chunks_windows_and_drops_them_with_it(
    library: DocumentLibrary, tmp_path: Path
) -> None:
    doc = tmp_path / "river.txt"
    doc.write_text(LONG)
    [result] = library.add([doc])
    assert result.status == "added"
    rows = library.db.query(
        "SELECT w.chunk_id, w.embedding FROM doc_windows w JOIN doc_chunks c ON c.id = w.chunk_id"
    )
    assert len(rows) == len(sentence_windows(LONG))
    norms = [float(np.linalg.norm(np.frombuffer(r["embedding"], dtype="<f4"))) for r in rows]
    assert all(abs(n - 1.0) < 1e-3 for n in norms)
    assert {d.embed_version for d in library.documents()} == {EMBED_VERSION}

    question = "How much does a fishing licence cost?"
    with_windows = library.search(question, settings=SearchSettings())
    without = library.search(question, settings=SearchSettings(windows=False))
    assert with_windows
    assert {h.chunk_id for h in with_windows} == {h.chunk_id for h in without}
    assert "twelve euros" in with_windows[0].text

    library.remove(str(doc))
    assert library.db.query("SELECT COUNT(*) AS n FROM doc_windows")[0]["n"] == 0


def test_documents_of_an_older_version_are_reindexed_with_windows(
    library: DocumentLibrary, tmp_path: Path
) -> None:
    doc = tmp_path / "river.txt"
    doc.write_text(LONG)
    library.add([doc])
    with library.db.transaction() as tx:  # as an older Ember left it
        tx.execute("DELETE FROM doc_windows")
        tx.execute("UPDATE documents SET embed_version = 2")
    assert [d.path for d in library.stale()] == [str(doc)]
    doc.unlink()  # re-embedded from the stored passages
    [result] = library.reindex(library.stale())
    assert result.status == "updated"
    assert library.stale() == []
    count = library.db.query("SELECT COUNT(*) AS n FROM doc_windows")[0]["n"]
    assert count == len(sentence_windows(LONG))
