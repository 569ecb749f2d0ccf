"""The toolbox decides which tools a conversation gets, and routes each call to its owner."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import pytest

from ember.tools.registry import ToolRegistry
from ember.tools.toolbox import Toolbox, ToolSet

BUILTINS = {"calculator", "count_letter", "today", "convert_units", "weekday"}


@dataclass(frozen=True)
class Passage:
    path: str
    text: str
    page: int | None = None


class Library:
    """Records which collections each search was scoped to."""

    def __init__(self) -> None:
        self.searches: list[tuple[str, list[str] | None]] = []

    def search(self, question: str, collection: Sequence[str] | None) -> Sequence[Passage]:
        self.searches.append((question, None if collection is None else list(collection)))
        return [Passage("/docs/handbook.pdf", "Holidays: 27 days a year.", page=4)]


def names(runner: ToolSet | None) -> set[str]:
    assert runner is not None
    return {t.name for t in runner.tools()}


def test_builtins_for_models_that_know_tools_and_none_for_others() -> None:
    box = Toolbox()
    assert names(box.for_settings({})) >= BUILTINS
    assert "run_python" not in names(box.for_settings({}))
    assert box.for_settings({}, model_knows_tools=False) is None
    # The conversation's own choice wins both ways.
    assert names(box.for_settings({"tools": True}, model_knows_tools=False)) >= BUILTINS
    assert box.for_settings({"tools": False}) is None
    assert Toolbox(enabled=False).for_settings({}) is None


def test_code_tool_only_when_the_conversation_enables_it() -> None:
    assert "run_python" in names(Toolbox().for_settings({"code_tool": True}))


def test_document_search_over_every_collection_or_some() -> None:
    library = Library()
    box = Toolbox(documents=library)
    assert "search_documents" not in names(box.for_settings({}))
    assert "search_documents" not in names(box.for_api())
    runner = box.runner(collections=None)
    assert "search_documents" in names(runner)
    result = asyncio.run(runner.call("search_documents", {"query": "holidays"}))
    assert not result.is_error
    assert "[1] /docs/handbook.pdf, page 4" in result.content
    assert "27 days" in result.content
    assert library.searches == [("holidays", None)]
    scoped = box.runner(collections=["chat-1"])
    asyncio.run(scoped.call("search_documents", {"query": "pay"}))
    assert library.searches[-1] == ("pay", ["chat-1"])


def test_calls_go_to_the_registry_that_owns_the_tool() -> None:
    first, second = ToolRegistry(), ToolRegistry()

    def double(x: int) -> int:
        """Twice x.

        Args:
            x: A number.
        """
        return 2 * x

    def shout(text: str) -> str:
        """The text in capitals.

        Args:
            text: Any text.
        """
        return text.upper()

    first.register(double)
    second.register(shout)
    tools = ToolSet([first, ToolRegistry(), second])
    assert [t.name for t in tools.tools()] == ["double", "shout"]
    assert asyncio.run(tools.call("double", {"x": 21})).content == "42"
    assert asyncio.run(tools.call("shout", '{"text": "hi"}')).content == "HI"
    unknown = asyncio.run(tools.call("nope", {}))
    assert unknown.is_error
    assert "double, shout" in unknown.content


def test_mcp_servers_from_settings_join_every_conversation() -> None:
    pytest.importorskip("mcp_server_time")
    time_server = {
        "name": "time",
        "command": [sys.executable, "-m", "mcp_server_time", "--local-timezone", "UTC"],
    }
    broken = {"name": "broken", "command": ["/nonexistent/mcp"]}

    async def scenario() -> None:
        box = Toolbox(mcp_servers=[time_server, broken])
        await box.start()
        try:
            runner = box.for_settings({})
            assert runner is not None
            assert {"time__get_current_time", "calculator"} <= names(runner)
            assert "broken" in box.mcp_failures
            result = await runner.call("time__get_current_time", {"timezone": "UTC"})
            assert not result.is_error
            assert '"timezone": "UTC"' in result.content
        finally:
            await box.aclose()
        assert "time__get_current_time" not in names(box.for_settings({}))

    asyncio.run(scenario())
