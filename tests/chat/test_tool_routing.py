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
