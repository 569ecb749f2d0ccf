"""A request's texts made safe to leave: each protected value replaced by a stable
placeholder, or the request refused when the policy blocks something in it.

All texts of one request (system prompt, history, tool results, retrieved passages)
are redacted together, so one value gets one placeholder wherever it appears — also
where no detector would have seen it on its own (a password found in ``password = …``
and repeated later in a sentence). The values stay in the returned `Placeholders`,
in memory; nothing here logs or stores them, and no ``repr`` shows them.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from ember.privacy.findings import Finding
from ember.privacy.placeholders import PLACEHOLDER, Placeholders, label, placeholder
from ember.privacy.policy import Action, Policy
from ember.privacy.restore import StreamRestorer, restore
from ember.privacy.scanner import Detector, scan

# A value found once is replaced wherever else it stands, unless it is so short that it
# would also match inside ordinary words.
_MIN_REPEAT = 4


@dataclass(frozen=True, eq=False)
class Block:
    """Why a request was not sent: what was found (kinds and counts, never values)."""

    counts: Mapping[str, int]  # every kind found in the request -> how many times
    kinds: tuple[str, ...]  # the kinds that block it
    reasons: tuple[str, ...]  # one sentence per blocking kind

    def __str__(self) -> str:
        found = ", ".join(f"{n} × {kind}" for kind, n in sorted(self.counts.items()))
        return f"not sent: found {found}; " + "; ".join(self.reasons)


@dataclass(frozen=True, eq=False)
class Redaction:
    """The request's texts with placeholders (empty when blocked), what was replaced
    (kind -> distinct values), and the placeholders' values for the reply."""

    texts: tuple[str, ...]
    counts: Mapping[str, int]
    placeholders: Placeholders = field(default_factory=Placeholders, repr=False)
    block: Block | None = None

    @property
    def blocked(self) -> bool:
        return self.block is not None

    def restore(self, reply: str) -> str:
        """``reply`` with the values back in place of the request's placeholders."""
        return restore(reply, self.placeholders)

    def restorer(self) -> StreamRestorer:
        """A restorer for this request's streamed reply."""
        return StreamRestorer(self.placeholders)


def redact(
    texts: Sequence[str],
    policy: Policy | None = None,
    detectors: Sequence[Detector] | None = None,
) -> Redaction:
    """Redact every text of one request under ``policy`` (the defaults if None)."""
    policy = policy or Policy()
    found = [scan(text, detectors) for text in texts]
    every = [f for fs in found for f in fs]
    blocking = sorted({f.kind for f in every if policy.action(f.kind) is Action.BLOCK})
    if blocking:
        counts = MappingProxyType(dict(Counter(f.kind for f in every)))
        reasons = tuple(f"{kind}: {policy.reason(kind)}" for kind in blocking)
        return Redaction((), counts, block=Block(counts, tuple(blocking), reasons))
    chosen = [[f for f in fs if policy.action(f.kind) is Action.REDACT] for fs in found]
    names = _name_values(texts, chosen)
    sweep = _sweep_pattern(names)
    out = tuple(_rewrite(text, fs, names, sweep) for text, fs in zip(texts, chosen, strict=True))
    replaced = Counter(kind for _, kind in names.values())
    return Redaction(
        out,
        MappingProxyType(dict(replaced)),
        Placeholders({name: value for value, (name, _) in names.items()}),
    )


def _name_values(
    texts: Sequence[str], found: Sequence[Sequence[Finding]]
) -> dict[str, tuple[str, str]]:
    """value -> (placeholder, kind), numbered per label in order of first appearance,
    skipping any placeholder the texts already contain as typed."""
    taken = {m.group() for text in texts for m in PLACEHOLDER.finditer(text)}
    numbers: Counter[str] = Counter()
    names: dict[str, tuple[str, str]] = {}
    for text, fs in zip(texts, found, strict=True):
        for f in fs:
            value = text[f.start : f.end]
            if value in names:
                continue
            while True:
                numbers[label(f.kind)] += 1
                name = placeholder(f.kind, numbers[label(f.kind)])
                if name not in taken:
                    break
            names[value] = (name, f.kind)
    return names


def _sweep_pattern(names: Mapping[str, tuple[str, str]]) -> re.Pattern[str] | None:
    """One pattern for every known value, longest first, not inside a longer word."""
    values = sorted((v for v in names if len(v) >= _MIN_REPEAT), key=len, reverse=True)
    if not values:
        return None
    alternatives = "|".join(re.escape(v) for v in values)
    return re.compile(rf"(?<![A-Za-z0-9])(?:{alternatives})(?![A-Za-z0-9])")


def _rewrite(
    text: str,
    found: Sequence[Finding],
    names: Mapping[str, tuple[str, str]],
    sweep: re.Pattern[str] | None,
) -> str:
    """``text`` with its findings replaced at their places and known values elsewhere."""

    def swept(part: str) -> str:
        if sweep is None:
            return part
        return sweep.sub(lambda m: names[m.group()][0], part)

    pieces: list[str] = []
    at = 0
    for f in found:
        pieces.append(swept(text[at : f.start]))
        pieces.append(names[text[f.start : f.end]][0])
        at = f.end
    pieces.append(swept(text[at:]))
    return "".join(pieces)
