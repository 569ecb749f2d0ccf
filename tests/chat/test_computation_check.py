"""The checks of a routed call against the question's words (chat/computation_check.py).
The mistakes are the ones Qwen2.5-Coder-0.5B made on the realistic benchmark; the real
model meets them in test_tool_repairs_qwen.py."""

from __future__ import annotations

import json

import pytest

from ember.chat.computation_check import call_problem, checked_call, needless_call
from ember.chat.types import ToolCall
from ember.tools.builtin.calculator import calculator


def checked(question: str, name: str, **arguments: object) -> dict[str, object]:
    call = ToolCall(id="c1", name=name, arguments=json.dumps(arguments))
    out = checked_call(question, call)
    assert (out.id, out.name) == ("c1", name)
    result: dict[str, object] = json.loads(out.arguments)
    return result


@pytest.mark.parametrize(
    ("question", "expression", "value"),
    [
        ("I buy 3 tickets at $40 each and pay with $149. What change?", "3 * 40 - 149", "29"),
        ("Maya pays $102 for 8 items costing $11 each. How much change?", "8 * 11 - 102", "14"),
        ("4 coffees at $39 apiece, and I hand over $162. Change?", "4 * 39 - 162", "6"),
        ("I had 20 plums and ate 4 + 3. How many are left?", "4 + 3 - 20", "13"),
    ],
)  # fmt: skip
def test_a_negative_amount_left_over_is_the_subtraction_reversed(
    question: str, expression: str, value: str
) -> None:
    fixed = checked(question, "calculator", expression=expression)["expression"]
    assert isinstance(fixed, str)
    assert calculator(fixed) == value


def test_a_negative_result_stands_where_the_question_allows_one() -> None:
    assert checked("What is 5 - 9?", "calculator", expression="5 - 9") == {"expression": "5 - 9"}
    right = {"expression": "191 - 8 * 20"}
    question = "Sam pays $191 for 8 items at $20. How much change?"
    assert checked(question, "calculator", **right) == right


@pytest.mark.parametrize(
    ("question", "expression", "value"),
    [
        ("What is the price of a $469 item after a 60% discount?", "469 * 0.60", "187.6"),
        ("The rent of $108 goes up by 12%. What is the new rent?", "108 + 12", "120.96"),
        ("The shop takes 12% off everything. How much is a $170 lamp now?", "12 * 0.8", "149.6"),
        ("$187 minus 75 percent: what's the sale price?", "187 - 0.75 * 100", "46.75"),
        ("Add 25 percent to 480. What do you get?", "480 + 25", "600"),
        ("A $1,250 laptop is 20% off. What do I pay?", "1250 * 0.2", "1000"),
    ],
)  # fmt: skip
def test_a_price_change_uses_the_percentage_the_way_the_question_says(
    question: str, expression: str, value: str
) -> None:
    fixed = checked(question, "calculator", expression=expression)["expression"]
    assert isinstance(fixed, str)
    assert calculator(fixed) == value


@pytest.mark.parametrize(
    ("question", "expression"),
    [
        ("What is the price of a $25 item after a 25% discount?", "25 * 0.75"),  # right already
        ("How much is a 40% tip on a $44 bill?", "0.4 * 44"),  # a share, not a new price
        ("What is 60% of 378?", "0.6 * 378"),
        ("20% off a $74 jacket: how much do I save?", "74 * 0.2"),
        ("A $90 coat is 10% off, then 5% more off. What do I pay?", "90 * 0.9 * 0.95"),
        ("Tom has 30 apples and Ann 20. What is 10% more than their total?", "50 * 1.1"),
    ],
)  # fmt: skip
def test_other_percent_questions_keep_the_models_expression(question: str, expression: str) -> None:
    assert checked(question, "calculator", expression=expression) == {"expression": expression}


def test_the_letter_is_counted_in_the_word_the_question_names() -> None:
    question = "How many t's are in the word committee?"
    assert checked(question, "count_letter", text="t's", letter="t")["text"] == "committee"
    question = "How many c's are in the word committee?"
    assert checked(question, "count_letter", text="c committee", letter="c")["text"] == "committee"
    phrase = "How many e's are in the phrase 'green tea leaves'?"
    good = {"text": "green tea leaves", "letter": "e"}
    assert checked(phrase, "count_letter", **good) == good


@pytest.mark.parametrize(
    ("question", "expression", "value"),
    [
        ("If 7 of us share $350 evenly, what is each person's share?", "7 / 350", "50"),
        ("A prize of $845 is shared equally by 5 people. How much each?", "5 / 845", "169"),
    ],
)
def test_a_share_divided_upside_down_is_turned_over(
    question: str, expression: str, value: str
) -> None:
    fixed = checked(question, "calculator", expression=expression)["expression"]
    assert isinstance(fixed, str)
    assert calculator(fixed) == value


def problem(question: str, expression: str) -> str | None:
    call = ToolCall(id="c1", name="calculator", arguments=json.dumps({"expression": expression}))
    return call_problem(question, call)


def test_a_word_problem_call_with_numbers_not_in_the_question_is_refused() -> None:
    why = problem("9 friends split a bill of $1044 equally. How much does each pay?", "9/44*1044")
    assert why is not None
    assert "44 is not in the question" in why
    assert "9, 1044" in why
    why = problem("We started with 12 packs of 44 pencils; 17 are gone. What's left?", "1244 - 17")
    assert why is not None
    assert "1244 is not in the question" in why


@pytest.mark.parametrize(
    ("question", "expression"),
    [
        ("I have 6 boxes of 12 eggs and use 9. How many are left?", "6 * 12 - 9"),
        ("Dinner came to $1,200 and we were 4. Split evenly, what do I owe?", "1200 / 4"),
        ("A 2.5 kg bag costs $10. How much for 3 bags?", "3 * 10"),  # a number left out
        ("What is 4821 * 37?", "4821 * 37"),  # one number: nothing to check against
        ("Half of 30 apples and 7 more: how many?", "30 / 2 + 7"),  # implied by a word
        ("20% off a $74 jacket: what do I pay?", "74 * 0.8"),  # a percentage
        ("I walk 3 km an hour for 2 hours and 30 minutes. How far?", "3 * 2.5"),
    ],
)  # fmt: skip
def test_calls_made_of_the_questions_numbers_run(question: str, expression: str) -> None:
    assert problem(question, expression) is None


def test_a_calculator_call_with_no_digit_for_a_question_with_none_is_needless() -> None:

    def calc(expression: str) -> ToolCall:
        return ToolCall(id="c", name="calculator", arguments=json.dumps({"expression": expression}))

    assert needless_call("What is the capital of France?", calc("Paris"))
    assert not needless_call("What is the capital of France?", calc("2 + 2"))
    assert not needless_call("What is 12 times 4?", calc("twelve * four"))
    letters = ToolCall(id="c", name="count_letter", arguments='{"text": "a", "letter": "a"}')
    assert not needless_call("How many a's in banana?", letters)
