"""``scan(text)``: every protected value in a text, overlaps resolved.

The detectors are built on first use (their libraries' imports cost ~0.1 s, which
``import ember.privacy`` should not), then kept: they hold compiled patterns and no
state, so one set serves every request and thread.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from typing import Protocol

from ember.privacy.findings import Finding, resolve


class Detector(Protocol):
    """Finds values of some kinds in a text. ``find`` may yield overlapping findings."""

    name: str
    kinds: frozenset[str]

    def find(self, text: str) -> Iterator[Finding]: ...


@lru_cache(maxsize=1)
def default_detectors() -> tuple[Detector, ...]:
    """The detectors `ember bench privacy` measured (docs/privacy.md)."""
    from ember.privacy.contact import EmailDetector, PhoneDetector
    from ember.privacy.credentials import AssignmentDetector, EntropyDetector
    from ember.privacy.national_ids import NationalIdDetector
    from ember.privacy.numbers import CardDetector, IbanDetector
    from ember.privacy.tokens import TokenDetector

    return (
        TokenDetector(),
        AssignmentDetector(),
        EntropyDetector(),
        EmailDetector(),
        PhoneDetector(),
        CardDetector(),
        IbanDetector(),
        NationalIdDetector(),
    )


def scan(text: str, detectors: Sequence[Detector] | None = None) -> list[Finding]:
    """The protected values in ``text``, in order, none overlapping another."""
    return resolve(find_all(text, detectors))


def find_all(text: str, detectors: Iterable[Detector] | None = None) -> Iterator[Finding]:
    """Every detector's findings, overlaps and all (what the benchmark scores one by one)."""
    for detector in default_detectors() if detectors is None else detectors:
        yield from detector.find(text)
