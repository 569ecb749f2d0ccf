"""A routed call checked against the words of the question (pure decisions).

A small model picks the right tool for a realistic question and then writes the wrong
arguments. Measured with Qwen2.5-Coder-0.5B on the realistic benchmark (docs/tools.md,
"Answers in words"), the mistakes that recur, and what each check does:

- change or what is left, written backwards: ``3 * 40 - 149`` = -29 for "3 tickets at $40,
  paid with $149": a subtraction that comes out negative where the question asks for an
  amount left over is the same subtraction the other way round (``149 - 3 * 40``);
- a discount or an increase applied as a share: ``469 * 0.60`` for "$469 after a 60%
  discount", ``108 + 12`` for "$108 goes up by 12%": when the question names one price,
  one percentage and which way the price moves, and asks for the new price, the call
  becomes the calculator's own percent notation (``469 - 60%``, ``108 + 12%``);
- the letter counted in the wrong text: count_letter(text="t's") for "How many t's are in
  the word committee?": the word the question names is the text;
- a date offset with the wrong size or sign: add_days(days=85) for "85 days before
  2026-10-13", add_days(days=-3) for "23 days earlier": the offset is the one number of
  days the question names, negative for before/earlier/ago.

- a share computed upside down: ``7 / 350`` for "7 of us share $350 evenly": a division
  of a smaller number by a larger one where the question splits an amount is the
  division the other way round;
- numbers that are not in the question: ``9 / 44 * 1044`` for "9 friends split $1044",
  ``1244 - 17`` for "12 packs of 44 pencils; 17 are gone" (:func:`call_problem`): the tool
  loop samples that step again. A number left out is not a problem: questions carry
  numbers that do not count ("a 2.5 kg bag costs $10; how much for 3 bags?").

Each check changes a call only when the question's words say unambiguously what was
meant; otherwise the model's call stands.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import replace
from fractions import Fraction
from typing import Any

from ember.chat.types import ToolCall
from ember.errors import EmberError
from ember.tools.builtin.calculator import evaluate

_LEFT_OVER = re.compile(
    r"\b(?:change|left|remain(?:s|ing)?|still have|have now|what's left|leftover)\b", re.I
)
_NUMBER = r"\d[\d,]*(?:\.\d+)?"
_PERCENT = re.compile(rf"({_NUMBER})\s*(?:%|percent\b|per cent\b)", re.I)
_MONEY_OR_NUMBER = re.compile(rf"(?<![\d.])({_NUMBER})(?![\d.]*\s*(?:%|percent|per cent))", re.I)
_DOWN = re.compile(
    r"\b(?:off|discount(?:ed)?|less|minus|cheaper|reduced|reduction|down by|drops?|"
    r"falls?|lower(?:ed)?|sale)\b",
    re.I,
)
_UP = re.compile(
    r"\b(?:plus|tax|vat|up by|goes up|rises?|rose|increase[sd]?|raised?|more|markup|"
    r"surcharge|add(?:ed)?|grows?|grew)\b",
    re.I,
)
# What the question asks for is the price after the change, not the change itself.
_NEW_AMOUNT = re.compile(
    r"\b(?:pay|new|now|after|total|comes? to|sale price|final|cost|price is|how much is"
    r"|get)\b",
    re.I,
)
_SHARE_ONLY = re.compile(
    r"\bhow much (?:do|would|will|did) (?:I|we|you) save\b|\bsavings?\b|\btip\b"
    r"|%\s*of\b|\bper ?cent of\b",
    re.I,
)
_NAMED_WORD = re.compile(
    r"\bin (?:the (?:word|name|phrase|sentence|text)\s+)?[\"'“‘]?([A-Za-z][\w' -]*?[A-Za-z])"
    r"[\"'”’]?\s*[?.!]?\s*$",
    re.I,
)


def checked_call(question: str, call: ToolCall) -> ToolCall:
    """``call`` as the question's words say it was meant (or unchanged)."""
    arguments = _arguments(call)
    if arguments is None:
        return call
    if call.name == "add_days" and isinstance(arguments.get("days"), int):
        days = _day_offset(question, arguments["days"])
        if days != arguments["days"]:
            return _with(call, arguments, days=days)
    if call.name == "calculator" and isinstance(arguments.get("expression"), str):
        expression = arguments["expression"]
        fixed = (
            _percent_change(question, expression)
            or _left_over(question, expression)
            or _share(question, expression)
        )
        if fixed is not None and fixed != expression:
            return _with(call, arguments, expression=fixed)
    if call.name == "count_letter" and isinstance(arguments.get("text"), str):
        text = _named_text(question, arguments["text"], arguments.get("letter"))
        if text is not None:
            return _with(call, arguments, text=text)
    return call


