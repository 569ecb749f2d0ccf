"""A registry of tools: typed Python functions whose JSON schema comes from their signature.

``register(func)`` reads the function's type hints (str, int, float, bool, ``Literal``,
``list[...]``, ``X | None`` and defaults) into a pydantic model, whose JSON schema is what
the model sees; the docstring's first paragraph is the tool's description and its
``Args:`` section describes the parameters (Google style, as simonw/llm does it).

``call(name, arguments)`` never raises for anything the model can get wrong: an unknown
tool, arguments that are not JSON, arguments that do not fit the signature, and an
exception inside the tool all come back as ``ToolResult(is_error=True)`` with a message
the model can act on. Sync tools run in a worker thread so they never block the loop.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any, get_type_hints

import pydantic

from ember.types import Tool

NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # what the OpenAI API accepts for a name
MAX_RESULT_CHARS = 8000


class ToolError(Exception):
    """An expected failure inside a tool; its message goes to the model as is."""


@dataclass(frozen=True)
class ToolResult:
    content: str
    is_error: bool = False


Handler = Callable[[dict[str, Any]], Awaitable[Any]]


@dataclass(frozen=True)
class _Entry:
    tool: Tool
    handler: Handler
    validator: type[pydantic.BaseModel] | None  # None: the handler validates (MCP servers)


class ToolRegistry:
    """Tools by name; see the module docstring for the contract of :meth:`call`."""

    def __init__(self, *, max_result_chars: int = MAX_RESULT_CHARS) -> None:
        self._entries: dict[str, _Entry] = {}
        self.max_result_chars = max_result_chars

    def register(self, func: Callable[..., Any], name: str | None = None) -> Tool:
        """Add a typed function (sync or async) as a tool; returns its description."""
        tool_name = name or func.__name__
        model = signature_model(func, tool_name)
        description, _ = parse_docstring(func.__doc__)
        tool = Tool(
            name=tool_name,
            description=description or tool_name.replace("_", " "),
            parameters=clean_schema(model.model_json_schema()),
        )
        self._add(_Entry(tool, _function_handler(func), model))
        return tool

    def add(self, tool: Tool, handler: Handler) -> None:
        """Add a tool described elsewhere (an MCP server): ``handler`` gets the parsed
        arguments and does its own validation."""
        self._add(_Entry(tool, handler, None))

    def _add(self, entry: _Entry) -> None:
        name = entry.tool.name
        if not NAME_RE.match(name):
            raise ValueError(f"tool name {name!r} must be 1-64 letters, digits, '_' or '-'")
        if name in self._entries:
            raise ValueError(f"a tool named {name!r} is already registered")
        self._entries[name] = entry

    def remove(self, name: str) -> None:
        self._entries.pop(name, None)

    def tools(self) -> tuple[Tool, ...]:
        return tuple(e.tool for e in self._entries.values())

    def names(self) -> list[str]:
        return list(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def merge(self, other: ToolRegistry) -> None:
        """Add every tool of ``other`` (names must not clash)."""
        for entry in other._entries.values():
            self._add(entry)

    async def call(self, name: str, arguments: str | dict[str, Any]) -> ToolResult:
        """Run a tool; every failure the model can cause is an error result, not a raise."""
        entry = self._entries.get(name)
        if entry is None:
            known = ", ".join(self._entries) or "none"
            return ToolResult(f"unknown tool {name!r}; the tools are: {known}", is_error=True)
        args = parse_arguments(arguments)
        if isinstance(args, ToolResult):
            return args
        if entry.validator is not None:
            # Small models copy schema words into the call ("type": "string"): arguments
            # the tool does not take are dropped, not an error (the grammar forbids them
            # in forced calls; this is for calls written freely).
            fields = entry.validator.model_fields
            args = {k: v for k, v in args.items() if k in fields}
            try:
                validated = entry.validator.model_validate(args)
            except pydantic.ValidationError as e:
                return ToolResult(describe_validation_error(name, e, entry.tool), is_error=True)
            args = {field: getattr(validated, field) for field in type(validated).model_fields}
        try:
            value = await entry.handler(args)
        except ToolError as e:
            return ToolResult(str(e), is_error=True)
        except Exception as e:  # noqa: BLE001 - a tool's failure goes back to the model as a result
            return ToolResult(f"{name} failed: {type(e).__name__}: {e}", is_error=True)
        result = value if isinstance(value, ToolResult) else ToolResult(format_value(value))
        return self._truncate(result)

    def _truncate(self, result: ToolResult) -> ToolResult:
        if len(result.content) <= self.max_result_chars:
            return result
        cut = result.content[: self.max_result_chars]
        note = f"\n[truncated: {len(result.content)} characters, showing the first {len(cut)}]"
        return ToolResult(cut + note, result.is_error)


def _function_handler(func: Callable[..., Any]) -> Handler:
    if inspect.iscoroutinefunction(func):

        async def run_async(args: dict[str, Any]) -> Any:
            return await func(**args)

        return run_async

    async def run_sync(args: dict[str, Any]) -> Any:
        return await asyncio.to_thread(func, **args)

    return run_sync


def parse_arguments(arguments: str | dict[str, Any]) -> dict[str, Any] | ToolResult:
    """JSON text (or an already parsed dict) -> the arguments object, or an error result."""
    if isinstance(arguments, dict):
        return arguments
    text = arguments.strip()
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError as e:
        return ToolResult(f"the arguments are not valid JSON ({e}): {text[:200]}", is_error=True)
    if not isinstance(value, dict):
        return ToolResult(
            f"the arguments must be a JSON object, got {type(value).__name__}", is_error=True
        )
    return value


def describe_validation_error(name: str, error: pydantic.ValidationError, tool: Tool) -> str:
    problems = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "arguments"
        problems.append(f"{where}: {item['msg']}")
    params = tool.parameters.get("properties", {})
    expected = ", ".join(f"{p} ({s.get('type', 'any')})" for p, s in params.items())
    return f"invalid arguments for {name}: {'; '.join(problems)}. Expected: {expected or 'none'}"


def format_value(value: Any) -> str:
    """A tool's return value as text; numbers exactly (no float noise for exact values)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Fraction):
        return str(value.numerator) if value.denominator == 1 else str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    return json.dumps(value, ensure_ascii=False, default=str)


