"""Finding the sources for a question in a conversation's documents (the I/O around
:mod:`ember.chat.grounding`): rewrite a follow-up with the model, search the library off
the event loop, and choose whole documents or passages within the context budget."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any, Protocol

from ember.chat.backend import ChatBackend, complete
from ember.chat.grounding import (
    SOURCE_SHARE,
    Passage,
    Source,
    choose_sources,
    clean_query,
    estimate_tokens,
    needs_rewrite,
    rewrite_prompt,
)
from ember.chat.types import ChatRequest, Message, last_question
from ember.engine.base import SamplingParams
from ember.errors import EmberError


class DocumentSearch(Protocol):
    """What answering from documents needs of :class:`ember.documents.library.DocumentLibrary`."""

    def search(self, question: str, collection: Sequence[str]) -> Sequence[Passage]: ...

    def whole_document(self, chunk_id: int) -> Sequence[Passage]: ...


def attached_collections(settings: dict[str, Any]) -> list[str]:
    """The document collections a conversation answers from (its ``collections`` setting)."""
    value = settings.get("collections") or []
    names = [value] if isinstance(value, str) else value
    return [str(n) for n in names if str(n).strip()]


class DocumentSources:
    def __init__(self, backend: ChatBackend, library: DocumentSearch) -> None:
        self.backend = backend
        self.library = library

    async def find(
        self, request: ChatRequest, collections: list[str], *, rewrite: bool = True
    ) -> tuple[list[Source], dict[str, Any]]:
        """The sources for the request's question (rewritten first when it is a
        follow-up, unless ``rewrite`` is off: a preview asks no model), and what was done
        (``meta.retrieval``: query, collections, mode)."""
        question = last_question(request.messages)
        query = question
        if rewrite and needs_rewrite(request.messages):
            query = await self._standalone(request, question)
        hits = await asyncio.to_thread(self.library.search, query, collections)
        if not hits and query != question:
            hits = await asyncio.to_thread(self.library.search, question, collections)
        retrieval: dict[str, Any] = {"query": query, "collections": collections}
        if not hits:
            return [], {**retrieval, "mode": "none"}
        n_ctx = await self.backend.context_length(request.model, request.num_ctx)
        history = sum(estimate_tokens(m.content) for m in request.messages)
        budget = max(int(n_ctx * SOURCE_SHARE) - history, 256)
        sources, mode = await asyncio.to_thread(
            choose_sources, hits, lambda hit: self.library.whole_document(hit.chunk_id), budget
        )
        return sources, {**retrieval, "mode": mode}

    async def _standalone(self, request: ChatRequest, question: str) -> str:
        rewrite = ChatRequest(
            model=request.model,
            messages=(Message(role="user", content=rewrite_prompt(request.messages)),),
            sampling=SamplingParams(temperature=0, seed=0),
            max_tokens=48,
        )
        with contextlib.suppress(EmberError):
            return clean_query((await complete(self.backend, rewrite)).content, question)
        return question
