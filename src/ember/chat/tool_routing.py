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
from dataclasses import replace

from ember.chat.types import ChatRequest, ToolChoice

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


def needs_tool(question: str) -> bool:
    """Whether ``question`` asks for arithmetic, letter counting, dates or a unit
    conversion."""
    if _LETTERS.search(question) or _DATES.search(question) or _UNITS.search(question):
        return True
    return bool(_DIGIT.search(question) and _ARITHMETIC.search(question))


def first_step_choice(question: str, asked: ToolChoice) -> ToolChoice:
    """The first step's tool choice: ``required`` for such a question when the caller
    left the choice to the model (``auto``), otherwise what was asked."""
    return "required" if asked == "auto" and needs_tool(question) else asked


def routed(request: ChatRequest) -> ChatRequest:
    """``request`` with its first step's tool choice decided by its last user message."""
    question = next((m.content for m in reversed(request.messages) if m.role == "user"), "")
    choice = first_step_choice(question, request.tool_choice)
    return request if choice == request.tool_choice else replace(request, tool_choice=choice)