# --- schemas from signatures ---------------------------------------------------------


def signature_model(func: Callable[..., Any], name: str) -> type[pydantic.BaseModel]:
    """A pydantic model with one field per parameter (type, default, description)."""
    _, arg_docs = parse_docstring(func.__doc__)
    hints = get_type_hints(func)
    fields: dict[str, Any] = {}
    for param in inspect.signature(func).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise TypeError(f"tool {name}: *args and **kwargs cannot be described to a model")
        if param.name not in hints:
            raise TypeError(f"tool {name}: parameter {param.name!r} needs a type hint")
        default = ... if param.default is param.empty else param.default
        field = pydantic.Field(default, description=arg_docs.get(param.name))
        fields[param.name] = (hints[param.name], field)
    config = pydantic.ConfigDict(extra="forbid")
    model: type[pydantic.BaseModel] = pydantic.create_model(
        f"{name}_arguments", __config__=config, **fields
    )
    return model


def clean_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Drop pydantic's generated titles: noise in a small model's prompt."""

    def walk(node: Any, in_properties: bool = False) -> Any:
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, dict):
            return node
        out = {}
        for key, value in node.items():
            if key == "title" and not in_properties and isinstance(value, str):
                continue
            out[key] = walk(value, in_properties=key in ("properties", "$defs"))
        return out

    cleaned: dict[str, Any] = walk(schema)
    cleaned.setdefault("properties", {})
    return cleaned


_SECTION_RE = re.compile(r"^(Args|Arguments|Parameters|Returns|Raises|Examples?|Yields)\s*:\s*$")
_ARG_RE = re.compile(r"^(\*{0,2}\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")


def parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """(description, {parameter: description}) from a Google-style docstring."""
    if not doc:
        return "", {}
    lines = inspect.cleandoc(doc).splitlines()
    summary: list[str] = []
    i = 0
    while i < len(lines) and lines[i].strip() and not _SECTION_RE.match(lines[i].strip()):
        summary.append(lines[i].strip())
        i += 1
    args: dict[str, str] = {}
    section = None
    current: str | None = None
    for line in lines[i:]:
        stripped = line.strip()
        header = _SECTION_RE.match(stripped)
        if header and not line.startswith((" ", "\t")):
            section, current = header.group(1), None
            continue
        if section not in ("Args", "Arguments", "Parameters") or not stripped:
            continue
        indent = len(line) - len(line.lstrip())
        match = _ARG_RE.match(stripped)
        if match and (current is None or indent <= _arg_indent(lines, current)):
            current = match.group(1).lstrip("*")
            args[current] = match.group(2).strip()
        elif current is not None:
            args[current] = f"{args[current]} {stripped}".strip()
    return " ".join(summary), args


def _arg_indent(lines: list[str], name: str) -> int:
    for line in lines:
        if _ARG_RE.match(line.strip()) and line.strip().startswith(name):
            return len(line) - len(line.lstrip())
    return 0
