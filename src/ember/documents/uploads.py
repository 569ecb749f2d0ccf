"""Files that Ember keeps for the user: uploads live under ``$EMBER_HOME/uploads/<collection>/``
with safe names (a file uploaded again under the same name replaces the old one and is
re-indexed), then ingested; a file that could not be indexed is not kept.

Only these copies are Ember's to delete. Documents added from the user's own folders
(``ember docs add``) are indexed in place, and removing them never touches the files.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from ember.documents.extract import EXTRACTORS, supported
from ember.documents.library import DocumentLibrary, DocumentRow

UNSAFE_CHARS = re.compile(r"[^\w.()\- ]+")
MAX_NAME = 120


class IncomingFile(Protocol):
    """An uploaded file as the web framework hands it over (Starlette's ``UploadFile``)."""

    @property
    def filename(self) -> str | None: ...

    @property
    def size(self) -> int | None: ...

    @property
    def file(self) -> BinaryIO: ...


def uploads_root(home: Path) -> Path:
    return home / "uploads"


def is_upload(home: Path, path: Path) -> bool:
    return path.resolve().is_relative_to(uploads_root(home).resolve())


def conversation_collection(conversation_id: str) -> str:
    """The collection that holds the files uploaded into one conversation."""
    return f"chat-{conversation_id}"


def drop_collection(library: DocumentLibrary, home: Path, name: str) -> int:
    """Remove a collection, its documents and passages, and the files uploaded into it;
    the number of documents removed. Files outside the uploads folder are left alone."""
    removed = library.remove_collection(name)
    folder = uploads_root(home) / name
    if folder.resolve().parent == uploads_root(home).resolve() and folder.is_dir():
        shutil.rmtree(folder, ignore_errors=True)
    return removed


def safe_filename(raw: str) -> str:
    """A name that stays inside its folder: no path, no odd characters, not hidden."""
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    name = UNSAFE_CHARS.sub("_", name).strip(" .")
    if not name:
        return "upload"
    if len(name) > MAX_NAME:
        _, dot, suffix = name.rpartition(".")
        keep = suffix if dot and len(suffix) <= 10 else ""
        name = name[: MAX_NAME - len(keep) - 1].rstrip(" .") + ("." + keep if keep else "")
    return name


def document_view(row: DocumentRow) -> dict[str, Any]:
    return {**asdict(row), "name": Path(row.path).name}


def store_and_ingest(
    library: DocumentLibrary, home: Path, collection: str, files: Sequence[IncomingFile]
) -> list[dict[str, Any]]:
    """Keep each file under the uploads folder and index it; one result per file, in
    order (a refused or failed file says why, the others still go in)."""
    folder = uploads_root(home) / collection
    results: list[dict[str, Any] | None] = []
    saved: list[tuple[int, str, Path, bool]] = []  # (slot, filename, path, existed before)
    taken: set[str] = set()
    for upload in files:
        filename = upload.filename or ""
        name = _unique(safe_filename(filename), taken)
        failure = _refusal(library, name, upload)
        if failure:
            results.append(_result(filename, "failed", detail=failure))
            continue
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / name
        existed = target.exists()
        _save(upload.file, target)
        saved.append((len(results), filename, target.resolve(), existed))
        results.append(None)
    if saved:
        ingested = {r.path: r for r in library.add([s[2] for s in saved], collection)}
        rows = {Path(d.path): d for d in library.documents(collection)}
        for index, filename, path, existed in saved:
            outcome = ingested[path]
            if outcome.status in ("failed", "duplicate") and not existed:
                path.unlink(missing_ok=True)  # nothing in the library refers to it
            row = rows.get(path)
            results[index] = _result(
                filename,
                outcome.status,
                chunks=outcome.chunks,
                detail=outcome.detail,
                document=document_view(row) if row and outcome.status != "failed" else None,
            )
    return [r for r in results if r is not None]


def _refusal(library: DocumentLibrary, name: str, upload: IncomingFile) -> str:
    """Why this file is refused before it is written, or ''."""
    if not supported(Path(name)):
        suffix = Path(name).suffix or "no extension"
        types = ", ".join(sorted(EXTRACTORS))
        return f"{name}: {suffix} files are not supported (supported: {types})"
    size = upload.size or 0
    if size > library.max_file_bytes:
        return f"{name} is {size / 1e6:.1f} MB; the limit is {library.max_file_bytes / 1e6:.0f} MB"
    return ""


def _unique(name: str, taken: set[str]) -> str:
    """Two files of one upload with the same name both get a place: ``a.txt``, ``a (2).txt``."""
    candidate, n = name, 1
    stem, suffix = Path(name).stem, Path(name).suffix
    while candidate.lower() in taken:
        n += 1
        candidate = f"{stem} ({n}){suffix}"
    taken.add(candidate.lower())
    return candidate


def _save(source: BinaryIO, target: Path) -> None:
    source.seek(0)
    partial = target.with_name(target.name + ".part")
    with partial.open("wb") as out:
        shutil.copyfileobj(source, out, 1 << 20)
    partial.replace(target)


def _result(
    filename: str,
    status: str,
    *,
    chunks: int = 0,
    detail: str = "",
    document: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "filename": filename,
        "status": status,
        "chunks": chunks,
        "detail": detail,
        "document": document,
    }
