"""Payment card numbers and IBANs, each confirmed by its check digits (python-stdnum):
a card number passes Luhn and starts with an issuer's prefix, an IBAN passes ISO 7064
mod 97-10 and has its country's length and layout. A digit run that merely looks like
one — an order number, a phone number, a timestamp — fails the check nine times in ten
(card) or ninety-six in ninety-seven (IBAN), and the prefix rules remove most of the rest.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from stdnum import iban, luhn

from ember.privacy.findings import Finding

# 12 to 19 digits, in groups separated by single spaces or dashes (as printed on cards).
_CARD = re.compile(r"(?<![\w\-])\d(?:[ \-]?\d){11,18}(?![\w\-])")
# Twelve digits is a Maestro card only after the word "card".
_CARD_WORD = re.compile(r"(?i)\bcard\b[^\n\d]{0,20}$")
# Issuer identification: card numbers start with 2 (Mastercard 2221-2720), 3 (American
# Express, Diners Club, JCB), 4 (Visa), 5 (Mastercard, Maestro) or 6 (Discover,
# UnionPay, Maestro), or JCB's older 1800 and 2131; other first digits start other
# kinds of account numbers.
_ISSUER = re.compile(r"2[2-7]|3[0-8]|4|5[0-8]|6|1800|2131")
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,30}(?![A-Za-z0-9])")


class CardDetector:
    """Payment card numbers (Luhn checksum and issuer prefix)."""

    name = "stdnum:luhn"
    kinds = frozenset({"pii.card"})

    def find(self, text: str) -> Iterator[Finding]:
        for m in _CARD.finditer(text):
            digits = re.sub(r"\D", "", m.group())
            if len(digits) == 12 and not _CARD_WORD.search(text, max(0, m.start() - 30), m.start()):
                continue
            if _ISSUER.match(digits) and _grouped_like_a_card(m.group()) and luhn.is_valid(digits):
                yield Finding(m.start(), m.end(), "pii.card", self.name)


def _grouped_like_a_card(raw: str) -> bool:
    """Separators, when there are any, are all the same character."""
    return len(set(re.sub(r"\d", "", raw))) <= 1


class IbanDetector:
    """International bank account numbers (country layout and mod 97 check)."""

    name = "stdnum:iban"
    kinds = frozenset({"pii.iban"})

    def find(self, text: str) -> Iterator[Finding]:
        for m in _IBAN.finditer(text):
            # The pattern may run into a following word in capitals: try shorter ends.
            raw = m.group()
            while raw:
                if iban.is_valid(raw):
                    yield Finding(m.start(), m.start() + len(raw), "pii.iban", self.name)
                    break
                cut = raw.rfind(" ")
                raw = raw[:cut] if cut > 4 else ""
