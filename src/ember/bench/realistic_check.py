"""Strict scoring of realistic answers: every value right, and the reply in words.

A reply is right only when it is prose for the person who asked — not a tool transcript
(``calculator(expression='6 * 12 - 9') = 63``), not a JSON call, not "The tools gave no
result" — and it states every expected value. A right value inside a transcript is a
wrong answer. Dates count in ISO form (2027-05-16) or written out (May 16, 2027;
16 May 2027); numbers with or without thousands separators, within the item's tolerance.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from ember.bench.realistic_items import Expected, RealisticItem

_NUMBER = re.compile(r"(?<![\d.])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_MONTHS = (
    "january", "february", "march", "april", "may", "june", "july", "august",
    "september", "october", "november", "december",
)  # fmt: skip
_MONTH = "|".join(_MONTHS)
_WRITTEN_MDY = re.compile(rf"\b({_MONTH})\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", re.I)
_WRITTEN_DMY = re.compile(
    rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH}),?\s+(\d{{4}})\b", re.I
)
# What a reply that is not prose looks like.
_TRANSCRIPT = re.compile(r"\b[a-z_]+\([^()]*=[^()]*\)\s*=")  # name(arg=value) = result
_JSON_CALL = re.compile(r"\{\s*\"(?:name|function|arguments)\"\s*:")
_TOOL_TAG = re.compile(r"</?tool_call>")
_NO_RESULT = re.compile(r"the tools gave no result", re.I)


@dataclass(frozen=True)
class RealisticVerdict:
    correct: bool
    prose: bool
    found: tuple[bool, ...]  # per expected value
    why: str  # "" when correct


def not_prose(reply: str) -> str:
    """Why ``reply`` is not an answer in words, or ''."""
    text = reply.strip()
    if not text:
        return "empty"
    if _JSON_CALL.search(text) or text.startswith("{"):
        return "a JSON call"
    if _TOOL_TAG.search(text):
        return "a tool-call tag"
    if _TRANSCRIPT.search(text):
        return "a tool transcript"
    if _NO_RESULT.search(text):
        return "no result"
    return ""


def _numbers(text: str) -> list[float]:
    out = []
    for match in _NUMBER.finditer(text.replace("$", " ")):
        try:
            out.append(float(match.group(0).replace(",", "")))
        except ValueError:
            continue
    return out


def _dates(text: str) -> set[str]:
    found = set()
    for y, m, d in _ISO_DATE.findall(text):
        found.add(_iso(int(y), int(m), int(d)))
    for month, d, y in _WRITTEN_MDY.findall(text):
        found.add(_iso(int(y), _MONTHS.index(month.lower()) + 1, int(d)))
    for d, month, y in _WRITTEN_DMY.findall(text):
        found.add(_iso(int(y), _MONTHS.index(month.lower()) + 1, int(d)))
    return found


def _iso(year: int, month: int, day: int) -> str:
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return ""


def states(reply: str, expected: Expected) -> bool:
    """Whether ``reply`` states the expected value."""
    if expected.kind == "date":
        return expected.value in _dates(reply)
    if expected.kind == "weekday":
        return re.search(rf"\b{expected.value}\b", reply, re.I) is not None
    target = float(expected.value)
    return any(abs(n - target) <= expected.tolerance + 1e-9 for n in _numbers(reply))


def check_realistic(item: RealisticItem, reply: str) -> RealisticVerdict:
    why = not_prose(reply)
    found = tuple(states(reply, e) for e in item.expected)
    if not why and not all(found):
        missing = [e.value for e, ok in zip(item.expected, found, strict=True) if not ok]
        why = "missing " + ", ".join(missing)
    return RealisticVerdict(correct=not why, prose=not not_prose(reply), found=found, why=why)
