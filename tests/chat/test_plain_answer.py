"""What counts as an answer a person can read, and the plain answer built from results."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from ember.chat.plain_answer import (
    NO_ANSWER,
    not_an_answer,
    result_fact,
    results_prompt,
    results_sentence,
)
from ember.chat.types import ToolCall


@dataclass(frozen=True)
class Outcome:
    content: str
    is_error: bool = False


@dataclass(frozen=True)
class Done:
    call: ToolCall
    result: Outcome


def done(name: str, arguments: str, result: str, error: bool = False) -> Done:
    return Done(ToolCall(id="c", name=name, arguments=arguments), Outcome(result, error))


@pytest.mark.parametrize(
    "reply",
    [
        "",
        "   ",
        '{"name": "multiply", "arguments": {"num1": 4821, "num2": 37}}',
        '{"name": "convert_units", "arguments": {"value": 2027-04-44}}\n{"name": "today"}',
        '[{"name": "add"',
        "<tool_call>\n{...}\n</tool_call>",
        "calculator(expression='4821 * 37')",
        '```json\n{"name": "add"}\n```',
    ],
)
def test_calls_json_and_nothing_are_not_answers(reply: str) -> None:
    assert not_an_answer(reply)


@pytest.mark.parametrize(
    "reply",
    [
        "There are 63 eggs left.",
        "4821 * 37 = 178377",
        "The date 44 days after 2027-04-02 is 2027-05-16 (Sunday).",
        "{curly} braces are fun",
        "f(x) = x + 1 is a function.",
    ],
)
def test_prose_is_an_answer(reply: str) -> None:
    assert not_an_answer(reply) == ""


def test_results_are_stated_as_facts() -> None:
    calc = done("calculator", '{"expression": "6 * 12 - 9"}', "63")
    letters = done("count_letter", '{"text": "strawberry", "letter": "r"}', "3")
    later = done("add_days", '{"date": "2027-04-02", "days": 44}', "2027-05-16 (Sunday)")
    assert result_fact(calc) == "6 * 12 - 9 = 63"
    assert result_fact(letters) == 'the letter "r" appears 3 times in "strawberry"'
    assert result_fact(later) == "44 days after 2027-04-02 is 2027-05-16 (Sunday)"
    assert result_fact(done("add", '{"a": 1, "b": 2}', "3")) == "the add of 1, 2 is 3"


def test_the_plain_prompt_and_sentence_leave_out_failed_calls() -> None:
    good = done("calculator", '{"expression": "2 + 3"}', "5")
    bad = done("weekday", '{"date": "2027-02-30"}', "not a date", error=True)
    prompt = results_prompt("What is 2 + 3?", [good, bad])
    assert prompt.startswith("What is 2 + 3?")
    assert "- 2 + 3 = 5" in prompt
    assert "2027-02-30" not in prompt
    assert results_sentence([good, bad]) == "2 + 3 = 5."
    assert results_sentence([bad]) == NO_ANSWER
    assert results_prompt("Hi?", []) == "Hi?"


def test_a_reply_that_leaves_out_a_result_is_completed() -> None:
    from ember.chat.plain_answer import uncovered

    change = done("calculator", '{"expression": "149 - 3 * 40"}', "29")
    later = done("add_days", '{"date": "2027-04-02", "days": 44}', "2027-05-16 (Sunday)")
    assert uncovered("Subtract the cost from what you paid.", [change]) == [change]
    assert uncovered("You get $29 back.", [change]) == []
    assert uncovered("It is 2027-05-16.", [later]) == []
