"""The documents API against a real server over a temporary EMBER_HOME: uploads (good and
broken files in one request), listing, search with the real all-MiniLM embedding model,
passages, removal, limits and unknown ids."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ember.config import load_settings
from ember.runtime import Runtime, build
from tests.server.conftest import serving

HANDBOOK = """# Handbook

## Backups

Ember keeps every conversation in one SQLite file. To back up your chat history, copy
the file ember.db from the Ember home folder to another disk while the server is stopped.

## Themes

The page follows the system's light or dark setting until you pick one yourself.
"""

CATS = """Cats sleep between twelve and sixteen hours a day. A kitten sleeps even more.

Felines nap in short bouts and stay alert to sounds while they doze.
"""


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("docs-api-home")


@pytest.fixture(scope="module")
def runtime(home: Path) -> Iterator[Runtime]:
    rt = build(load_settings(home=home, max_body_mb=1))
    yield rt
    rt.close()


@pytest.fixture(scope="module")
def url(runtime: Runtime) -> Iterator[str]:
    with serving(runtime) as base:
        yield base


@pytest.fixture(scope="module")
def uploaded(url: str) -> dict[str, Any]:
    """One request: a markdown file, a text file and a broken PDF into ``manuals``."""
    files = [
        ("files", ("handbook.md", HANDBOOK.encode(), "text/markdown")),
        ("files", ("../../cats notes.txt", CATS.encode(), "text/plain")),
        ("files", ("broken.pdf", b"%PDF-1.4 truncated garbage", "application/pdf")),
    ]
    response = httpx.post(
        f"{url}/api/documents", files=files, data={"collection": "manuals"}, timeout=300
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_upload_ingests_the_good_files_and_reports_the_broken_one(
    uploaded: dict[str, Any], home: Path
) -> None:
    assert uploaded["collection"] == "manuals"
    by_name = {r["filename"]: r for r in uploaded["results"]}
    assert by_name["handbook.md"]["status"] == "added"
    assert by_name["handbook.md"]["chunks"] >= 2
    cats = by_name["../../cats notes.txt"]
    assert cats["status"] == "added"
    # The name is made safe: the file stays in the collection's upload folder.
    folder = (home / "uploads" / "manuals").resolve()
    assert cats["document"]["path"] == str(folder / "cats notes.txt")
    broken = by_name["broken.pdf"]
    assert broken["status"] == "failed"
    assert "cannot read PDF" in broken["detail"]
    assert broken["document"] is None
    assert not (folder / "broken.pdf").exists()


def test_unsupported_type_is_a_per_file_failure(url: str, uploaded: dict[str, Any]) -> None:
    files = [("files", ("tool.exe", b"MZ\x90\x00", "application/octet-stream"))]
    response = httpx.post(f"{url}/api/documents", files=files, data={"collection": "manuals"})
    assert response.status_code == 200
    (result,) = response.json()["results"]
    assert result["status"] == "failed"
    assert ".exe files are not supported" in result["detail"]
    assert ".pdf" in result["detail"]


def test_upload_again_is_unchanged(url: str, uploaded: dict[str, Any]) -> None:
    files = [("files", ("handbook.md", HANDBOOK.encode(), "text/markdown"))]
    response = httpx.post(f"{url}/api/documents", files=files, data={"collection": "manuals"})
    assert response.json()["results"][0]["status"] == "unchanged"


def test_list_documents_and_collections(url: str, uploaded: dict[str, Any]) -> None:
    docs = httpx.get(f"{url}/api/documents", params={"collection": "manuals"}).json()["documents"]
    assert sorted(d["name"] for d in docs) == ["cats notes.txt", "handbook.md"]
    assert all(d["collection"] == "manuals" and d["chunks"] > 0 for d in docs)
    listing = httpx.get(f"{url}/api/documents/collections").json()
    counts = {c["name"]: c["documents"] for c in listing["collections"]}
    assert counts["manuals"] == 2
    assert "default" in counts
    assert listing["max_body_bytes"] == 1 << 20
    assert ".pdf" in listing["types"]


def test_search_then_open_the_passage(url: str, uploaded: dict[str, Any]) -> None:
    response = httpx.post(
        f"{url}/api/documents/search",
        json={"query": "how can I back up my chat history?", "collection": "manuals", "limit": 3},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    hits = response.json()["hits"]
    assert hits, "the backup question finds the handbook"
    top = hits[0]
    assert top["title"] == "handbook.md"
    assert top["heading"].endswith("Backups")
    assert "ember.db" in top["text"]
    assert 0 < top["similarity"] <= 1

    passage = httpx.get(f"{url}/api/documents/passages/{top['chunk_id']}").json()
    assert passage["chunk_id"] == top["chunk_id"]
    assert passage["text"] == top["text"]
    assert passage["path"] == top["path"]
    assert passage["heading"] == top["heading"]
    assert passage["collection"] == "manuals"
    assert passage["page"] is None

    unrelated = httpx.post(
        f"{url}/api/documents/search", json={"query": "what is the capital of Peru?"}, timeout=60
    )
    assert unrelated.json()["hits"] == []


def test_too_big_upload_is_413(url: str) -> None:
    big = b"word " * 300_000  # 1.5 MB, over the 1 MiB body limit
    files = [("files", ("big.txt", big, "text/plain"))]
    response = httpx.post(f"{url}/api/documents", files=files)
    assert response.status_code == 413
    assert "at most" in response.json()["error"]


def test_unknown_ids_and_collections_are_404(url: str) -> None:
    for method, path, body in [
        ("GET", "/api/documents?collection=nope", None),
        ("DELETE", "/api/documents/999999", None),
        ("GET", "/api/documents/passages/999999", None),
        ("POST", "/api/documents/search", {"query": "cats", "collection": "nope"}),
    ]:
        response = httpx.request(method, f"{url}{path}", json=body)
        assert response.status_code == 404, (path, response.text)
        assert isinstance(response.json()["error"], str)


def test_bad_requests_are_400_in_ollama_shape(url: str) -> None:
    cases = [
        httpx.post(f"{url}/api/documents", json={"files": []}),
        httpx.post(
            f"{url}/api/documents",
            files=[("files", ("a.txt", b"hello", "text/plain"))],
            data={"collection": "../etc"},
        ),
        httpx.post(f"{url}/api/documents", data={"files": "not a file"}),
        httpx.post(f"{url}/api/documents/search", json={"query": ""}),
        httpx.get(f"{url}/api/documents/passages/abc"),
    ]
    for response in cases:
        assert response.status_code == 400, response.text
        assert isinstance(response.json()["error"], str)


def test_delete_removes_the_document_its_passages_and_its_file(
    url: str, uploaded: dict[str, Any], home: Path
) -> None:
    files = [("files", ("doomed.txt", b"A short note about lighthouses and their keepers.", ""))]
    added = httpx.post(f"{url}/api/documents", files=files, data={"collection": "scratch"})
    document = added.json()["results"][0]["document"]
    path = Path(document["path"])
    assert path.is_file()
    hits = httpx.post(
        f"{url}/api/documents/search",
        json={"query": "lighthouse keepers", "collection": "scratch"},
        timeout=60,
    ).json()["hits"]
    assert hits

    response = httpx.delete(f"{url}/api/documents/{document['id']}")
    assert response.status_code == 200
    assert response.json()["deleted"]["id"] == document["id"]
    assert not path.exists()
    assert httpx.get(f"{url}/api/documents/passages/{hits[0]['chunk_id']}").status_code == 404
    assert httpx.delete(f"{url}/api/documents/{document['id']}").status_code == 404
    docs = httpx.get(f"{url}/api/documents", params={"collection": "scratch"}).json()
    assert docs["documents"] == []


def test_delete_collection_removes_its_documents_and_uploaded_files(url: str, home: Path) -> None:
    files = [
        ("files", ("a.txt", b"Notes on the migration of arctic terns.", "text/plain")),
        ("files", ("b.txt", b"Notes on the keeping of honey bees.", "text/plain")),
    ]
    added = httpx.post(f"{url}/api/documents", files=files, data={"collection": "birds"})
    paths = [Path(r["document"]["path"]) for r in added.json()["results"]]
    assert all(p.is_file() for p in paths)

    response = httpx.delete(f"{url}/api/documents/collections/birds")
    assert response.status_code == 200, response.text
    assert response.json()["deleted"] == {"name": "birds", "documents": 2}
    assert not any(p.exists() for p in paths)
    assert not (home / "uploads" / "birds").exists()
    names = [c["name"] for c in httpx.get(f"{url}/api/documents/collections").json()["collections"]]
    assert "birds" not in names
    assert httpx.delete(f"{url}/api/documents/collections/birds").status_code == 404


def test_the_default_collection_cannot_be_deleted(url: str) -> None:
    response = httpx.delete(f"{url}/api/documents/collections/default")
    assert response.status_code == 400
    assert "default collection" in response.json()["error"]


def test_deleting_a_conversation_deletes_the_files_uploaded_into_it(url: str, home: Path) -> None:
    conversation = httpx.post(f"{url}/ember/api/conversations", json={}).json()["conversation"]
    collection = f"chat-{conversation['id']}"
    files = [("files", ("trip.txt", b"The ferry to the island leaves at nine.", "text/plain"))]
    added = httpx.post(f"{url}/api/documents", files=files, data={"collection": collection})
    path = Path(added.json()["results"][0]["document"]["path"])
    assert path.is_file()

    assert httpx.delete(f"{url}/ember/api/conversations/{conversation['id']}").status_code == 204
    assert not path.exists()
    names = [c["name"] for c in httpx.get(f"{url}/api/documents/collections").json()["collections"]]
    assert collection not in names


def test_the_cloud_preview_shows_the_passages_a_grounded_answer_would_carry(
    url: str, uploaded: dict[str, Any], runtime: Runtime, smollm2_path: Path
) -> None:
    """The page's "Show what will be sent" for a conversation answering from documents:
    the passages found are in the messages, and a private collection blocks sending."""
    from ember.chat.conversation_export import EXPORT_FORMAT

    runtime.models.pull(str(smollm2_path), name="smollm2:135m")
    body = {
        "format": EXPORT_FORMAT,
        "conversation": {
            "title": "",
            "model": "smollm2:135m",
            "settings": {"collections": ["manuals"]},
        },
        "messages": [
            {
                "id": "u1",
                "parent_id": None,
                "role": "user",
                "content": "How do I back up my chats?",
            },
            {"id": "a1", "parent_id": "u1", "role": "assistant", "content": "Copy ember.db."},
        ],
    }
    imported = httpx.post(f"{url}/ember/api/conversations/import", json=body)
    assert imported.status_code == 201, imported.text
    conversation = imported.json()["conversation"]["id"]
    answer = next(m["id"] for m in imported.json()["messages"] if m["role"] == "assistant")
    preview = httpx.get(
        f"{url}/ember/api/conversations/{conversation}/messages/{answer}/cloud-preview",
        timeout=120,
    )
    assert preview.status_code == 200, preview.text
    found = preview.json()
    assert any("ember.db from the Ember home folder" in m["content"] for m in found["messages"])
    assert found["blocked"] == {"documents.private": 1}
    assert found["tools"] == []  # answers from documents use no tools
