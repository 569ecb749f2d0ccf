"""The library end to end with the real all-MiniLM model: ingest, dedupe, re-index,
remove, limits, and hybrid retrieval on a small corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

from ember.documents.library import DocumentLibrary, SearchSettings
from ember.runtime import Runtime
from ember.storage import Database
from tests.documents.samples import write_docx, write_pdf

HANDBOOK = b"""# Ember handbook

## Installing

Run pip install ember-ai, then start the server with the ember command.

## Backups

The database lives in the Ember home folder. Copy ember.db while the server is stopped
to keep a spare copy of all your conversations.
"""


def corpus(root: Path) -> Path:
    root.mkdir()
    (root / "handbook.md").write_bytes(HANDBOOK)
    (root / "garden.txt").write_text(
        "Tomatoes need six to eight hours of direct sunlight every day.\n\n"
        "Water the plants deeply twice a week rather than a little every day."
    )
    (root / "cats.html").write_text(
        "<html><body><h1>Cats</h1><p>Cats sleep between twelve and sixteen hours a day, "
        "usually in warm places.</p></body></html>"
    )
    write_pdf(
        root / "lease.pdf",
        [
            ["Tenant pays rent on the first day of each month."],
            ["The landlord must give 30 days notice before any inspection of the flat."],
        ],
    )
    write_docx(
        root / "policy.docx",
        [("Travel", ["Employees book flights through the travel desk at least two weeks ahead."])],
    )
    return root


def test_folder_ingest_search_and_citations(library: DocumentLibrary, tmp_path: Path) -> None:
    root = corpus(tmp_path / "docs")
    (root / "broken.pdf").write_bytes(b"%PDF-1.4 truncated garbage")
    (root / "notes.xyz").write_text("ignored in folders")
    seen: list[Path] = []
    results = library.add([root], progress=seen.append)
    status = {r.path.name: r.status for r in results}
    assert status == {
        "broken.pdf": "failed",
        "cats.html": "added",
        "garden.txt": "added",
        "handbook.md": "added",
        "lease.pdf": "added",
        "policy.docx": "added",
    }
    assert len(seen) == 6
    assert "cannot read PDF" in next(r.detail for r in results if r.status == "failed")

    def top(question: str) -> tuple[str, int | None, str]:
        hits = library.search(question)
        assert hits, question
        return Path(hits[0].path).name, hits[0].page, hits[0].heading

    assert top("how can I back up my chat history?") == (
        "handbook.md",
        None,
        "Ember handbook > Backups",
    )
    assert top("when is the monthly payment due?") == ("lease.pdf", 1, "")
    assert top("how much warning before the owner visits the apartment?")[:2] == ("lease.pdf", 2)
    assert top("how long do felines nap?")[0] == "cats.html"
    assert top("how much sun does a tomato plant want?")[0] == "garden.txt"
    assert top("how early should staff reserve plane tickets?")[0] == "policy.docx"
    hit = library.search("how long do felines nap?")[0]
    assert hit.text == "Cats sleep between twelve and sixteen hours a day, usually in warm places."

    for unrelated in (
        "what is the capital of Peru?",
        "explain quantum chromodynamics",
        "best pizza recipe with pineapple",
    ):
        assert library.search(unrelated) == [], unrelated


def test_hash_dedupe_reindex_and_remove(library: DocumentLibrary, tmp_path: Path) -> None:
    a = tmp_path / "a.txt"
    a.write_text("Solar panels turn sunlight into electricity.")
    twin = tmp_path / "twin.txt"
    twin.write_text(a.read_text())
    b = tmp_path / "b.txt"
    b.write_text("Bicycles have two wheels and pedals.")
    assert [r.status for r in library.add([a, twin, b])] == ["added", "duplicate", "added"]
    assert [r.status for r in library.add([a, b])] == ["unchanged", "unchanged"]

    a.write_text("Wind turbines turn moving air into electricity.")
    assert [r.status for r in library.add([a, b])] == ["updated", "unchanged"]
    hits = library.search("how do windmills make power?")
    assert hits
    assert hits[0].text.startswith("Wind turbines")
    assert all("Solar" not in h.text for h in library.search("solar panels"))

    removed = library.remove(str(a))
    assert [Path(r.path).name for r in removed] == ["a.txt"]
    assert library.search("wind turbines electricity") == []
    chunks = library.db.query_one("SELECT COUNT(*) FROM doc_chunks")
    fts = library.db.query_one(
        "SELECT COUNT(*) FROM doc_chunks_fts WHERE doc_chunks_fts MATCH 'wind'"
    )
    assert chunks is not None
    assert chunks[0] == 1
    assert fts is not None
    assert fts[0] == 0


def test_collections_are_separate(library: DocumentLibrary, tmp_path: Path) -> None:
    a = tmp_path / "a.txt"
    a.write_text("The quarterly budget review happens every March.")
    library.add([a], collection="work")
    library.add([a])  # the same file may live in two collections
    assert dict(library.collections()) == {"default": 1, "work": 1}
    assert library.search("when is the budget reviewed?", collection="work")
    library.remove(str(a), collection="work")
    assert library.search("when is the budget reviewed?", collection="work") == []
    assert library.search("when is the budget reviewed?", collection="default")


def test_limits_and_unsupported_files_are_reported(
    library: DocumentLibrary, tmp_path: Path
) -> None:
    small = DocumentLibrary(library.db, library._make_embedder, max_file_bytes=10)
    big = tmp_path / "big.txt"
    big.write_text("x" * 100)
    odd = tmp_path / "sheet.xlsx"
    odd.write_bytes(b"PK")
    missing = tmp_path / "missing.txt"
    results = small.add([big, odd, missing])
    assert [r.status for r in results] == ["failed", "failed", "failed"]
    assert "limit is" in results[0].detail
    assert "not supported" in results[1].detail
    assert "no such file" in results[2].detail


@pytest.mark.parametrize("mode", ["bm25", "vector", "hybrid"])
def test_each_mode_finds_a_keyword_question(
    library: DocumentLibrary, tmp_path: Path, mode: str
) -> None:
    library.add([corpus(tmp_path / "docs")])
    hits = library.search("tomatoes sunlight", settings=SearchSettings(mode=mode))
    assert hits
    assert Path(hits[0].path).name == "garden.txt"


def _embedding_of(library: DocumentLibrary, path: Path) -> bytes:
    row = library.db.query_one(
        "SELECT ch.embedding FROM doc_chunks ch JOIN documents d ON d.id = ch.document_id"
        " WHERE d.path = ?",
        (str(path.resolve()),),
    )
    assert row is not None
    return bytes(row[0])


def test_documents_from_another_model_or_older_text_are_re_embedded(
    library: DocumentLibrary, tmp_path: Path
) -> None:
    kept = tmp_path / "kept.md"
    kept.write_text("# Ferries\n\nThe island ferry leaves at nine and returns at six.")
    gone = tmp_path / "gone.md"
    gone.write_text("# Bakery\n\nThe bakery sells rye bread on Saturdays only.")
    library.add([kept, gone])
    fresh = {p.name: _embedding_of(library, p) for p in (kept, gone)}
    assert library.stale() == []

    # As if embedded by an older Ember (no title in the embedded text) and another model.
    with library.db.transaction() as tx:
        tx.execute("UPDATE documents SET embed_version = 1, model = 'old-embedder'")
        tx.execute("UPDATE doc_chunks SET embedding = ?", (bytes(len(fresh["kept.md"])),))
    assert library.search("when does the boat to the island leave?") == []  # other model
    assert {Path(d.path).name for d in library.stale()} == {"kept.md", "gone.md"}
    gone.unlink()

    results = {r.path.name: r for r in library.reindex(library.stale())}
    assert results["kept.md"].status == "updated"
    assert results["gone.md"].status == "updated"
    assert "stored text" in results["gone.md"].detail  # the file is gone: passages re-embedded
    assert library.stale() == []
    assert {p.name: _embedding_of(library, p) for p in (kept, gone)} == fresh
    hits = library.search("when does the boat to the island leave?")
    assert hits
    assert Path(hits[0].path).name == "kept.md"
    assert [r.status for r in library.add([kept])] == ["unchanged"]


def test_vectors_stay_in_memory_until_the_passages_change(
    library: DocumentLibrary, tmp_path: Path
) -> None:
    a = tmp_path / "a.txt"
    a.write_text("Solar panels turn sunlight into electricity.")
    library.add([a])
    library.search("how is power made from the sun?")
    library.search("sunlight electricity", "default")
    assert library.vectors.loads == 1

    b = tmp_path / "b.txt"
    b.write_text("Bicycles have two wheels and pedals.")
    library.add([b], "bikes")
    hits = library.search("what has pedals?")
    assert library.vectors.loads == 2
    assert Path(hits[0].path).name == "b.txt"
    assert all(Path(h.path).name == "a.txt" for h in library.search("pedals", "default"))

    # Another connection (a second Ember process) removes a document: seen at once.
    other = Database(library.db.path)
    with other.transaction() as tx:
        tx.execute("DELETE FROM documents WHERE path = ?", (str(b.resolve()),))
    other.close()
    assert library.search("what has pedals?", "bikes") == []
    assert library.vectors.loads == 3


def test_the_embedding_model_counts_in_the_engine_pool_budget(runtime: Runtime) -> None:
    """The runtime's library loads its embedder on first use and holds its memory in the
    pool's budget until it is closed."""
    assert runtime.engines.held == {}
    assert runtime.documents.search("anything at all") == []  # loads the model
    held = runtime.engines.held
    assert list(held) == ["documents embedder (all-minilm-l6-v2:latest)"]
    assert held["documents embedder (all-minilm-l6-v2:latest)"] > 10_000_000
    assert runtime.engines.used_bytes >= sum(held.values())
    runtime.documents.close()
    assert runtime.engines.held == {}


def test_a_search_does_not_wait_for_an_upload_being_read(
    library: DocumentLibrary, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An ingest holds the embedder only while it embeds: while a file is still being
    read and extracted, a search of the library answers."""
    import threading

    import ember.documents.library as library_module

    (tmp_path / "first.txt").write_text("The harbour opens at six in the morning.")
    library.add([tmp_path / "first.txt"], "slow")
    reading, release = threading.Event(), threading.Event()
    real_extract = library_module.extract

    def slow_extract(path: Path, data: bytes) -> object:
        reading.set()
        assert release.wait(timeout=60), "the search never came"
        return real_extract(path, data)

    monkeypatch.setattr(library_module, "extract", slow_extract)
    (tmp_path / "second.txt").write_text("The ferry leaves at noon.")
    upload = threading.Thread(target=library.add, args=([tmp_path / "second.txt"], "slow"))
    upload.start()
    try:
        assert reading.wait(timeout=60)
        hits = library.search("When does the harbour open?", "slow")  # not blocked
        assert hits
        assert "harbour" in hits[0].text
    finally:
        release.set()
        upload.join(timeout=60)
    assert {Path(d.path).name for d in library.documents("slow")} == {"first.txt", "second.txt"}
