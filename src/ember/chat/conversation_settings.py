"""What a conversation's ``settings`` may hold (a pure check).

Settings are stored as given (unknown keys too, for newer pages), so a wrong type would
otherwise surface only when the next answer starts. The known keys are checked when
they are saved: a clear 400 instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


def _number(low: float, high: float | None = None) -> Callable[[Any], bool]:
    def ok(value: Any) -> bool:
        return (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and value >= low
            and (high is None or value <= high)
        )

    return ok


def _whole(low: int) -> Callable[[Any], bool]:
    def ok(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value >= low

    return ok


def _flag(value: Any) -> bool:
    return isinstance(value, bool)


def _names(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v for v in value)


RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "temperature": (_number(0, 5), "a number from 0 to 5"),
    "top_p": (_number(0, 1), "a number from 0 to 1"),
    "min_p": (_number(0, 1), "a number from 0 to 1"),
    "top_k": (_whole(0), "a whole number of at least 0"),
    "repeat_penalty": (_number(0), "a number of at least 0"),
    "seed": (_whole(-(2**63)), "a whole number"),
    "max_tokens": (_whole(1), "a whole number of at least 1"),
    "num_ctx": (_whole(256), "a whole number of at least 256"),
    "tools": (_flag, "true or false"),
    "code_tool": (_flag, "true or false"),
    "collections": (_names, "a list of collection names"),
    "cloud_policy": (
        lambda v: v in ("local-only", "ask", "auto"),
        "local-only, ask or auto",
    ),
}


def settings_problem(settings: Mapping[str, Any] | None) -> str | None:
    """Why ``settings`` cannot be saved, or None. Null leaves a setting unset."""
    for key, value in (settings or {}).items():
        rule = RULES.get(key)
        if value is None or rule is None:
            continue
        ok, expected = rule
        if not ok(value):
            return f"{key} must be {expected}, or null"
    return None
