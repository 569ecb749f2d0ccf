"""Tool-call formats, grammars, the repair parser and the streaming hold-back (pure)."""

from __future__ import annotations

import json

import pytest

from ember.chat.tool_calls import (
    ToolCallHoldback,
    call_grammar,
    forced_tools,
    parse_tool_calls,
    tool_format,
    with_tool_prompt,
)
from ember.chat.types import Message, Tool

ADD = Tool(
    name="add",
    description="Add two integers.",
    parameters={
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
    },
)
NOW = Tool(name="now", description="The current time.", parameters={})


@pytest.mark.parametrize(
    "text",
    [
        '<tool_call>\n{"name": "add", "arguments": {"a": 1, "b": 2}}\n</tool_call>',
        '<tool_call>{"name": "add", "arguments": {"a": 1, "b": 2}}',  # cut off at the end
        '```json\n{"name": "add", "arguments": {"a": 1, "b": 2}}\n```',
        '{"name": "add", "arguments": {"a": 1, "b": 2}}',
        '{"name": "add", "parameters": {"a": 1, "b": 2}}',
        '{"name": "add", "arguments": "{\\"a\\": 1, \\"b\\": 2}"}',
        '{"type": "function", "function": {"name": "add", "arguments": {"a": 1, "b": 2}}}',
        '[{"name": "add", "arguments": {"a": 1, "b": 2}}]',
        '{"name": "add", "arguments": {"a": 1, "b": 2}} I hope that helps',
        'Answer: {"name": "add", "arguments": {"a": 1, "b": 2}}',  # a label first (Qwen 0.5B)
    ],
)
def test_each_known_shape_parses_to_one_call(text: str) -> None:
    content, calls = parse_tool_calls(text, [ADD, NOW])
    assert [c.name for c in calls] == ["add"]
    assert json.loads(calls[0].arguments) == {"a": 1, "b": 2}
    assert calls[0].id.startswith("call_")
    assert "add" not in content


def test_text_around_tags_stays_content_and_parallel_calls_are_kept() -> None:
    text = (
        "Let me check.\n<tool_call>\n"
        '{"name": "add", "arguments": {"a": 1, "b": 2}}\n</tool_call>\n'
        '<tool_call>\n{"name": "now", "arguments": {}}\n</tool_call>'
    )
    content, calls = parse_tool_calls(text, [ADD, NOW])
    assert content == "Let me check."
    assert [c.name for c in calls] == ["add", "now"]


@pytest.mark.parametrize(
    "text",
    [
        "The answer is 3.",
        '{"name": "delete_everything", "arguments": {}}',  # not an offered tool
        '{"result": 3}',  # JSON, but no call
        "<tool_call>not json</tool_call>",
        '{"name": "add", "arguments": [1, 2]}',  # arguments not an object
    ],
)
def test_non_calls_stay_content(text: str) -> None:
    content, calls = parse_tool_calls(text, [ADD])
    assert calls == []
    assert content == text


def test_no_tools_offered_means_no_parsing() -> None:
    text = '{"name": "add", "arguments": {"a": 1, "b": 2}}'
    assert parse_tool_calls(text, []) == (text, [])


def test_format_follows_the_template() -> None:
    assert tool_format("... <tool_call> ...") == "tagged"
    assert tool_format("{{ messages }}") == "json"
    assert tool_format(None) == "json"


def test_prompt_for_templates_without_tools_joins_the_system_message() -> None:
    out = with_tool_prompt(
        [Message(role="system", content="Be brief."), Message(role="user")], [ADD]
    )
    assert out[0].role == "system"
    assert out[0].content.startswith("Be brief.")
    assert '"name": "add"' in out[0].content
    fresh = with_tool_prompt([Message(role="user", content="hi")], [ADD])
    assert [m.role for m in fresh] == ["system", "user"]


def test_forced_tools() -> None:
    assert forced_tools([ADD, NOW], "auto") == []
    assert forced_tools([ADD, NOW], "none") == []
    assert forced_tools([ADD, NOW], "required") == [ADD, NOW]
    assert forced_tools([ADD, NOW], "now") == [NOW]


def test_grammars_compile_in_llama_cpp() -> None:
    from llama_cpp.llama_grammar import LlamaGrammar

    for fmt in ("tagged", "json"):
        for parallel in (False, True):
            text = call_grammar([ADD, NOW], fmt, parallel=parallel)
            assert text.startswith("root ::=")
            assert "tool-call ::=" in text
            LlamaGrammar.from_string(text, verbose=False)


def test_holdback_streams_plain_text_and_holds_a_tagged_call() -> None:
    hb = ToolCallHoldback()
    shown = "".join(hb.feed(piece) for piece in ["Sure", ", one", " moment <tool", "_call>{"])
    assert shown == "Sure, one moment "
    assert hb.held() == "<tool_call>{"


def test_holdback_holds_an_answer_that_starts_like_json() -> None:
    hb = ToolCallHoldback()
    assert hb.feed("  ") == ""
    assert hb.feed('{"name"') == ""
    assert hb.feed(": 1}") == ""
    assert hb.held() == '  {"name": 1}'


def test_holdback_releases_a_partial_tag_that_was_not_one() -> None:
    hb = ToolCallHoldback()
    assert hb.feed("a <to") == "a "
    assert hb.feed("ast>") == "<toast>"
    assert hb.held() == ""


@pytest.mark.parametrize(
    "text",
    [
        'Note: {"a": 1}',  # JSON after a label, but not a call
        'Answer: {"name": "unknown", "arguments": {}}',  # not an offered tool
        'Here is how I would do it, if I could: {"name": "add", "arguments": {"a": 1}}',
    ],
)
def test_a_label_before_json_that_is_no_call_stays_content(text: str) -> None:
    assert parse_tool_calls(text, [ADD, NOW]) == (text, [])


def test_holdback_holds_a_call_behind_a_short_label() -> None:
    hb = ToolCallHoldback()
    assert hb.feed("Answer") == ""  # may still become "Answer: {...}"
    assert hb.feed(": ") == ""
    assert hb.feed('{"name": "add"') == ""
    assert hb.held() == 'Answer: {"name": "add"'


def test_holdback_releases_a_plain_answer_once_it_is_no_label() -> None:
    hb = ToolCallHoldback()
    assert hb.feed("The answer") == ""
    assert hb.feed(" is 3.") == "The answer is 3."
    assert hb.feed(" Done: yes") == " Done: yes"


def test_forced_holdback_holds_everything() -> None:
    hb = ToolCallHoldback(hold_everything=True)
    assert hb.feed("hello") == ""
    assert hb.held() == "hello"
