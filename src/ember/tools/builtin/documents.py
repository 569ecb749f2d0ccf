"""Search the user's documents (the document library of ``ember docs``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol


class HitLike(Protocol):
    @property
    def path(self) -> str: ...

    @property
    def text(self) -> str: ...

    @property
    def page(self) -> int | None: ...


class DocumentSearch(Protocol):
    """What the tool needs of :class:`ember.documents.library.DocumentLibrary`."""

    def search(self, question: str) -> Sequence[HitLike]: ...


def make_search_documents(library: DocumentSearch, limit: int = 4) -> Callable[[str], str]:
    def search_documents(query: str) -> str:
        """Search the user's own documents and return the most relevant passages with
        their sources.

        Args:
            query: What to look for, in a few words or a question.
        """
        hits = list(library.search(query))[:limit]
        if not hits:
            return "no passage in the user's documents matches the query"
        parts = []
        for i, hit in enumerate(hits, 1):
            where = hit.path + (f", page {hit.page}" if hit.page else "")
            parts.append(f"[{i}] {where}\n{hit.text.strip()}")
        return "\n\n".join(parts)

    return search_documents