_BACKWARDS = re.compile(r"\b(?:before|earlier|prior|ago|back|previous)\b", re.IGNORECASE)
_DAY_COUNT = re.compile(r"\b(\d+)\s+days?\b", re.IGNORECASE)
_OTHER_SPANS = re.compile(r"\b(?:weeks?|fortnights?|months?|years?)\b", re.IGNORECASE)


def _day_offset(question: str, days: int) -> int:
    """The one number of days the question names, negative for before/earlier/ago."""
    named = {int(n) for n in _DAY_COUNT.findall(question)}
    other_units = _OTHER_SPANS.search(question)  # "2 weeks and 3 days": 17 is right
    size = named.pop() if len(named) == 1 and not other_units else abs(days)
    backwards = bool(_BACKWARDS.search(question)) or (days < 0 and size == abs(days))
    return -size if backwards else size


def _left_over(question: str, expression: str) -> str | None:
    """``a - b`` that comes out negative for a question about what is left over: ``b - a``."""
    if not _LEFT_OVER.search(question):
        return None
    try:
        tree = ast.parse(expression.strip(), mode="eval").body
        value = evaluate(expression)
    except (SyntaxError, ValueError, EmberError):
        return None
    if not isinstance(tree, ast.BinOp) or not isinstance(tree.op, ast.Sub) or value >= 0:
        return None
    return f"{ast.unparse(tree.right)} - {_grouped(tree.left)}"


_SPLIT = re.compile(r"\b(?:split|share[ds]?|shared|divide[ds]?|each|per person|apiece)\b", re.I)


def _share(question: str, expression: str) -> str | None:
    """``a / b`` with a < b where the question splits an amount among some: ``b / a``."""
    if not _SPLIT.search(question) or _PERCENT.search(question):
        return None
    try:
        tree = ast.parse(expression.strip(), mode="eval").body
        if not isinstance(tree, ast.BinOp) or not isinstance(tree.op, ast.Div):
            return None
        left, right = evaluate(ast.unparse(tree.left)), evaluate(ast.unparse(tree.right))
    except (SyntaxError, ValueError, EmberError):
        return None
    if not 0 < left < right:
        return None
    return f"{_grouped(tree.right)} / {_grouped(tree.left, strong=True)}"


_IMPLIED = re.compile(
    r"%|\bper ?cent|\b(?:half|halves|double|twice|triple|dozens?|quarters?|thirds?|pairs?"
    r"|minutes?|seconds?|weeks?|months?|years?|days?|hours? and|percent)\b",
    re.I,
)
_PLAIN_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?!\w|\.\d)")


def needless_call(question: str, call: ToolCall) -> bool:
    """A calculator call with not one digit in it for a question with none: no
    computation, the model reaching for a tool it was shown. Measured with
    Qwen2.5-Coder-0.5B, greedy: "What is the capital of France?" became
    ``calculator(expression="Paris")``, an error, and 8.4 s of a hidden second step
    before the answer's first word."""
    arguments = _arguments(call)
    expression = arguments.get("expression") if arguments else None
    return (
        call.name == "calculator"
        and isinstance(expression, str)
        and not _DIGIT.search(expression)
        and not _DIGIT.search(question)
    )


