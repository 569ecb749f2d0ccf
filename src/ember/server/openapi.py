"""Request bodies in Ember's OpenAPI document.

Routes read their JSON bodies themselves (so each API family gets its own error shape,
and unknown fields are ignored as OpenAI and Ollama do), which leaves FastAPI unaware of
them. This adds each body's pydantic schema to ``/openapi.json`` so the document is a
true description of the API: for people, for client generators, and for the fuzzer
in the tests.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

from ember.server.routes_documents import UPLOAD_SCHEMA, SearchBody
from ember.server.wire_ollama_models import (
    ChatBody,
    CopyBody,
    DeleteBody,
    EmbedBody,
    EmbeddingsBody,
    GenerateBody,
    PullBody,
    ShowBody,
)
from ember.server.wire_openai_models import (
    ChatCompletionRequest,
    CompletionRequest,
    EmbeddingRequest,
)

REQUEST_BODIES: dict[tuple[str, str], type[BaseModel]] = {
    ("/v1/chat/completions", "post"): ChatCompletionRequest,
    ("/v1/completions", "post"): CompletionRequest,
    ("/v1/embeddings", "post"): EmbeddingRequest,
    ("/api/chat", "post"): ChatBody,
    ("/api/generate", "post"): GenerateBody,
    ("/api/embed", "post"): EmbedBody,
    ("/api/embeddings", "post"): EmbeddingsBody,
    ("/api/show", "post"): ShowBody,
    ("/api/pull", "post"): PullBody,
    ("/api/delete", "delete"): DeleteBody,
    ("/api/copy", "post"): CopyBody,
    ("/api/documents/search", "post"): SearchBody,
}
# Bodies that are not JSON: (path, method) -> (media type, schema).
OTHER_BODIES: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {
    ("/api/documents", "post"): ("multipart/form-data", UPLOAD_SCHEMA),
}

REF = "#/components/schemas/{model}"


def with_request_bodies(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` (FastAPI's generated OpenAPI) with every known request body added."""
    schemas: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    for (path, method), model in REQUEST_BODIES.items():
        operation = document.get("paths", {}).get(path, {}).get(method)
        if operation is None:
            continue
        schema = model.model_json_schema(ref_template=REF)
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": REF.format(model=model.__name__)}}},
        }
    for (path, method), (media_type, raw) in OTHER_BODIES.items():
        operation = document.get("paths", {}).get(path, {}).get(method)
        if operation is not None:
            operation["requestBody"] = {"required": True, "content": {media_type: {"schema": raw}}}
    return document


def install(app: FastAPI) -> None:
    """Make ``app.openapi()`` include the request bodies (computed once, then cached)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = with_request_bodies(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
