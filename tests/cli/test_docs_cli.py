"""`ember docs add / list / search / rm`, driven through typer's CliRunner over a fresh
EMBER_HOME: the starter embedding model is converted on first use, files are indexed in
place, and removal never touches the user's files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ember.cli.app import app
from ember.config import load_settings
from ember.documents.library import EMBED_VERSION
from ember.errors import EmberError
from ember.runtime import build

runner = CliRunner()


def invoke(*args: str, stdin: str | None = None) -> tuple[int, str]:
    """Exit code and output (llama.cpp's loading messages go to stderr: JSON is parsed
    from stdout alone)."""
    result = runner.invoke(app, list(args), input=stdin)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout if "--json" in args else result.output


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "boat.md").write_text(
        "# Boat\n\nThe sailing boat needs new ropes before the summer regatta.\n"
    )
    (folder / "garden.txt").write_text("Tomatoes want six hours of sunlight and deep watering.")
    return folder


def test_add_list_search_and_remove(notes: Path) -> None:
    code, out = invoke("docs", "add", str(notes), "-c", "home")
    assert code == 0, out
    assert "home: 2 added" in out

    code, out = invoke("docs", "list", "--json")
    rows = json.loads(out)
    assert {(Path(r["path"]).name, r["collection"]) for r in rows} == {
        ("boat.md", "home"),
        ("garden.txt", "home"),
    }

    code, out = invoke("docs", "search", "how much sun do tomato plants need?", "--json")
    hits = json.loads(out)
    assert Path(hits[0]["path"]).name == "garden.txt"

    code, out = invoke("docs", "rm", str(notes / "boat.md"))
    assert code == 0
    assert "removed" in out
    assert (notes / "boat.md").is_file()  # the index forgets it; the file stays


def test_remove_a_whole_collection(notes: Path) -> None:
    invoke("docs", "add", str(notes), "-c", "trip")
    code, out = invoke("docs", "rm", "-c", "trip", stdin="n\n")
    assert code == 1  # declined: nothing removed
    assert "Remove the collection 'trip' and its 2 documents?" in out
    assert len(json.loads(invoke("docs", "list", "-c", "trip", "--json")[1])) == 2

    code, out = invoke("docs", "rm", "-c", "trip", "--yes")
    assert code == 0, out
    assert "removed collection trip (2 documents)" in out
    assert json.loads(invoke("docs", "list", "--json")[1]) == []
    assert (notes / "garden.txt").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("docs", "rm"), "name the documents to remove"),
        (("docs", "rm", "-c", "nowhere", "--yes"), "no collection named 'nowhere'"),
        (("docs", "rm", "-c", "default", "--yes"), "default collection cannot be removed"),
    ],
)
def test_rm_errors_are_clear(args: tuple[str, ...], message: str) -> None:
    """Errors are EmberErrors: ``ember``'s entry point prints them with their hint."""
    with pytest.raises(EmberError, match=message):
        invoke(*args)


def test_reindex_re_embeds_out_of_date_documents(notes: Path) -> None:
    invoke("docs", "add", str(notes))
    code, out = invoke("docs", "reindex")
    assert code == 0
    assert "every document is up to date" in out

    runtime = build(load_settings())
    with runtime.db.transaction() as tx:
        tx.execute("UPDATE documents SET embed_version = 1 WHERE path LIKE '%boat.md'")
    code, out = invoke("docs", "reindex")
    assert code == 0, out
    assert "re-embedded 1 of 1 documents" in out
    assert "re-embedded 2 of 2 documents" in invoke("docs", "reindex", "--all")[1]
    versions = {r["embed_version"] for r in json.loads(invoke("docs", "list", "--json")[1])}
    assert versions == {EMBED_VERSION}
    runtime.close()