_DIGIT = re.compile(r"\d")


def call_problem(question: str, call: ToolCall) -> str | None:
    """Why a word problem's calculator call is not to be trusted, or None. Checked
    only where a question's numbers are all it needs: two or three numbers, none implied
    by words (half, dozen, minutes, a percentage)."""
    arguments = _arguments(call)
    expression = arguments.get("expression") if arguments else None
    if call.name != "calculator" or not isinstance(expression, str) or _IMPLIED.search(question):
        return None
    given = _numbers(question)
    if not 2 <= len(given) <= 3:
        return None
    used = _numbers(expression)
    invented = sorted(used - given - {Fraction(1), Fraction(100)})
    if not invented:
        return None
    numbers = ", ".join(_shown(n) for n in sorted(given))
    shown = ", ".join(_shown(n) for n in invented)
    return (
        f"not computed: {shown} {'is' if len(invented) == 1 else 'are'} not in the question. "
        f"The question's numbers are {numbers}; call the calculator again with an expression "
        "made of those numbers."
    )


_MONEY = re.compile(r"[$€£¥]")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")


def _numbers(text: str) -> set[Fraction]:
    plain = _THOUSANDS.sub("", _MONEY.sub("", text))
    return {Fraction(n) for n in _PLAIN_NUMBER.findall(plain)}


def _shown(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else str(float(value))


def _grouped(node: ast.expr, strong: bool = False) -> str:
    """``node`` as text, in parentheses where the operator around it binds tighter
    (``strong``: a divisor, where any operation needs them)."""
    text = ast.unparse(node)
    if isinstance(node, ast.BinOp) and (strong or isinstance(node.op, (ast.Add, ast.Sub))):
        return f"({text})"
    return text


def _percent_change(question: str, expression: str) -> str | None:
    """The new price for "one price, one percentage, one direction" questions."""
    percents = _PERCENT.findall(question)
    down, up = bool(_DOWN.search(question)), bool(_UP.search(question))
    if len(percents) != 1 or down == up or not _NEW_AMOUNT.search(question):
        return None
    if _SHARE_ONLY.search(question):
        return None
    without_percent = _PERCENT.sub(" ", question)
    amounts = [n for n in _MONEY_OR_NUMBER.findall(without_percent) if n.strip(",")]
    if len(amounts) != 1:
        return None
    price, rate = _plain(amounts[0]), _plain(percents[0])
    wanted = f"{price} {'-' if down else '+'} {rate}%"
    try:
        if Fraction(evaluate(expression)) == Fraction(evaluate(wanted)):
            return None  # the model's own expression is right: keep it as written
    except (EmberError, ValueError, ArithmeticError):
        pass
    return wanted


def _named_text(question: str, text: str, letter: object) -> str | None:
    """The word the question names, when the call counts in the letter itself
    (``t's``, ``t``) or in text that is not in the question at all."""
    match = _NAMED_WORD.search(question.strip())
    if not match:
        return None
    named = match.group(1).strip()
    stripped = text.strip().strip("\"'")
    letter_text = str(letter or "").lower()
    is_the_letter = stripped.lower() in (letter_text, f"{letter_text}'s", f"{letter_text}s")
    if stripped and not is_the_letter and stripped.lower() in question.lower():
        return None
    return named if named.lower() != stripped.lower() else None


def _plain(number: str) -> str:
    return number.replace(",", "")


def _arguments(call: ToolCall) -> dict[str, Any] | None:
    try:
        arguments = json.loads(call.arguments)
    except ValueError:
        return None
    return arguments if isinstance(arguments, dict) else None


def _with(call: ToolCall, arguments: dict[str, Any], **changed: Any) -> ToolCall:
    return replace(call, arguments=json.dumps({**arguments, **changed}))
