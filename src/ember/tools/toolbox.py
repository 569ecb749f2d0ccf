"""The tools Ember offers in its own chat (and to API callers when allowed).

One :class:`Toolbox` per server: the built-ins and the MCP servers' tools (started once,
with the server); per conversation, ``run_python`` when its ``code_tool`` setting is on.
A conversation's ``tools`` setting (default: the ``tools`` setting, for models whose
template teaches tool calls) turns them all off. A conversation with documents attached
answers from them directly (:mod:`ember.chat.grounding`); ``search_documents`` comes
with ``runner(collections=...)``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from ember.tools.builtin import builtin_registry
from ember.tools.builtin.code import CodeLimits, make_run_python
from ember.tools.builtin.documents import HitLike, make_search_documents
from ember.tools.mcp import McpServers
from ember.tools.registry import ToolRegistry, ToolResult
from ember.types import Tool

log = logging.getLogger(__name__)


class CollectionSearch(Protocol):
    """What document search needs of :class:`ember.documents.library.DocumentLibrary`."""

    def search(self, question: str, collection: Sequence[str] | None) -> Sequence[HitLike]: ...


class ToolSet:
    """Several registries offered as one: the tools of each, calls sent to their owner."""

    def __init__(self, registries: Sequence[ToolRegistry]) -> None:
        self.registries = [r for r in registries if len(r)]

    def tools(self) -> tuple[Tool, ...]:
        return tuple(t for r in self.registries for t in r.tools())

    async def call(self, name: str, arguments: str | dict[str, Any]) -> ToolResult:
        for registry in self.registries:
            if name in registry:
                return await registry.call(name, arguments)
        known = ", ".join(t.name for t in self.tools()) or "none"
        return ToolResult(f"unknown tool {name!r}; the tools are: {known}", is_error=True)


class _Scoped:
    def __init__(self, library: CollectionSearch, collections: Sequence[str] | None) -> None:
        self.library = library
        self.collections = None if collections is None else list(collections)

    def search(self, question: str) -> Sequence[HitLike]:
        return self.library.search(question, self.collections)


class Toolbox:
    def __init__(
        self,
        *,
        enabled: bool = True,
        mcp_servers: Sequence[Mapping[str, Any]] = (),
        documents: CollectionSearch | None = None,
        code_limits: CodeLimits | None = None,
    ) -> None:
        self.enabled = enabled
        self.builtins = builtin_registry()
        self.code = ToolRegistry()
        self.code.register(make_run_python(code_limits), name="run_python")
        self.mcp = ToolRegistry()
        self.documents = documents
        self._servers = McpServers(mcp_servers) if mcp_servers else None

    async def start(self) -> None:
        """Start the MCP servers; one that fails is logged and left out."""
        if self._servers is None:
            return
        added = await self._servers.start(self.mcp)
        if added:
            log.info("MCP tools: %s", ", ".join(added))
        for name, why in self._servers.failures.items():
            log.warning("MCP server %s did not start: %s", name, why)

    @property
    def mcp_failures(self) -> dict[str, str]:
        return dict(self._servers.failures) if self._servers else {}

    async def aclose(self) -> None:
        if self._servers is not None:
            await self._servers.aclose()

    def runner(self, *, code: bool = False, collections: Sequence[str] | None = ()) -> ToolSet:
        """The tools, with ``run_python`` when ``code``, and ``search_documents`` over
        ``collections`` (None: all of them; empty: no document search)."""
        parts = [self.builtins, self.mcp]
        if code:
            parts.append(self.code)
        if (collections is None or collections) and self.documents is not None:
            search = ToolRegistry()
            scoped = _Scoped(self.documents, collections)
            search.register(make_search_documents(scoped), name="search_documents")
            parts.append(search)
        return ToolSet(parts)

    def for_settings(
        self, settings: Mapping[str, Any], *, model_knows_tools: bool = True
    ) -> ToolSet | None:
        """The tools for a conversation with these settings (``tools``, ``code_tool``),
        or None when it uses none. Unless the conversation asks for tools, they are
        offered only to models whose chat template teaches tool calls (measured:
        SmolLM2-135M answers worse with them, 0% against 10%)."""
        wanted = settings.get("tools")
        if not (self.enabled and model_knows_tools if wanted is None else wanted):
            return None
        return self.runner(code=bool(settings.get("code_tool")))

    def for_api(self) -> ToolSet:
        """The tools offered to API callers (``api_tools``): the same as in the chat.
        (``runner(collections=None)`` adds ``search_documents`` over every collection;
        measured with Qwen2.5-Coder-0.5B, one more tool in the prompt was enough for it
        to write a call to a tool that does not exist instead of using the calculator.)"""
        return self.runner()
