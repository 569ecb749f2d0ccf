"""Tools of stdio MCP servers, joined to a :class:`ToolRegistry` (the official ``mcp`` SDK).

Each configured server is started as a subprocess (``command``, with ``env`` added to a
minimal environment) and asked for its tools; each tool is registered as
``<server>__<tool>`` (``time__get_current_time``), so two servers can offer tools of the
same name and the model sees where a tool comes from. ``prefix=False`` keeps the
servers' own names (a clash is then an error). Calls are forwarded with the arguments
as the model wrote them: the server validates them, and its errors come back as error
results, as do timeouts and a server that died.

One background task owns every connection (the SDK's context managers must be entered
and left by the same task), so :meth:`McpServers.start` and :meth:`McpServers.aclose`
may be called from different tasks of the same event loop. A server that fails to start
is recorded in :attr:`McpServers.failures` (with the end of its stderr) and skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any, TextIO, cast

from ember.config import McpServerConfig
from ember.tools.registry import ToolRegistry, ToolResult, clean_schema
from ember.types import Tool

__all__ = ["McpServerConfig", "McpServers", "to_tool_result"]

SEPARATOR = "__"


@dataclass
class _Connection:
    config: McpServerConfig
    session: Any  # mcp.ClientSession
    tools: list[Any]  # mcp.types.Tool
    stderr: IO[str]


class McpServers:
    """Connections to stdio MCP servers; their tools live in a registry while connected."""

    def __init__(
        self,
        servers: Sequence[McpServerConfig | Mapping[str, Any]],
        *,
        prefix: bool = True,
        start_timeout: float = 30.0,
        call_timeout: float = 60.0,
    ) -> None:
        self.configs = [
            s if isinstance(s, McpServerConfig) else McpServerConfig.from_dict(s) for s in servers
        ]
        self.prefix = prefix
        self.start_timeout = start_timeout
        self.call_timeout = call_timeout
        self.failures: dict[str, str] = {}
        self._connections: dict[str, _Connection] = {}
        self._registered: list[tuple[ToolRegistry, str]] = []
        self._stop = asyncio.Event()
        self._owners: list[asyncio.Task[None]] = []

    async def start(self, registry: ToolRegistry) -> list[str]:
        """Start every server and register its tools; returns the names registered."""
        if self._owners:
            raise RuntimeError("these MCP servers are already started")
        loop = asyncio.get_running_loop()
        pending = []
        for config in self.configs:
            ready: asyncio.Future[_Connection] = loop.create_future()
            task = asyncio.create_task(self._own(config, ready), name=f"ember-mcp-{config.name}")
            self._owners.append(task)
            pending.append((config, ready, task))
        for config, ready, task in pending:
            try:
                conn = await asyncio.wait_for(asyncio.shield(ready), self.start_timeout)
            except asyncio.TimeoutError:
                task.cancel()
                self.failures[config.name] = f"no answer within {self.start_timeout:g} s"
                continue
            except Exception as e:  # noqa: BLE001 - one broken server must not stop the rest
                self.failures[config.name] = str(e)
                continue
            self._connections[config.name] = conn
        added = []
        for conn in self._connections.values():
            for tool in conn.tools:
                added.append(self._register(registry, conn, tool))
        return added

    async def aclose(self) -> None:
        """Remove the tools from their registry and stop every server."""
        for registry, name in self._registered:
            registry.remove(name)
        self._registered.clear()
        self._stop.set()
        for task in self._owners:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._owners.clear()
        self._connections.clear()

    async def __aenter__(self) -> McpServers:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def tool_name(self, server: str, tool: str) -> str:
        name = f"{server}{SEPARATOR}{tool}" if self.prefix else tool
        return re.sub(r"[^A-Za-z0-9_-]", "_", name)[:64]

    def _register(self, registry: ToolRegistry, conn: _Connection, tool: Any) -> str:
        name = self.tool_name(conn.config.name, tool.name)
        schema = tool.input_schema if isinstance(tool.input_schema, dict) else {}
        parameters = clean_schema({"type": "object", **schema})
        description = tool.description or tool.title or tool.name
        session, remote = conn.session, tool.name

        async def forward(arguments: dict[str, Any]) -> ToolResult:
            result = await session.call_tool(
                remote, arguments, read_timeout_seconds=self.call_timeout
            )
            return to_tool_result(result)

        registry.add(Tool(name=name, description=description, parameters=parameters), forward)
        self._registered.append((registry, name))
        return name

    async def _own(self, config: McpServerConfig, ready: asyncio.Future[_Connection]) -> None:
        """One server's life, in one task: connect, hand over, wait for the stop."""
        with tempfile.TemporaryFile("w+", encoding="utf-8") as stderr:
            try:
                async with contextlib.AsyncExitStack() as stack:
                    conn = await _connect(stack, config, stderr)
                    ready.set_result(conn)
                    await self._stop.wait()
            except Exception as e:  # noqa: BLE001 - reported through the future, not raised
                if not ready.done():
                    ready.set_exception(McpStartError(_failure(e, stderr)))


class McpStartError(Exception):
    """A server that could not be started or did not answer its handshake."""


async def _connect(
    stack: contextlib.AsyncExitStack, config: McpServerConfig, stderr: IO[str]
) -> _Connection:
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(
        command=config.command[0], args=list(config.command[1:]), env=dict(config.env)
    )
    read, write = await stack.enter_async_context(stdio_client(params, errlog=cast(TextIO, stderr)))
    session = await stack.enter_async_context(ClientSession(read, write))
    await session.initialize()
    tools: list[Any] = []
    cursor = None
    while True:
        page = (
            await session.list_tools(params=_page(cursor))
            if cursor
            else (await session.list_tools())
        )
        tools.extend(page.tools)
        cursor = page.next_cursor
        if not cursor:
            break
    return _Connection(config, session, tools, stderr)


def _page(cursor: str) -> Any:
    from mcp.types import PaginatedRequestParams

    return PaginatedRequestParams(cursor=cursor)


def _failure(error: BaseException, stderr: IO[str]) -> str:
    while getattr(error, "exceptions", None):
        error = error.exceptions[0]  # type: ignore[attr-defined]
    message = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    with contextlib.suppress(OSError, ValueError):
        stderr.seek(0)
        tail = stderr.read()[-800:].strip()
        if tail:
            message += f"\n{tail}"
    return message


def to_tool_result(result: Any) -> ToolResult:
    """An MCP ``CallToolResult`` as text: text blocks joined, other blocks named."""
    parts = []
    for block in result.content or ():
        kind = getattr(block, "type", "")
        if kind == "text":
            parts.append(block.text)
        elif kind == "resource" and hasattr(block.resource, "text"):
            parts.append(block.resource.text)
        elif kind in ("image", "audio"):
            parts.append(f"[{kind}: {getattr(block, 'mime_type', 'binary')}]")
        else:
            parts.append(f"[{kind or 'content'}]")
    if not parts and result.structured_content is not None:
        parts.append(json.dumps(result.structured_content, ensure_ascii=False))
    return ToolResult("\n".join(parts), is_error=bool(result.is_error))
