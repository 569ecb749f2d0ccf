"""The realistic question sets and their strict checking (no model needed)."""

from __future__ import annotations

import datetime as dt

from ember.bench.realistic_check import check_realistic, not_prose, states
from ember.bench.realistic_items import (
    REALISTIC_FAMILIES,
    Expected,
    RealisticItem,
    generate,
)


def test_each_bank_has_forty_distinct_items_per_family_with_computed_answers() -> None:
    for bank in ("tune", "heldout"):
        items = generate(40, bank=bank)  # type: ignore[arg-type]
        assert len(items) == 40 * len(REALISTIC_FAMILIES)
        assert len({i.question for i in items}) == len(items)
        assert generate(40, bank=bank) == items  # type: ignore[arg-type]
    tune = {i.question for i in generate(40)}
    held = {i.question for i in generate(40, bank="heldout")}
    assert not tune & held  # the held-out phrasings are other phrasings


def test_answers_are_right_for_examples_worked_by_hand() -> None:
    items = {i.question: i for i in generate(40, families=("relative-dates", "word"))}
    for question, item in items.items():
        if question.startswith("What date is") and "days after" in question:
            days = int(question.split()[3])
            start = dt.date.fromisoformat(question.rstrip("?").split()[-1])
            assert item.expected[0].value == (start + dt.timedelta(days=days)).isoformat()
    two = generate(40, families=("two-in-one",))
    assert all(len(i.expected) == 2 for i in two)


ITEM = RealisticItem(
    "x", "two-in-one", "tune", "How many r's in strawberry? And what is 4821 * 37?",
    (Expected("number", "3"), Expected("number", "178377")),
)  # fmt: skip


def test_a_right_reply_in_words_passes() -> None:
    verdict = check_realistic(ITEM, "There are 3 r's in strawberry, and 4821 * 37 = 178,377.")
    assert verdict.correct


def test_a_right_value_inside_a_transcript_or_call_is_wrong() -> None:
    transcript = (
        "count_letter(text='strawberry', letter='r') = 3\ncalculator(expression='x') = 178377"
    )
    assert not check_realistic(ITEM, transcript).correct
    assert not_prose(transcript) == "a tool transcript"
    assert not check_realistic(ITEM, '{"name": "multiply", "arguments": {"a": 178377}} 3').correct
    assert not check_realistic(ITEM, "The tools gave no result. 3 178377").correct


def test_every_value_is_needed() -> None:
    verdict = check_realistic(ITEM, "There are 3 r's in strawberry.")
    assert not verdict.correct
    assert verdict.why == "missing 178377"
    assert verdict.found == (True, False)


def test_dates_weekdays_and_decimals_are_read_in_the_forms_people_write() -> None:
    date = Expected("date", "2027-05-16")
    assert states("It is 2027-05-16.", date)
    assert states("That is May 16, 2027 (a Sunday).", date)
    assert states("the 16th of May 2027", date)
    assert not states("2027-05-17", date)
    assert states("It will be a Sunday.", Expected("weekday", "Sunday"))
    price = Expected("number", "59.2", 0.01)
    assert states("You pay $59.20.", price)
    assert not states("You pay $59.", price)
