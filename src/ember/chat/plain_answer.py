"""The answer is prose for the person who asked (pure decisions of the tool loop).

Measured with Qwen2.5-Coder-0.5B on realistic questions: after its tool results it often
writes another call as text (``{"name": "multiply", ...}``), an empty reply, or nothing
usable, and the loop used to show its own transcript instead
(``calculator(expression='6 * 12 - 9') = 63``). Now: :func:`not_an_answer` recognises such
a reply; the loop then asks once more, without tools, with the results written out
(:func:`results_prompt`); only if that fails too is the answer a plain sentence built
from the results (:func:`results_sentence`), e.g. "6 * 12 - 9 = 63."
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, Protocol

from ember.chat.types import ToolCall

_TAG = re.compile(r"</?tool_call>|<\|python_tag\|>")
_CALL_SYNTAX = re.compile(r"^\s*[A-Za-z_][\w.]*\s*\((?:.|\n)*\)\s*[.;]?\s*$")
_JSON_START = re.compile(r'^[\[{]\s*[\[{]?\s*"[\w ]{1,30}"\s*:')  # cut off or not quite JSON
_FENCED_JSON = re.compile(r"^\s*```(?:json)?\s*[\[{](?:.|\n)*```\s*$")

ANSWER_FROM_RESULTS = (
    "Using these results, answer my question directly in one or two sentences. "
    "Do not write code, JSON or tool calls."
)
NO_ANSWER = "I could not work that out reliably; could you rephrase the question?"


class ResultLike(Protocol):
    @property
    def content(self) -> str: ...

    @property
    def is_error(self) -> bool: ...


class CallResult(Protocol):
    @property
    def call(self) -> ToolCall: ...

    @property
    def result(self) -> ResultLike: ...


def not_an_answer(text: str) -> str:
    """Why ``text`` is not an answer a person can read ("" when it is one): empty, a JSON
    object or list, a tool-call tag, a function call, a fenced JSON block."""
    stripped = text.strip()
    if not stripped:
        return "empty"
    if _TAG.search(stripped):
        return "a tool-call tag"
    if stripped[0] in "[{" and (_json_value(stripped) is not None or _JSON_START.match(stripped)):
        return "JSON"
    if _FENCED_JSON.match(stripped):
        return "JSON"
    if _CALL_SYNTAX.match(stripped) and "=" not in stripped.split("(", 1)[0]:
        return "a function call"
    return ""


def _json_value(text: str) -> Any:
    try:
        value, _ = json.JSONDecoder().raw_decode(text)
    except ValueError:
        return None
    return value


def arguments_of(call: ToolCall) -> dict[str, Any]:
    try:
        values = json.loads(call.arguments)
    except ValueError:
        return {}
    return values if isinstance(values, dict) else {}


def result_fact(item: CallResult) -> str:
    """One result in words a reader (and a small model) takes in at once."""
    args, result = arguments_of(item.call), item.result.content.strip()
    name = item.call.name
    if name == "calculator" and "expression" in args:
        return f"{args['expression']} = {result}"
    if name == "count_letter" and {"text", "letter"} <= set(args):
        return f'the letter "{args["letter"]}" appears {result} times in "{args["text"]}"'
    if name == "add_days" and {"date", "days"} <= set(args):
        return f"{args['days']} days after {args['date']} is {result}"
    if name == "days_between" and {"start", "end"} <= set(args):
        return f"from {args['start']} to {args['end']} is {result} days"
    if name == "weekday" and "date" in args:
        return f"{args['date']} is a {result}"
    if name == "convert_units" and {"value", "from_unit", "to_unit"} <= set(args):
        return f"{args['value']} {args['from_unit']} is {result}"
    values = ", ".join(str(v) for v in args.values())
    return f"the {name.replace('_', ' ')} of {values} is {result}" if values else result


def results_prompt(question: str, answered: Sequence[CallResult]) -> str:
    """The last try: the question, the results as facts, and what to do with them."""
    facts = [f"- {result_fact(r)}" for r in answered if not r.result.is_error]
    if not facts:
        return question
    return (
        f"{question}\n\nThese results were worked out exactly and are correct:\n"
        + "\n".join(facts)
        + f"\n\n{ANSWER_FROM_RESULTS}"
    )


def results_sentence(answered: Sequence[CallResult]) -> str:
    """The answer when the model wrote none: the results, stated plainly."""
    facts = [result_fact(r) for r in answered if not r.result.is_error]
    if not facts:
        return NO_ANSWER
    sentences = [f[0].upper() + f[1:] for f in facts]
    return " ".join(s if s.endswith(".") else s + "." for s in sentences)


def _value(result: str) -> str:
    """The value a reply must carry: "2027-05-16 (Sunday)" -> "2027-05-16"."""
    return result.strip().split(" (", 1)[0].strip()


def uncovered(text: str, answered: Sequence[CallResult]) -> list[CallResult]:
    """The successful results whose value the reply does not state (so the reader is not
    left without one: Qwen2.5-Coder-0.5B, given "3 * 40 - 149 = -29", explained how to
    find the change and never said it)."""
    plain = text.replace(",", "")
    return [
        r
        for r in answered
        if not r.result.is_error and not _stated(_value(r.result.content), plain)
    ]


def _stated(value: str, text: str) -> bool:
    """``value`` in ``text``, a number also when rounded ("67.13" for 67.13167076)."""
    value = value.replace(",", "").split()[0] if value.strip() else value
    if value in text:
        return True
    try:
        target = float(value)
    except ValueError:
        return False
    for match in re.finditer(r"-?\d+(?:\.(\d+))?", text):
        places = len(match.group(1) or "")
        if abs(float(match.group(0)) - target) <= 0.5 * 10**-places + 1e-9:
            return True
    return False
