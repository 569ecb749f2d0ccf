"""What a scan finds: a kind and a place in the text, never the value itself.

A `Finding` holds offsets only, so printing, logging or storing one can never leak
what it points at; the value is read from the text by whoever holds the text.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# How specific a kind is, for overlapping findings of equal length: a known token
# format says more than "a credential in an assignment", which says more than
# "a random-looking string where a key would go". Kinds not listed rank 2.
_RANK = {
    "secret.private_key": 6,
    "secret.password": 3,
    "secret.high_entropy": 1,
    "pii.national_id": 5,  # a checksum and a layout: stricter than Luhn alone
    "pii.card": 4,
    "pii.iban": 4,
    "pii.email": 3,
    "pii.phone": 1,
}
_TOKEN_RANK = 4  # secret.* formats recognised by their shape (secret.github_token, ...)


@dataclass(frozen=True, order=True)
class Finding:
    """One protected value: ``text[start:end]`` is of ``kind``, found by ``detector``."""

    start: int
    end: int
    kind: str
    detector: str

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end:
            raise ValueError(f"empty or negative span {self.start}:{self.end}")

    @property
    def category(self) -> str:
        """``secret`` or ``pii``: the part of the kind before the dot."""
        return self.kind.split(".", 1)[0]


def rank(kind: str) -> int:
    """How specific ``kind`` is (higher wins a tie between overlapping findings)."""
    if kind in _RANK:
        return _RANK[kind]
    return _TOKEN_RANK if kind.startswith("secret.") else 2


def resolve(findings: Iterable[Finding]) -> list[Finding]:
    """Non-overlapping findings in text order. Overlapping findings become one that
    covers them all (so no part of either value is left in the clear), named after the
    longest of them, the most specific kind breaking a tie."""
    out: list[Finding] = []
    group: list[Finding] = []
    end = -1
    for f in sorted(findings):
        if group and f.start >= end:
            out.append(_merge(group))
            group = []
        group.append(f)
        end = max(end, f.end) if len(group) > 1 else f.end
    if group:
        out.append(_merge(group))
    return out


def _merge(group: list[Finding]) -> Finding:
    best = max(group, key=lambda f: (f.end - f.start, rank(f.kind), -f.start))
    start = min(f.start for f in group)
    end = max(f.end for f in group)
    return Finding(start, end, best.kind, best.detector)
