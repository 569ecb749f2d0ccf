"""The documents API (``/api/documents``): list, upload, remove, search, open a passage.

A thin adapter over ``runtime.documents`` (a :class:`DocumentLibrary`). Errors come back
in Ollama's ``{"error": ...}`` shape like the rest of ``/api``. Uploaded files are kept
under ``$EMBER_HOME/uploads/<collection>/`` with safe names (a file uploaded again under
the same name replaces the old one and is re-indexed), then ingested. Ingest and search
run the embedding model, which is CPU-bound and synchronous: they run in a worker thread,
one at a time, so the event loop keeps serving.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any, BinaryIO

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException

from ember.documents.errors import DocumentError
from ember.documents.extract import EXTRACTORS, supported
from ember.documents.library import DEFAULT_COLLECTION, DocumentLibrary, DocumentRow, SearchSettings
from ember.documents.uploads import drop_collection, is_upload, uploads_root
from ember.runtime import Runtime
from ember.server.streaming import json_body, runtime_of
from ember.server.wire_common import InvalidRequestError, parse_body

router = APIRouter(prefix="/api/documents", tags=["documents"])

MAX_FILES = 100  # files in one upload request
MAX_ID = 2**62  # ids beyond SQLite's integers are simply not found
COLLECTION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
UNSAFE_CHARS = re.compile(r"[^\w.()\- ]+")
MAX_NAME = 120
IdParam = Annotated[int, PathParam(ge=1, le=MAX_ID)]

# The multipart body of an upload, for /openapi.json (routes read their bodies themselves).
UPLOAD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "files": {
            "type": "array",
            "items": {"type": "string", "format": "binary"},
            "description": "The files: " + ", ".join(sorted(EXTRACTORS)),
        },
        "collection": {
            "type": "string",
            "default": DEFAULT_COLLECTION,
            "pattern": COLLECTION_NAME.pattern,
            "description": "The collection to add them to (created when new).",
        },
    },
    "required": ["files"],
}


class DocumentNotFoundError(DocumentError):
    status = 404
    code = "document_not_found"


class CollectionNotFoundError(DocumentError):
    status = 404
    code = "collection_not_found"


class PassageNotFoundError(DocumentError):
    status = 404
    code = "passage_not_found"


class SearchBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=10_000)
    collection: str | None = Field(default=None, max_length=200)
    limit: int = Field(default=5, ge=1, le=50)


# ---------------------------------------------------------------------- helpers


def library_of(request: Request) -> DocumentLibrary:
    return runtime_of(request).documents


def _lock(request: Request) -> asyncio.Lock:
    """One ingest or search at a time: they share one embedding model."""
    lock: asyncio.Lock | None = getattr(request.app.state, "documents_lock", None)
    if lock is None:
        lock = request.app.state.documents_lock = asyncio.Lock()
    return lock


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


def check_collection_name(name: str) -> str:
    if not COLLECTION_NAME.fullmatch(name):
        raise InvalidRequestError(
            f"collection: {name[:100]!r} is not a valid collection name",
            param="collection",
            code="invalid_value",
        )
    return name


def existing_collection(library: DocumentLibrary, name: str) -> str:
    if name not in {n for n, _ in library.collections()}:
        raise CollectionNotFoundError(
            f"no collection named {name[:100]!r}",
            hint="GET /api/documents/collections lists them",
        )
    return name


def document_view(row: DocumentRow) -> dict[str, Any]:
    return {**asdict(row), "name": Path(row.path).name}


def _no_surrogates(text: str, field: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidRequestError(f"{field}: not valid Unicode text", param=field) from None
    return text


# ---------------------------------------------------------------------- listing


@router.get("")
async def list_documents(request: Request, collection: str | None = None) -> dict[str, Any]:
    """The documents, by collection then path; ``?collection=`` keeps one collection."""
    library = library_of(request)
    if collection is not None:
        existing_collection(library, collection)
    return {"documents": [document_view(d) for d in library.documents(collection)]}


@router.get("/collections")
async def list_collections(request: Request) -> dict[str, Any]:
    """The collections with their document counts, and what an upload may be."""
    runtime = runtime_of(request)
    return {
        "collections": [
            {"name": name, "documents": count} for name, count in runtime.documents.collections()
        ],
        "max_file_bytes": runtime.documents.max_file_bytes,
        "max_body_bytes": int(runtime.settings.max_body_mb * (1 << 20)),
        "types": sorted(EXTRACTORS),
    }


# ---------------------------------------------------------------------- upload


@router.post("")
async def upload(request: Request) -> dict[str, Any]:
    """``multipart/form-data``: ``files`` (one or more) and ``collection``. Each file gets
    its own result; a file that cannot be indexed (type, size, a broken PDF) is reported
    with the reason and the others still go in."""
    runtime = runtime_of(request)
    try:
        form = await request.form(max_files=MAX_FILES, max_fields=10)
    except MultiPartException as exc:
        raise InvalidRequestError(
            f"the upload is not valid multipart/form-data: {exc.message}"
        ) from None
    try:
        raw_collection = form.get("collection", DEFAULT_COLLECTION)
        if not isinstance(raw_collection, str):
            raise InvalidRequestError("collection: must be a text field", param="collection")
        collection = check_collection_name(raw_collection or DEFAULT_COLLECTION)
        parts = [*form.getlist("files"), *form.getlist("file")]
        files = [p for p in parts if isinstance(p, UploadFile)]
        if not files or len(files) != len(parts):
            raise InvalidRequestError(
                "send the files as multipart/form-data file parts named 'files'",
                param="files",
                code="missing_required_parameter",
            )
        async with _lock(request):
            results = await run_in_threadpool(_store_and_ingest, runtime, collection, files)
    finally:
        await form.close()
    return {"collection": collection, "results": results}


def _store_and_ingest(
    runtime: Runtime, collection: str, files: list[UploadFile]
) -> list[dict[str, Any]]:
    library = runtime.documents
    folder = uploads_root(runtime.settings.home) / collection
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


def _refusal(library: DocumentLibrary, name: str, upload: UploadFile) -> str:
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


# ---------------------------------------------------------------------- removal


@router.delete("/{document_id}")
async def delete_document(document_id: IdParam, request: Request) -> dict[str, Any]:
    """Remove one document and its passages; a file uploaded here is deleted too."""
    runtime = runtime_of(request)
    library = runtime.documents
    row = next((d for d in library.documents() if d.id == document_id), None)
    if row is None:
        raise DocumentNotFoundError(f"no document with id {document_id}")
    async with _lock(request):  # not while an upload writes the same file
        await run_in_threadpool(library.remove, row.path, row.collection)
    path = Path(row.path)
    if is_upload(runtime.settings.home, path):
        path.unlink(missing_ok=True)
    return {"deleted": document_view(row)}


@router.delete("/collections/{name}")
async def delete_collection(name: str, request: Request) -> dict[str, Any]:
    """Remove a collection with its documents and passages; files uploaded into it are
    deleted, files indexed from the user's folders are not touched."""
    runtime = runtime_of(request)
    existing_collection(runtime.documents, name)
    if name == DEFAULT_COLLECTION:
        raise InvalidRequestError(
            "the default collection cannot be removed; delete its documents instead",
            param="name",
            code="invalid_value",
        )
    async with _lock(request):
        removed = await run_in_threadpool(
            drop_collection, runtime.documents, runtime.settings.home, name
        )
    return {"deleted": {"name": name, "documents": removed}}


