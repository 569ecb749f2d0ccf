"""Tool calls: how a model is told about tools, how its calls are constrained, how they are
read back (pure functions, plus one small streaming filter).

Two formats cover the models Ember runs:

- ``tagged``: the model's own chat template renders the tools and asks for
  ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>`` (Qwen, Hermes and most
  recent instruction-tuned models);
- ``json``: the template knows nothing of tools, so Ember describes them in the system
  prompt and asks for one bare JSON object.

Small models often get the shape slightly wrong (JSON as plain content, inside a code
fence, ``parameters`` instead of ``arguments``, arguments as a JSON string), so the parser
accepts each of those shapes, but only for the tools that were offered.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Literal

from ember.chat.types import Message, Tool, ToolCall, ToolChoice, with_system_text

ToolFormat = Literal["tagged", "json"]

OPEN_TAG = "<tool_call>"
CLOSE_TAG = "</tool_call>"

_TAGGED = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.DOTALL)
_FENCED = re.compile(r"```(?:json|tool_call)?\s*(.*?)\s*```", re.DOTALL)


def tool_format(chat_template: str | None) -> ToolFormat:
    """``tagged`` when the model's template already teaches ``<tool_call>`` tags."""
    return "tagged" if chat_template and OPEN_TAG in chat_template else "json"


def tools_system_prompt(tools: Sequence[Tool]) -> str:
    """The tool description for templates without tool support (the ``json`` format)."""
    lines = [
        "You can call these functions. To call one, answer with only a JSON object of the "
        'form {"name": <function name>, "arguments": {<argument>: <value>}} and nothing else.',
        "",
    ]
    for tool in tools:
        lines.append(json.dumps(tool_schema(tool), ensure_ascii=False))
    return "\n".join(lines)


def with_tool_prompt(messages: Sequence[Message], tools: Sequence[Tool]) -> list[Message]:
    """``messages`` with the tool description added to (or as) the system message."""
    return with_system_text(messages, tools_system_prompt(tools))


def tool_schema(tool: Tool) -> dict[str, Any]:
    """The OpenAI-style tool object chat templates expect."""
    return {
        "type": "function",
        "function": {
            "name": tool.name,
            "description": tool.description,
            "parameters": tool.parameters,
        },
    }


def call_schema(tools: Sequence[Tool]) -> dict[str, Any]:
    """JSON Schema of one well-formed call to any of ``tools`` with valid arguments."""
    alternatives = [
        {
            "type": "object",
            "properties": {
                "name": {"const": tool.name},
                "arguments": _arguments_schema(tool.parameters),
            },
            "required": ["name", "arguments"],
        }
        for tool in tools
    ]
    return alternatives[0] if len(alternatives) == 1 else {"anyOf": alternatives}


def _arguments_schema(parameters: dict[str, Any]) -> dict[str, Any]:
    if not parameters:
        return {"type": "object"}
    schema = dict(parameters)
    schema.setdefault("type", "object")
    return schema


def forced_tools(tools: Sequence[Tool], choice: ToolChoice) -> list[Tool]:
    """The tools a call must be made to: all for ``required``, one for a named choice,
    none (no constraint) for ``auto`` and ``none``."""
    if choice in ("auto", "none"):
        return []
    if choice == "required":
        return list(tools)
    return [t for t in tools if t.name == choice]


def call_grammar(tools: Sequence[Tool], fmt: ToolFormat, *, parallel: bool = False) -> str:
    """GBNF that lets the model emit only calls to ``tools`` (at least one)."""
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    body = str(json_schema_to_gbnf(json.dumps(call_schema(tools))))
    body = re.sub(r"^root ::=", "tool-call ::=", body, flags=re.MULTILINE)
    if fmt == "tagged":
        one = r'"<tool_call>\n" tool-call "\n</tool_call>"'
        root = f"root ::= {one} " + (f'("\\n" {one})*' if parallel else "")
    else:
        root = "root ::= tool-call"
    return f"{root.rstrip()}\n{body}"


def new_call_id() -> str:
    return f"call_{uuid.uuid4().hex[:24]}"


def parse_tool_calls(text: str, tools: Sequence[Tool]) -> tuple[str, list[ToolCall]]:
    """The calls to offered tools found in ``text``, and the text with them removed.

    Accepts ``<tool_call>`` tags (closed or cut off at the end), fenced code blocks and a
    bare JSON object or list as the whole answer. Anything that is not a call to an
    offered tool stays content.
    """
    if not tools:
        return text, []
    content, calls = _find_calls(text, {t.name for t in tools})
    by_name = {t.name: t for t in tools}
    return content, [only_parameters(c, by_name[c.name]) for c in calls]


