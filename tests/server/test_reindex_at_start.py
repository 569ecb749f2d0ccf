"""A server started over documents embedded by an older Ember re-embeds them in the
background, and still answers meanwhile."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from ember.config import load_settings
from ember.documents.library import EMBED_VERSION
from ember.runtime import build
from tests.server.conftest import serving


def test_out_of_date_documents_are_re_embedded_at_start(tmp_path: Path) -> None:
    note = tmp_path / "ferry.md"
    note.write_text("# Ferries\n\nThe island ferry leaves at nine and returns at six.")
    runtime = build(load_settings(home=tmp_path / "home"))
    try:
        runtime.documents.add([note])
        with runtime.db.transaction() as tx:
            tx.execute("UPDATE documents SET embed_version = 1")
        with serving(runtime) as url:
            assert httpx.get(f"{url}/health").status_code == 200
            deadline = time.monotonic() + 60
            versions: set[int] = set()
            while time.monotonic() < deadline:
                docs = httpx.get(f"{url}/api/documents").json()["documents"]
                versions = {d["embed_version"] for d in docs}
                if versions == {EMBED_VERSION}:
                    break
                time.sleep(0.2)
            assert versions == {EMBED_VERSION}
            hits = httpx.post(
                f"{url}/api/documents/search", json={"query": "when does the boat leave?"}
            ).json()["hits"]
            assert hits
            assert Path(hits[0]["path"]).name == "ferry.md"
    finally:
        runtime.close()
