"""Text, dates and units: exact answers and clear errors for bad input."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from ember.tools import builtin_registry
from ember.tools.builtin.dates import add_days, days_between, make_today, weekday
from ember.tools.builtin.text import (
    count_letter,
    count_substring,
    count_words,
    find_positions,
    reverse_text,
    text_length,
)
from ember.tools.builtin.units import convert_units
from ember.tools.registry import ToolError


def test_letters_are_counted_case_insensitively_by_default() -> None:
    assert count_letter("strawberry", "r") == 3
    assert count_letter("Mississippi", "S") == 4
    assert count_letter("Mississippi", "m", case_sensitive=True) == 0
    assert count_letter("naïve café", "é") == 1
    assert count_letter("", "a") == 0
    with pytest.raises(ToolError, match="one character"):
        count_letter("banana", "an")
    with pytest.raises(ToolError, match="one character"):
        count_letter("banana", "")


def test_substrings_and_words() -> None:
    assert count_substring("banana", "ana") == 2  # overlapping
    assert count_substring("Banana", "BA") == 1
    with pytest.raises(ToolError, match="empty"):
        count_substring("x", "")
    assert count_words("The cat saw the other cat; the end.") == 8
    assert count_words("The cat saw the other cat; the end.", "the") == 3
    assert count_words("The cat saw the other cat", "The", case_sensitive=True) == 1
    assert count_words("concatenate the cat", "cat") == 1  # whole words only
    with pytest.raises(ToolError, match="single word"):
        count_words("a b", "two words")


def test_length_reverse_positions() -> None:
    assert text_length("hello world") == 11
    assert text_length("hello world", count_spaces=False) == 10
    assert reverse_text("stressed") == "desserts"
    assert find_positions("strawberry", "r") == "3, 8, 9"
    assert find_positions("Banana", "b") == "1"
    assert find_positions("banana", "z") == "'z' does not occur in the text"


def test_dates() -> None:
    assert days_between("2024-01-01", "2024-03-01") == 60  # a leap year
    assert days_between("March 1, 2024", "2024-01-01") == -60
    assert days_between("14 March 2023", "2023/03/15") == 1
    assert add_days("2024-02-27", 3) == "2024-03-01 (Friday)"
    assert add_days("2024-03-01", -1) == "2024-02-29 (Thursday)"
    assert weekday("1969-07-20") == "Sunday"
    assert weekday("Jul 4 1776") == "Thursday"


@pytest.mark.parametrize("bad", ["2024-13-01", "2023-02-29", "yesterday", "", "31/31/2020"])
def test_malformed_dates_are_clear_errors(bad: str) -> None:
    with pytest.raises(ToolError, match="as a date; write it as YYYY-MM-DD"):
        weekday(bad)


def test_date_overflow_is_a_clear_error() -> None:
    with pytest.raises(ToolError, match="out of range"):
        add_days("9999-12-31", 1)


def test_today_in_a_timezone_with_a_fixed_clock() -> None:
    def clock() -> dt.datetime:
        return dt.datetime(2024, 12, 31, 23, 30, tzinfo=dt.timezone.utc)

    today = make_today(clock)
    assert today("UTC") == "2024-12-31 (Tuesday) 23:30 UTC"
    assert today("Asia/Tokyo") == "2025-01-01 (Wednesday) 08:30 JST"
    with pytest.raises(ToolError, match="unknown timezone"):
        today("Mars/Olympus_Mons")


@pytest.mark.parametrize(
    ("value", "source", "target", "result"),
    [
        (5, "miles", "km", "8.04672 km"),
        (1, "pound", "kilogram", "0.45359237 kg"),
        (100, "fahrenheit", "celsius", "37.77777778 °C"),
        (0, "degC", "degF", "32 °F"),
        (300, "kelvin", "C", "26.85 °C"),
        (2, "hours", "seconds", "7200 s"),
        (100, "km/h", "mph", "62.13711922 mph"),
        (1, "US gallons", "liters", "3.785411784 l"),
        (3, "imperial gallons", "liter", "13.63827 l"),
    ],
)
def test_unit_conversions(value: float, source: str, target: str, result: str) -> None:
    assert convert_units(value, source, target) == result


def test_unit_errors() -> None:
    with pytest.raises(ToolError, match="unknown unit 'smoot'"):
        convert_units(1, "smoot", "m")
    with pytest.raises(ToolError, match="measure different things"):
        convert_units(1, "kg", "m")
    with pytest.raises(ToolError, match="cannot convert"):
        convert_units(1, "m +", "km")


def test_builtin_registry_contents() -> None:
    names = builtin_registry().names()
    assert names[:2] == ["calculator", "convert_units"]  # the number tools first
    assert {"today", "days_between", "add_days", "weekday", "count_letter"} <= set(names)
    assert "run_python" not in names  # code execution is off unless asked for
    assert "run_python" in builtin_registry(code=True).names()


def test_builtins_through_the_registry() -> None:
    registry = builtin_registry()
    result = asyncio.run(registry.call("calculator", '{"expression": "2**10**10"}'))
    assert result.is_error
    assert "too large" in result.content
    result = asyncio.run(registry.call("count_letter", {"text": "strawberry", "letter": "r"}))
    assert (result.content, result.is_error) == ("3", False)


def test_search_documents_tool() -> None:
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Hit:
        path: str
        text: str
        page: int | None

    class Library:
        def search(self, question: str) -> list[Hit]:
            return [Hit("/docs/a.pdf", f" about {question} ", 3)] if question != "none" else []

    registry = builtin_registry(documents=Library())
    found = asyncio.run(registry.call("search_documents", {"query": "leases"}))
    assert found.content == "[1] /docs/a.pdf, page 3\nabout leases"
    empty = asyncio.run(registry.call("search_documents", {"query": "none"}))
    assert "no passage" in empty.content
