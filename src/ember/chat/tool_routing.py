"""Which questions must start with a tool call (a pure decision).

Measured with Qwen2.5-Coder-0.5B (`ember bench quality`, docs/tools.md): allowed to
choose (``auto``), it answers weekday questions from memory, and wrongly, in under a
second; made to call a tool first (``required``), it gets them right. So a question that
asks for something small models get wrong (arithmetic, counting letters, dates, unit
conversions) starts with a required tool call; anything else stays ``auto``. The
patterns describe how people ask, not the benchmark's templates.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import replace

from ember.chat.types import ChatRequest, ToolChoice, last_question

_NUMBER = r"\d[\d,]*(?:\.\d+)?"
_ARITHMETIC = re.compile(
    rf"{_NUMBER}\s*(?:[-+*/×÷^x]|\*\*)\s*\(?\s*{_NUMBER}"
    rf"|{_NUMBER}\s*%\s*of\b"
    r"|\b(?:plus|minus|times|multiplied|divided|divide|multiply|subtract|add|sum|product"
    r"|percent|percentage|square root|sqrt|squared|cubed|average|calculate|compute)\b",
    re.IGNORECASE,
)
_LETTERS = re.compile(
    r"\b(?:letters?|characters?|vowels?|consonants?|occurrences?|occur|spell(?:ed|ing)?)\b"
    r"|how many [a-z]'?s\b|how often\b.{0,20}\bappears?\b",
    re.IGNORECASE,
)
_WEEKDAYS = r"monday|tuesday|wednesday|thursday|friday|saturday|sunday"
_DATES = re.compile(
    rf"\b(?:{_WEEKDAYS})\b|\bweekday\b|day of the week|what day\b|\bwhat(?:'s| is) the date\b"
    r"|\d{4}-\d{1,2}-\d{1,2}"
    r"|\b(?:days?|weeks?|months?|years?)\b.{0,40}\b(?:between|until|till|since|from|after"
    r"|before|ago|from now)\b",
    re.IGNORECASE,
)
_UNIT = (
    r"km|kilomet(?:er|re)s?|miles?|met(?:er|re)s?|feet|foot|ft|inch(?:es)?|cm|centimet(?:er|re)s?"
    r"|mm|millimet(?:er|re)s?|yards?|kg|kilograms?|grams?|pounds?|lbs?|ounces?|oz|stones?"
    r"|lit(?:er|re)s?|gallons?|pints?|cups?|ml|milliliters?|celsius|fahrenheit|kelvin"
    r"|°[cf]|mph|km/h|knots?|hours?|minutes?|seconds?|acres?|hectares?"
)
_QUALIFIER = r"(?:(?:us|uk|imperial|metric|degrees?|square|cubic|fluid)\s+)?"
_UNITS = re.compile(
    rf"\b(?:convert|conversion)\b.{{0,60}}\b(?:{_UNIT})\b"
    rf"|{_NUMBER}\s*{_QUALIFIER}(?:{_UNIT})\b.{{0,40}}\b(?:in|to|into|as)\s+"
    rf"{_QUALIFIER}(?:{_UNIT})\b"
    rf"|\bhow many {_QUALIFIER}(?:{_UNIT})\b.{{0,40}}{_NUMBER}",
    re.IGNORECASE,
)
_DIGIT = re.compile(r"\d")
# A word problem: two or more numbers and a question about an amount. Measured with
# Qwen2.5-Coder-0.5B on realistic questions: left to choose, it called the calculator,
# then called it again instead of answering.
_TWO_NUMBERS = re.compile(rf"{_NUMBER}\D+{_NUMBER}")
_AMOUNT_QUESTION = re.compile(
    r"\bhow (?:many|much|far|long|old|often)\b|\beach\b|\bleft\b|\bremain|\bchange\b"
    r"|\b(?:cost|costs|pay|owe|total|price|share|split|tip|tax|discount|off)\b",
    re.IGNORECASE,
)


def needs_tool(question: str) -> bool:
    """Whether ``question`` asks for arithmetic, letter counting, dates or a unit
    conversion."""
    if _LETTERS.search(question) or _DATES.search(question) or _UNITS.search(question):
        return True
    if _TWO_NUMBERS.search(question) and _AMOUNT_QUESTION.search(question):
        return True
    return bool(_DIGIT.search(question) and _ARITHMETIC.search(question))


_ISO = r"\d{4}-\d{1,2}-\d{1,2}"
_OFFSET = re.compile(
    rf"\b\d+\s+days?\b.{{0,60}}{_ISO}|{_ISO}.{{0,60}}\b\d+\s+days?\b", re.IGNORECASE
)
_BETWEEN = re.compile(rf"\bdays?\b.{{0,30}}\bbetween\b.{{0,20}}{_ISO}.{{0,20}}{_ISO}", re.I)


def named_tool(question: str) -> str | None:
    """The one tool a date question needs, when its shape says so. Measured with
    Qwen2.5-Coder-0.5B: asked "what date is 44 days after 2027-04-02", it called
    days_between with the end date "2027-04-44"; made to call add_days, it is right."""
    if _BETWEEN.search(question) or len(re.findall(_ISO, question)) >= 2:
        return "days_between"
    if _OFFSET.search(question):
        return "add_days"
    return None


def first_step_choice(
    question: str, asked: ToolChoice, available: Collection[str] = ()
) -> ToolChoice:
    """The first step's tool choice: ``required`` for such a question when the caller
    left the choice to the model (``auto``) — the very tool when the question's shape
    names one and it is ``available`` — otherwise what was asked."""
    if asked != "auto" or not needs_tool(question):
        return asked
    tool = named_tool(question)
    return tool if tool is not None and tool in available else "required"


def routed(request: ChatRequest, available: Collection[str] = ()) -> ChatRequest:
    """``request`` with its first step's tool choice decided by its last user message
    (``available``: the names of the tools on offer)."""
    question = last_question(request.messages)
    choice = first_step_choice(question, request.tool_choice, available)
    return request if choice == request.tool_choice else replace(request, tool_choice=choice)


_PART_END = re.compile(r"(?<=\?)\s+|\n+")
_LEADING_JOINER = re.compile(r"^(?:and|also|plus|then|second question)\b[,:]?\s*", re.IGNORECASE)


def question_parts(question: str) -> list[str]:
    """The questions in one message ("How many r's in strawberry? And what is 4821 * 37?"
    -> two), each without its joining word; one part when there is one question."""
    parts = [_LEADING_JOINER.sub("", p.strip()) for p in _PART_END.split(question)]
    parts = [p[0].upper() + p[1:] for p in parts if p]
    return parts or [question]


def tool_parts(request: ChatRequest) -> list[str]:
    """The parts of the last user message that each need a tool, when there are two or
    more of them (each is then computed on its own, then answered together); else []."""
    question = last_question(request.messages)
    parts = [p for p in question_parts(question) if needs_tool(p)]
    return parts if len(parts) >= 2 else []


def part_choice(part: str, available: Collection[str]) -> ToolChoice:
    """The forced call of one part of a many-question message."""
    tool = named_tool(part)
    return tool if tool is not None and tool in available else "required"