# ---------------------------------------------------------------------- search


@router.post("/search")
async def search(request: Request) -> dict[str, Any]:
    """``{query, collection?, limit?}`` -> the best passages (an unrelated query: none)."""
    body = parse_body(SearchBody, await json_body(request))
    library = library_of(request)
    query = _no_surrogates(body.query, "query")
    counts = dict(library.collections())
    if body.collection is not None:
        existing_collection(library, body.collection)
    wanted = counts.get(body.collection, 0) if body.collection else sum(counts.values())
    if not wanted:  # nothing to search: the embedding model need not load
        return {"hits": []}
    async with _lock(request):
        hits = await run_in_threadpool(
            library.search, query, body.collection, SearchSettings(limit=body.limit)
        )
    return {
        "hits": [
            {
                "chunk_id": h.chunk_id,
                "path": h.path,
                "title": Path(h.path).name,
                "collection": h.collection,
                "page": h.page,
                "heading": h.heading,
                "text": h.text,
                "similarity": round(h.similarity, 4),
                "score": h.score,
            }
            for h in hits
        ]
    }


@router.get("/passages/{chunk_id}")
async def passage(chunk_id: IdParam, request: Request) -> dict[str, Any]:
    """One passage by its chunk id (what a citation points at), with its document."""
    row = library_of(request).passage(chunk_id)
    if row is None:
        raise PassageNotFoundError(
            f"no passage with id {chunk_id}", hint="its document was removed or re-indexed"
        )
    return {
        "chunk_id": row["id"],
        "document_id": row["document_id"],
        "path": row["path"],
        "name": Path(row["path"]).name,
        "title": row["title"],
        "collection": row["collection"],
        "page": row["page"],
        "heading": row["heading"],
        "start": row["start"],
        "end": row["end"],
        "text": row["text"],
    }
