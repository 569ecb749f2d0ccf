"""Strict answer checking: the number must be the final answer, not merely appear.

The prompt asks for a last line ``Answer: <value>``. The checker reads the value of the
LAST ``Answer:`` line (its first number, or its weekday name); when a reply has no such
line it falls back to the last number (or last weekday name) in the whole reply. So
"17 × 23 = 391 … Answer: 391" passes, while "391 or maybe 392" fails (392 is last).
Numbers may use thousands separators ("1,234"); units answers pass within the item's
absolute tolerance (0.01: the value rounded to two decimals).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ember.bench.quality_items import QualityItem

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_ANSWER_RE = re.compile(r"answer\s*(?:is)?\s*[:=]\s*(.*)", re.IGNORECASE)
_NUMBER_RE = re.compile(r"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")
_WEEKDAY_RE = re.compile(r"\b(" + "|".join(WEEKDAYS) + r")\b", re.IGNORECASE)


@dataclass(frozen=True)
class Verdict:
    correct: bool
    extracted: str | None  # what the checker read as the answer
    via: str  # "answer-line" | "last-value" | "none"


def extract(text: str, kind: str) -> tuple[str | None, str]:
    """(the answer value, how it was found)."""
    pattern = _WEEKDAY_RE if kind == "weekday" else _NUMBER_RE
    cleaned = text.replace("**", "").replace("$", "")
    lines = [m.group(1) for m in _ANSWER_RE.finditer(cleaned)]
    if lines:
        found = pattern.search(lines[-1])
        if found:
            return found.group(0), "answer-line"
    values = pattern.findall(cleaned)
    if values:
        return values[-1], "last-value"
    return None, "none"


def check(item: QualityItem, text: str) -> Verdict:
    value, via = extract(text, item.kind)
    if value is None:
        return Verdict(False, None, via)
    if item.kind == "weekday":
        return Verdict(value.lower() == item.answer.lower(), value, via)
    try:
        number = float(value.replace(",", ""))
    except ValueError:
        return Verdict(False, value, via)
    expected = float(item.answer)
    return Verdict(abs(number - expected) <= item.tolerance + 1e-9, value, via)
