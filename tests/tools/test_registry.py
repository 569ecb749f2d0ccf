"""The registry: schemas from signatures and docstrings; every model mistake is a result."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Literal

import pytest

from ember.chat.types import Tool
from ember.tools.registry import (
    ToolError,
    ToolRegistry,
    ToolResult,
    format_value,
    parse_docstring,
)


def call(registry: ToolRegistry, name: str, arguments: str | dict[str, Any]) -> ToolResult:
    return asyncio.run(registry.call(name, arguments))


def search(
    query: str,
    limit: int = 5,
    mode: Literal["fast", "exact"] = "fast",
    tags: list[str] | None = None,
    ratio: float = 0.5,
    strict: bool = False,
) -> str:
    """Search the notes.

    Finds notes that match a query,
    best first.

    Args:
        query: What to look for.
        limit: How many notes to return,
            at most.
        mode: How to match.
        tags (list[str]): Only notes with these tags.

    Returns:
        The matching notes.
    """
    return f"{query}|{limit}|{mode}|{tags}|{ratio}|{strict}"


def test_schema_from_signature_and_docstring() -> None:
    registry = ToolRegistry()
    tool = registry.register(search)
    assert tool.name == "search"
    assert tool.description == "Search the notes."  # the first paragraph only
    params = tool.parameters
    assert params["type"] == "object"
    assert params["required"] == ["query"]
    assert params["additionalProperties"] is False
    props = params["properties"]
    assert props["query"] == {"type": "string", "description": "What to look for."}
    assert props["limit"] == {
        "type": "integer",
        "default": 5,
        "description": "How many notes to return, at most.",
    }
    assert props["mode"]["enum"] == ["fast", "exact"]
    assert props["tags"]["anyOf"][0] == {"type": "array", "items": {"type": "string"}}
    assert props["tags"]["description"] == "Only notes with these tags."
    assert props["ratio"]["type"] == "number"
    assert props["strict"]["type"] == "boolean"
    assert "title" not in str(params)  # pydantic's generated titles are noise for a model


def test_a_parameter_named_title_is_kept() -> None:
    def note(title: str) -> str:
        """Make a note."""
        return title

    registry = ToolRegistry()
    assert "title" in registry.register(note).parameters["properties"]


def test_docstring_parsing_without_sections() -> None:
    assert parse_docstring(None) == ("", {})
    assert parse_docstring("One line.") == ("One line.", {})


def test_call_validates_and_coerces_arguments() -> None:
    registry = ToolRegistry()
    registry.register(search)
    assert call(registry, "search", '{"query": "x", "limit": "3"}').content.startswith("x|3|fast")
    result = call(registry, "search", {"query": "x", "tags": ["a"], "mode": "exact"})
    assert result == ToolResult("x|5|exact|['a']|0.5|False", is_error=False)
    # Arguments the tool does not take (small models copy schema words) are dropped.
    extra = call(registry, "search", '{"query": "x", "colour": "red", "type": "string"}')
    assert extra == ToolResult("x|5|fast|None|0.5|False", is_error=False)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"limit": 3}', "query: Field required"),
        ('{"query": "x", "limit": "many"}', "limit: Input should be a valid integer"),
        ('{"query": "x", "mode": "slow"}', "mode: Input should be 'fast' or 'exact'"),
    ],
)
def test_bad_arguments_are_error_results(arguments: str, message: str) -> None:
    registry = ToolRegistry()
    registry.register(search)
    result = call(registry, "search", arguments)
    assert result.is_error
    assert message in result.content
    if "Field required" in message:
        assert "Expected: query (string)" in result.content


def test_unknown_tool_names_the_known_ones() -> None:
    registry = ToolRegistry()
    registry.register(search)
    result = call(registry, "serch", {})
    assert result.is_error
    assert "unknown tool 'serch'" in result.content
    assert "search" in result.content


def test_exceptions_inside_tools_become_results() -> None:
    def expected_failure() -> str:
        raise ToolError("the thing is not there")

    def bug() -> str:
        return str(1 / 0)

    registry = ToolRegistry()
    registry.register(expected_failure)
    registry.register(bug)
    assert call(registry, "expected_failure", "") == ToolResult("the thing is not there", True)
    result = call(registry, "bug", "{}")
    assert result.is_error
    assert result.content == "bug failed: ZeroDivisionError: division by zero"


def test_sync_tools_run_in_a_thread_and_async_tools_on_the_loop() -> None:
    main = threading.get_ident()

    def sync_tool() -> bool:
        return threading.get_ident() != main

    async def async_tool(x: int) -> int:
        await asyncio.sleep(0)
        return x * 2

    registry = ToolRegistry()
    registry.register(sync_tool)
    registry.register(async_tool, name="double")
    assert registry.names() == ["sync_tool", "double"]
    assert call(registry, "sync_tool", {}).content == "true"
    assert call(registry, "double", {"x": 21}).content == "42"


def test_registration_errors() -> None:
    registry = ToolRegistry()
    registry.register(search)
    with pytest.raises(ValueError, match="already registered"):
        registry.register(search)
    with pytest.raises(ValueError, match="tool name"):
        registry.register(search, name="bad name!")

    def untyped(x):  # type: ignore[no-untyped-def]
        return x

    def variadic(*args: int) -> int:
        return 0

    with pytest.raises(TypeError, match="needs a type hint"):
        registry.register(untyped)
    with pytest.raises(TypeError, match=r"\*args"):
        registry.register(variadic)


def test_external_tools_and_removal() -> None:
    seen: list[dict[str, Any]] = []

    async def handler(arguments: dict[str, Any]) -> str:
        seen.append(arguments)
        return "ok"

    registry = ToolRegistry()
    registry.add(Tool("remote", "A remote tool.", {"type": "object"}), handler)
    assert call(registry, "remote", '{"a": 1}') == ToolResult("ok")
    assert seen == [{"a": 1}]
    registry.remove("remote")
    assert "remote" not in registry
    assert len(registry) == 0


def test_long_results_are_truncated_with_a_note() -> None:
    def long() -> str:
        return "x" * 100

    registry = ToolRegistry(max_result_chars=10)
    registry.register(long)
    content = call(registry, "long", {}).content
    assert content.startswith("x" * 10 + "\n[truncated: 100 characters")


@pytest.mark.parametrize(
    ("value", "text"),
    [(3, "3"), (2.0, "2"), (0.1, "0.1"), (True, "true"), (None, "null"), ({"a": 1}, '{"a": 1}')],
)
def test_values_are_formatted_exactly(value: object, text: str) -> None:
    assert format_value(value) == text