def only_parameters(call: ToolCall, tool: Tool) -> ToolCall:
    """``call`` without the arguments that are not the tool's parameters. Measured:
    Qwen2.5-Coder-0.5B copies schema keys into its calls (``required``, ``type``); they
    are dropped before the call runs, and so are never stored or shown."""
    properties = tool.parameters.get("properties")
    if not isinstance(properties, dict) or tool.parameters.get("additionalProperties") is True:
        return call
    try:
        values = json.loads(call.arguments)
    except ValueError:
        return call
    if not isinstance(values, dict) or set(values) <= set(properties):
        return call
    kept = {k: v for k, v in values.items() if k in properties}
    return replace(call, arguments=json.dumps(kept, ensure_ascii=False))


def _find_calls(text: str, names: set[str]) -> tuple[str, list[ToolCall]]:
    calls: list[ToolCall] = []
    content = text
    for pattern in (_TAGGED, _FENCED):
        found = False
        for match in pattern.finditer(text):
            parsed = _calls_in(match.group(1), names)
            if parsed:
                calls.extend(parsed)
                content = content.replace(match.group(0), "", 1)
                found = True
        if found:
            return content.strip(), calls
    parsed = _calls_in(text.strip(), names)
    if parsed:
        return "", parsed
    labelled = _LABELLED.match(text)
    if labelled:  # `Answer: {"name": ...}`: a short label, then the call as the rest
        parsed = _calls_in(labelled.group(1), names)
        if parsed:
            return "", parsed
    return text, []


# A few words and a colon before a JSON call (Qwen2.5-Coder-0.5B writes "Answer: {...}").
_LABELLED = re.compile(r"^\s*[A-Za-z][\w ]{0,30}:\s*([\[{].*)$", re.DOTALL)
_LABEL_THEN_CALL = re.compile(r"[A-Za-z][\w ]{0,30}:\s*[\[{]")
_MAYBE_LABEL = re.compile(r"[A-Za-z][\w ]{0,30}(:\s*)?")


def _calls_in(snippet: str, names: set[str]) -> list[ToolCall]:
    value = _loads_lenient(snippet)
    items = value if isinstance(value, list) else [value]
    calls = [_call_from(item, names) for item in items]
    if not calls or any(c is None for c in calls):
        return []
    return [c for c in calls if c is not None]


def _loads_lenient(snippet: str) -> Any:
    """JSON, or JSON with trailing text after the first complete value."""
    snippet = snippet.strip()
    try:
        return json.loads(snippet)
    except ValueError:
        pass
    try:
        value, _ = json.JSONDecoder().raw_decode(snippet)
    except ValueError:
        return None
    return value


def _call_from(item: Any, names: set[str]) -> ToolCall | None:
    if not isinstance(item, dict):
        return None
    if isinstance(item.get("function"), dict):  # {"type": "function", "function": {...}}
        item = item["function"]
    name = item.get("name")
    if not isinstance(name, str) or name not in names:
        return None
    arguments = item.get("arguments", item.get("parameters", {}))
    if isinstance(arguments, str):
        decoded = _loads_lenient(arguments) if arguments.strip() else {}
        arguments = decoded if isinstance(decoded, dict) else None
    if not isinstance(arguments, dict):
        return None
    return ToolCall(
        id=new_call_id(), name=name, arguments=json.dumps(arguments, ensure_ascii=False)
    )


class ToolCallHoldback:
    """Streams content while holding back what may turn out to be a tool call.

    Text is released as it arrives unless it starts like a call (``{``, ``[``, a code
    fence, ``<tool_call>``); from an opening tag on, everything is held. At the end the
    caller parses the whole text; :meth:`held` is what was never released.
    """

    def __init__(self, hold_everything: bool = False) -> None:
        self._text = ""
        self._released = 0
        self._holding = hold_everything

    def feed(self, delta: str) -> str:
        """The part of the text so far that can be shown now."""
        self._text += delta
        if self._holding:
            return ""
        pending = self._text[self._released :]
        if self._released == 0:
            stripped = pending.lstrip()
            if stripped.startswith(("{", "[", "```", OPEN_TAG)):
                self._holding = True
                return ""
            if not stripped or OPEN_TAG.startswith(stripped) or "```".startswith(stripped):
                return ""  # too early to tell
            if _LABEL_THEN_CALL.match(stripped):
                self._holding = True
                return ""
            if _MAYBE_LABEL.fullmatch(stripped):
                return ""  # a few words that may yet be "Answer: {...}"
        tag = pending.find(OPEN_TAG)
        if tag >= 0:
            self._holding = True
            return self._release(tag)
        return self._release(len(pending) - _partial_tag_suffix(pending))

    def _release(self, n: int) -> str:
        out = self._text[self._released : self._released + n]
        self._released += n
        return out

    @property
    def text(self) -> str:
        return self._text

    def held(self) -> str:
        return self._text[self._released :]

    @property
    def released_anything(self) -> bool:
        return self._released > 0


def _partial_tag_suffix(text: str) -> int:
    """Length of the longest end of ``text`` that could begin ``<tool_call>``."""
    for n in range(min(len(OPEN_TAG) - 1, len(text)), 0, -1):
        if OPEN_TAG.startswith(text[-n:]):
            return n
    return 0
