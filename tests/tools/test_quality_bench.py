"""The quality benchmark's items and its strict checker (no model needed)."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter

import pytest

from ember.bench.quality import ItemOutcome, RunOptions, render_text, report, run_record, summarize
from ember.bench.quality_check import check, extract
from ember.bench.quality_items import FAMILIES, WORDS, QualityItem, generate
from ember.tools.builtin.calculator import calculator
from ember.tools.builtin.units import convert_units


def test_items_are_fixed_by_the_seed_and_varied() -> None:
    items = generate()
    assert items == generate()
    assert items != generate(seed=1)
    counts = Counter(i.family for i in items)
    assert set(counts) == set(FAMILIES)
    assert min(counts.values()) >= 50
    assert len({i.question for i in items}) == len(items)
    for family in FAMILIES:  # several phrasings per family
        openings = {i.question.split()[0] for i in items if i.family == family}
        assert len(openings) >= 3, family


def test_arithmetic_answers_agree_with_the_calculator() -> None:
    checked = 0
    for item in generate(families=("arithmetic",)):
        if item.question.startswith("What is") and item.question.endswith("?"):
            assert calculator(item.question[len("What is ") : -1]) == item.answer, item.question
            checked += 1
    assert checked >= 20


def test_letter_answers_and_words() -> None:
    assert len(WORDS) >= 100
    for item in generate(families=("letters",)):
        words = [w for w in re.findall(r"[a-z]+", item.question) if w in WORDS]
        letters = re.findall(r"\b([a-zA-Z])\b", item.question)
        assert words, item.question
        assert int(item.answer) == words[-1].count(letters[0].lower()), item.question


def test_date_answers() -> None:
    for item in generate(families=("dates",)):
        found = re.findall(r"\d{4}-\d{2}-\d{2}|[A-Z][a-z]+ \d{1,2}, \d{4}", item.question)
        days = [
            dt.date.fromisoformat(d) if "-" in d else dt.datetime.strptime(d, "%B %d, %Y").date()
            for d in found
        ]
        if item.kind == "weekday":
            assert days[0].strftime("%A") == item.answer
        else:
            assert str((days[1] - days[0]).days) == item.answer


def test_unit_answers_agree_with_pint() -> None:
    names = {"degrees Celsius": "degC", "degrees Fahrenheit": "degF", "US gallons": "gallon"}
    checked = 0
    for item in generate(families=("units",)):
        match = re.fullmatch(r"Convert ([\d.]+) (.+?) to (.+?)\. Round.*", item.question)
        if match is None:
            continue
        value, source, target = match.groups()
        got = convert_units(float(value), names.get(source, source), names.get(target, target))
        assert abs(float(got.split()[0]) - float(item.answer)) <= 0.006, item.question
        checked += 1
    assert checked >= 10


NUMBER = QualityItem("t-1", "arithmetic", "q", "391")
UNIT = QualityItem("t-2", "units", "q", "8.05", tolerance=0.01)
DAY = QualityItem("t-3", "dates", "q", "Tuesday", kind="weekday")


@pytest.mark.parametrize(
    ("item", "reply", "correct", "via"),
    [
        (NUMBER, "17 × 23 = 391.\nAnswer: 391", True, "answer-line"),
        (NUMBER, "Answer: **391**", True, "answer-line"),
        (NUMBER, "The answer is: 391", True, "answer-line"),
        (NUMBER, "It is 391", True, "last-value"),
        (NUMBER, "391 or maybe 392", False, "last-value"),
        (NUMBER, "Answer: 392. (391 was wrong)", False, "answer-line"),
        (NUMBER, "Answer: 391\nAnswer: 390", False, "answer-line"),
        (NUMBER, "I do not know", False, "none"),
        (NUMBER, "Answer: 3910", False, "answer-line"),
        (QualityItem("t", "arithmetic", "q", "1234567"), "Answer: 1,234,567", True, "answer-line"),
        (UNIT, "Answer: 8.0467 km", True, "answer-line"),
        (UNIT, "Answer: 8.03", False, "answer-line"),
        (DAY, "It was a Tuesday.\nAnswer: Tuesday", True, "answer-line"),
        (DAY, "Monday? No: tuesday", True, "last-value"),
        (DAY, "Tuesday or Wednesday", False, "last-value"),
    ],
)
def test_checking_is_strict(item: QualityItem, reply: str, correct: bool, via: str) -> None:
    verdict = check(item, reply)
    assert (verdict.correct, verdict.via) == (correct, via)


def test_extract_negative_numbers() -> None:
    assert extract("Answer: -42", "number") == ("-42", "answer-line")


def test_summary_and_text_report() -> None:
    outcomes = [
        ItemOutcome("arithmetic-001", "arithmetic", "q", "1", "Answer: 1", "1", "answer-line",
                    True, 1.0, calls=[{"name": "calculator"}]),
        ItemOutcome("units-001", "units", "q", "2", "3", "3", "last-value", False, 2.0),
    ]  # fmt: skip
    summary = summarize(outcomes)
    assert summary["all"]["accuracy"] == 0.5
    assert summary["arithmetic"]["with_tool_call"] == 1.0
    assert "letters" not in summary
    data = report([run_record("m", "tools", outcomes)], seed=1, per_family=1,
                  options=RunOptions())  # fmt: skip
    text = render_text(data)
    assert "m" in text
    assert "1/1  100%" in text
