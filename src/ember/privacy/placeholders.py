"""Placeholders such as ``[EMAIL_1]``: their shape, their names, and the one object
that holds the values they stand for.

A placeholder reads as what it hides, so the cloud model can still reason about it
("send the invoice to [EMAIL_1]"), and is numbered per kind in order of first
appearance across the whole request. `Placeholders` keeps the values in memory only;
its ``repr`` and ``str`` name how many there are, never what they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

PLACEHOLDER = re.compile(r"\[[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*_[1-9]\d*\]")

_LABELS = {"secret.high_entropy": "SECRET"}


def label(kind: str) -> str:
    """``pii.email`` -> ``EMAIL``, ``secret.github_token`` -> ``GITHUB_TOKEN``."""
    return _LABELS.get(kind, kind.rsplit(".", 1)[-1].upper())


def placeholder(kind: str, number: int) -> str:
    return f"[{label(kind)}_{number}]"


class Placeholders(Mapping[str, str]):
    """Placeholder -> the value it replaced. Read-only; nothing in it is ever printed."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, str] | None = None) -> None:
        self._values = dict(values or {})

    def __getitem__(self, key: str) -> str:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Placeholders({len(self._values)} values hidden)"

    __str__ = __repr__

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("Placeholders stay in memory: they cannot be pickled")
