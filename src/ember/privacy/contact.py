"""E-mail addresses and phone numbers.

Phone numbers are Google's libphonenumber rules (the ``phonenumbers`` package, its
"lite" build without the geocoding data): a number is taken when it is valid in the
numbering plan of one of ``regions`` (any number written with ``+`` and its country
code is checked against its own country), and a number of a possible length is taken
when a phone word stands just before it ("call me on …"). Digits alone, with no ``+``,
space, dash or bracket (order ids, timestamps), need that word too.

No library finds e-mail addresses in free text (email-validator checks a string that
is one); Presidio itself uses a pattern. The pattern here is the common practical
subset of RFC 5322 with a dotted domain whose last label is letters.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from phonenumbers import Leniency, PhoneNumberMatcher

from ember.privacy.findings import Finding

_EMAIL = re.compile(
    r"(?<![\w.%+\-])[A-Za-z0-9_%+\-](?:[A-Za-z0-9._%+\-]{0,62}[A-Za-z0-9_%+\-])?"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w\-])"
)
# `scheme://user:password@host`: the part before @ is a credential (credentials.py),
# not a mailbox.
_IN_URL_AUTHORITY = re.compile(r"://[^\s/@]*$")
# Where numbering plans differ enough that a national number needs its own region:
# the locales Ember's users most often write in. `+CC` numbers need none.
DEFAULT_REGIONS: tuple[str, ...] = ("US", "GB", "DE", "FR", "ES", "IT", "NL", "IN", "BR", "AU")
# US numbers are written 555.123.4567; IPv4 addresses, decimals and ranges of decimals
# (0.60–0.65) have other dots.
_IP_OR_DECIMAL = re.compile(r"\d+(?:\.\d+){3}|\d+\.\d+(?:\s*[-–—~]\s*\d+\.\d+)?")
_ZIP_PLUS_4 = re.compile(r"\d{5}-\d{4}")
_ENOUGH_DIGITS = re.compile(r"(?:\d[^\d\n]{0,3}){7}")
_WORDS = (
    r"phone|call|tel|mobile|cell|fax|whatsapp|sms|text|ring|dial|number|reach|"
    r"hotline|téléphone|telefon|tlf|móvil|cellulare|contact"
)
_PHONE_WORDS = re.compile(rf"(?i)\b(?:{_WORDS})\w*\b[^\n\d+(]{{0,24}}$")
_PHONE_WORDS_ANYWHERE = re.compile(rf"(?i)\b(?:{_WORDS})")


class EmailDetector:
    """E-mail addresses."""

    name = "email-pattern"
    kinds = frozenset({"pii.email"})

    def find(self, text: str) -> Iterator[Finding]:
        if "@" not in text:
            return
        for m in _EMAIL.finditer(text):
            if _IN_URL_AUTHORITY.search(text, max(0, m.start() - 200), m.start()) is None:
                yield Finding(m.start(), m.end(), "pii.email", self.name)


class PhoneDetector:
    """Phone numbers in national and international formats (libphonenumber)."""

    name = "phonenumbers"
    kinds = frozenset({"pii.phone"})

    def __init__(self, regions: Sequence[str] = DEFAULT_REGIONS) -> None:
        self.regions = tuple(regions)

    def find(self, text: str) -> Iterator[Finding]:
        if _ENOUGH_DIGITS.search(text) is None:
            return
        seen: set[tuple[int, int]] = set()
        for region in self.regions:
            for m in PhoneNumberMatcher(text, region, leniency=Leniency.VALID):
                if (m.start, m.end) in seen or _not_a_phone(text, m.start, m.end, m.raw_string):
                    continue
                seen.add((m.start, m.end))
                yield Finding(m.start, m.end, "pii.phone", self.name)
        if _PHONE_WORDS_ANYWHERE.search(text) is None:
            return
        for m in PhoneNumberMatcher(text, self.regions[0], leniency=Leniency.POSSIBLE):
            if (m.start, m.end) in seen or not _after_phone_word(text, m.start):
                continue
            if _not_a_phone(text, m.start, m.end, m.raw_string):
                continue
            if sum(c.isdigit() for c in m.raw_string) >= 7:
                seen.add((m.start, m.end))
                yield Finding(m.start, m.end, "pii.phone", "phonenumbers+context")


def _not_a_phone(text: str, start: int, end: int, raw: str) -> bool:
    """Numbers libphonenumber accepts that are something else: digits alone (an order
    id, a timestamp), around a slash (a fraction) or shaped like a ZIP+4 code unless a
    phone word names them; never an IP address, a decimal, or a number that is part of
    a longer token (``INV-1998-77772``)."""
    if _IP_OR_DECIMAL.fullmatch(raw):
        return True
    before = text[start - 1] if start else " "
    after = text[end] if end < len(text) else " "
    if before.isalnum() or before in "-_/." or after.isalnum() or after in "_/":
        return True
    bare = raw.isdigit() or "/" in raw or _ZIP_PLUS_4.fullmatch(raw) is not None
    return bare and not _after_phone_word(text, start)


def _after_phone_word(text: str, start: int) -> bool:
    return _PHONE_WORDS.search(text, max(0, start - 40), start) is not None
