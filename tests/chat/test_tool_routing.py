"""Which questions must start with a tool call: the ones small models get wrong."""

from __future__ import annotations

import pytest

from ember.chat.tool_routing import first_step_choice, needs_tool


@pytest.mark.parametrize(
    "question",
    [
        "What's 17 * 23?",
        "how much is 1,250 divided by 5",
        "What is 15% of 80?",
        "Can you add 19 and 88 for me?",
        "What is the square root of 2025?",
        "How many r's are in strawberry?",
        "count the vowels in 'encyclopedia'",
        "How do you spell necessary backwards?",
        "What day of the week was 14 July 1789?",
        "Is 2030-01-01 a Monday?",
        "How many days until Christmas?",
        "how many weeks between March 3 and June 9",
        "Convert 5 miles to kilometers",
        "what is 180 cm in feet",
        "How many ounces in 2 pounds?",
        "70 fahrenheit to celsius",
        "On which weekday does my birthday fall this year?",
        'Count how often "s" appears in "mississippi"',
        "What is 20 degrees Celsius in degrees Fahrenheit?",
        "How many US gallons is 10 liters?",
        "What is 5 US gallons in liters?",
    ],
)
def test_questions_small_models_get_wrong_start_with_a_tool(question: str) -> None:
    assert needs_tool(question)
    assert first_step_choice(question, "auto") == "required"


@pytest.mark.parametrize(
    "question",
    [
        "What is the capital of France?",
        "Write a haiku about autumn rain.",
        "Explain how a hash map works in Python.",
        "Tell me about music in the 1990s",
        "Summarise the plot of Hamlet in 3 sentences.",
        "Who won the 2018 World Cup?",
        "hello!",
    ],
)
def test_other_questions_leave_the_choice_to_the_model(question: str) -> None:
    assert not needs_tool(question)
    assert first_step_choice(question, "auto") == "auto"


def test_an_explicit_choice_is_kept() -> None:
    assert first_step_choice("What's 17 * 23?", "none") == "none"
    assert first_step_choice("hello", "required") == "required"


def test_a_request_is_routed_by_its_last_user_message() -> None:
    from ember.chat.tool_routing import routed
    from ember.chat.types import ChatRequest, Message

    asked = ChatRequest(
        model="m",
        messages=(
            Message(role="user", content="hello"),
            Message(role="assistant", content="Hi!"),
            Message(role="user", content="What day of the week is 2031-05-04?"),
        ),
    )
    assert routed(asked).tool_choice == "required"
    chatty = ChatRequest(model="m", messages=(Message(role="user", content="hello"),))
    assert routed(chatty) is chatty


def test_word_problems_are_routed_to_a_tool() -> None:
    from ember.chat.tool_routing import needs_tool

    assert needs_tool("I have 6 boxes of 12 eggs and use 9. How many eggs are left?")
    assert needs_tool("5 friends split a bill of $845 equally. How much does each pay?")
    assert not needs_tool("How many planets are there?")  # one number at most
    assert not needs_tool("Tell me about the 2 cities of Minneapolis and St Paul.")


def test_date_offsets_name_the_tool_that_computes_them() -> None:
    from ember.chat.tool_routing import first_step_choice, named_tool

    assert named_tool("What date is 44 days after 2027-04-02?") == "add_days"
    assert named_tool("What was the date 30 days before 2026-03-10?") == "add_days"
    assert named_tool("If today were 2024-01-04, what weekday would it be in 66 days?") == (
        "add_days"
    )
    assert named_tool("How many days are between 2024-01-01 and 2024-03-01?") == ("days_between")
    assert named_tool("What is 4 * 5?") is None
    question = "What date is 44 days after 2027-04-02?"
    assert first_step_choice(question, "auto", {"add_days"}) == "add_days"
    assert first_step_choice(question, "auto") == "required"  # not offered: any tool
    assert first_step_choice(question, "none", {"add_days"}) == "none"


def test_a_message_with_two_questions_is_split_into_its_parts() -> None:
    from ember.chat.tool_routing import question_parts, tool_parts
    from ember.chat.types import ChatRequest, Message

    two = "How many r's are in the word strawberry? And what is 4821 * 37?"
    assert question_parts(two) == ["How many r's are in the word strawberry?", "What is 4821 * 37?"]
    assert question_parts("What is 5157 * 58?\nWhat date is 48 days after 2024-05-31?") == [
        "What is 5157 * 58?",
        "What date is 48 days after 2024-05-31?",
    ]
    assert question_parts("Plus: What is 2 + 2?") == ["What is 2 + 2?"]

    def request(text: str) -> ChatRequest:
        return ChatRequest("m", (Message(role="user", content=text),))

    assert tool_parts(request(two)) == question_parts(two)
    assert tool_parts(request("What is 4821 * 37?")) == []  # one question
    assert tool_parts(request("Hello! What is 4821 * 37?")) == []  # one needs a tool


def test_a_date_offset_call_is_checked_against_the_question() -> None:
    from ember.chat.computation_check import checked_call
    from ember.chat.tool_routing import named_tool
    from ember.chat.types import ToolCall

    call = ToolCall(id="c", name="add_days", arguments='{"date": "2026-10-13", "days": 85}')
    back = checked_call("What was the date 85 days before 2026-10-13?", call)
    assert back.arguments == '{"date": "2026-10-13", "days": -85}'
    assert checked_call("What date is 85 days after 2026-10-13?", call) == call
    # Measured: "23 days earlier" became days=-3; the offset is the question's number.
    short = ToolCall(id="c", name="add_days", arguments='{"date": "2026-03-29", "days": -3}')
    fixed = checked_call("The deadline is 2026-03-29. What date is 23 days earlier?", short)
    assert fixed.arguments == '{"date": "2026-03-29", "days": -23}'
    weeks = ToolCall(id="c", name="add_days", arguments='{"date": "2026-03-29", "days": 17}')
    assert checked_call("What date is 2 weeks and 3 days after 2026-03-29?", weeks) == weeks
    assert named_tool("The deadline is 2027-10-27. What date is 140 days earlier?") == "add_days"
    assert named_tool("My trip starts on 2026-07-27 and lasts 135 days. When does it end?") == (
        "add_days"
    )
