"""The documents API (``/api/documents``): list, upload, remove, search, open a passage.

A thin adapter over ``runtime.documents`` (a :class:`DocumentLibrary`) and
:mod:`ember.documents.uploads` (where uploaded files are kept and how they are ingested).
Errors come back in Ollama's ``{"error": ...}`` shape like the rest of ``/api``. Ingest
and search run the embedding model, which is CPU-bound and synchronous: they run in a
worker thread, so the event loop keeps serving.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException

from ember.auth.collections import owned, shown_name, stored_name
from ember.documents.errors import DocumentError
from ember.documents.extract import EXTRACTORS
from ember.documents.library import DEFAULT_COLLECTION, DocumentLibrary, SearchSettings
from ember.documents.uploads import document_view, drop_collection, is_upload, store_and_ingest
from ember.server.routes_accounts import owner_of
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
    """One upload or removal at a time (a delete must not race an upload of the same file)."""
    lock: asyncio.Lock | None = getattr(request.app.state, "documents_lock", None)
    if lock is None:
        lock = request.app.state.documents_lock = asyncio.Lock()
    return lock


def check_collection_name(name: str) -> str:
    if not COLLECTION_NAME.fullmatch(name):
        raise InvalidRequestError(
            f"collection: {name[:100]!r} is not a valid collection name",
            param="collection",
            code="invalid_value",
        )
    return name


def existing_collection(library: DocumentLibrary, name: str, owner: str | None = None) -> str:
    """The library's name of the caller's collection ``name`` (404 when it has none)."""
    stored = stored_name(owner, name)
    if stored not in {n for n, _ in library.collections()}:
        raise CollectionNotFoundError(
            f"no collection named {name[:100]!r}",
            hint="GET /api/documents/collections lists them",
        )
    return stored


def _shown(view: dict[str, Any], owner: str | None) -> dict[str, Any]:
    """A document, passage or hit as the caller names its collection."""
    if "collection" in view:
        view = {**view, "collection": shown_name(owner, view["collection"])}
    return view


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
    owner = owner_of(request)
    stored = existing_collection(library, collection, owner) if collection is not None else None
    rows = [d for d in library.documents(stored) if shown_name(owner, d.collection) is not None]
    return {"documents": [_shown(document_view(d), owner) for d in rows]}


@router.get("/collections")
async def list_collections(request: Request) -> dict[str, Any]:
    """The collections with their document counts, and what an upload may be."""
    runtime = runtime_of(request)
    owner = owner_of(request)
    counts = {
        shown: count
        for stored, count in runtime.documents.collections()
        if (shown := shown_name(owner, stored)) is not None
    }
    counts.setdefault(DEFAULT_COLLECTION, 0)  # every user has one to upload into
    return {
        "collections": [{"name": name, "documents": counts[name]} for name in sorted(counts)],
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
        owner = owner_of(request)
        async with _lock(request):
            results = await run_in_threadpool(
                store_and_ingest,
                runtime.documents,
                runtime.settings.home,
                stored_name(owner, collection),
                files,
            )
    finally:
        await form.close()
    shown = [
        {**r, "document": _shown(r["document"], owner)} if r.get("document") else r for r in results
    ]
    return {"collection": collection, "results": shown}


# ---------------------------------------------------------------------- removal


@router.delete("/{document_id}")
async def delete_document(document_id: IdParam, request: Request) -> dict[str, Any]:
    """Remove one document and its passages; a file uploaded here is deleted too."""
    runtime = runtime_of(request)
    library = runtime.documents
    owner = owner_of(request)
    row = next((d for d in library.documents() if d.id == document_id), None)
    if row is None or shown_name(owner, row.collection) is None:
        raise DocumentNotFoundError(f"no document with id {document_id}")
    async with _lock(request):  # not while an upload writes the same file
        await run_in_threadpool(library.remove, row.path, row.collection)
    path = Path(row.path)
    if is_upload(runtime.settings.home, path):
        path.unlink(missing_ok=True)
    return {"deleted": _shown(document_view(row), owner)}


@router.delete("/collections/{name}")
async def delete_collection(name: str, request: Request) -> dict[str, Any]:
    """Remove a collection with its documents and passages; files uploaded into it are
    deleted, files indexed from the user's folders are not touched."""
    runtime = runtime_of(request)
    stored = existing_collection(runtime.documents, name, owner_of(request))
    if name == DEFAULT_COLLECTION:
        raise InvalidRequestError(
            "the default collection cannot be removed; delete its documents instead",
            param="name",
            code="invalid_value",
        )
    async with _lock(request):
        removed = await run_in_threadpool(
            drop_collection, runtime.documents, runtime.settings.home, stored
        )
    return {"deleted": {"name": name, "documents": removed}}


# ---------------------------------------------------------------------- search


@router.post("/search")
async def search(request: Request) -> dict[str, Any]:
    """``{query, collection?, limit?}`` -> the best passages (an unrelated query: none)."""
    body = parse_body(SearchBody, await json_body(request))
    library = library_of(request)
    owner = owner_of(request)
    query = _no_surrogates(body.query, "query")
    counts = dict(library.collections())
    if body.collection is not None:
        scope = [existing_collection(library, body.collection, owner)]
    else:
        scope = owned(owner, counts)
    if not sum(counts.get(name, 0) for name in scope):
        return {"hits": []}  # nothing to search: the embedding model need not load
    # No lock: the library holds its embedder only while it embeds, so a search does not
    # wait for an upload being read.
    hits = await run_in_threadpool(library.search, query, scope, SearchSettings(limit=body.limit))
    return {
        "hits": [
            {
                "chunk_id": h.chunk_id,
                "path": h.path,
                "title": Path(h.path).name,
                "collection": shown_name(owner, h.collection),
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
    owner = owner_of(request)
    if row is None or shown_name(owner, row["collection"]) is None:
        raise PassageNotFoundError(
            f"no passage with id {chunk_id}", hint="its document was removed or re-indexed"
        )
    return {
        "chunk_id": row["id"],
        "document_id": row["document_id"],
        "path": row["path"],
        "name": Path(row["path"]).name,
        "title": row["title"],
        "collection": shown_name(owner, row["collection"]),
        "page": row["page"],
        "heading": row["heading"],
        "start": row["start"],
        "end": row["end"],
        "text": row["text"],
    }
