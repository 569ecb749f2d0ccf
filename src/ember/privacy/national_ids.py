"""National identity numbers, each confirmed by python-stdnum's validator for it.

A number whose written form says what it is (``123-45-6789``, a codice fiscale, a
French NIR with its key) is taken wherever it stands. A number that is only digits —
a Dutch BSN, an Aadhaar, a Canadian SIN, an NHS number, an unformatted SSN — passes
a checksum about one time in ten by chance, so it is taken only after a word that names
it ("BSN", "Aadhaar", "social security", "ID number"…), as Presidio's context words do.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from stdnum.br import cpf
from stdnum.ca import sin
from stdnum.es import dni, nie
from stdnum.fr import nir
from stdnum.gb import nhs
from stdnum.in_ import aadhaar
from stdnum.it import codicefiscale
from stdnum.nl import bsn
from stdnum.us import ssn

from ember.privacy.findings import Finding

_ANY_ID = r"national id|id number|identity number|identification number|personal number|id no"


def _words(extra: str) -> re.Pattern[str]:
    return re.compile(rf"(?i)\b(?:{extra}|{_ANY_ID})\b[^\n\d]{{0,30}}$")


@dataclass(frozen=True)
class IdFormat:
    """One written form of one national number."""

    name: str
    pattern: re.Pattern[str]
    is_valid: Callable[[str], bool]
    context: re.Pattern[str] | None = None  # None: the form alone is enough


def _p(body: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w\-.]){body}(?![\w\-]|\.\d)")


FORMATS: tuple[IdFormat, ...] = (
    IdFormat("us.ssn", _p(r"\d{3}-\d{2}-\d{4}"), ssn.is_valid),
    IdFormat(
        "us.ssn",
        _p(r"\d{3} ?\d{2} ?\d{4}"),
        ssn.is_valid,
        _words(r"ssn|social security(?: number| no)?|soc\.? ?sec"),
    ),
    IdFormat("br.cpf", _p(r"\d{3}\.\d{3}\.\d{3}-\d{2}"), cpf.is_valid),
    IdFormat("br.cpf", _p(r"\d{11}"), cpf.is_valid, _words("cpf")),
    IdFormat("es.dni", _p(r"\d{8}-?[A-Z]"), dni.is_valid),
    IdFormat("es.nie", _p(r"[XYZ]-?\d{7}-?[A-Z]"), nie.is_valid),
    IdFormat(
        "it.codicefiscale", _p(r"[A-Z]{6}\d{2}[A-Z]\d{2}[A-Z]\d{3}[A-Z]"), codicefiscale.is_valid
    ),
    IdFormat(
        "fr.nir",
        _p(r"[12] ?\d{2} ?\d{2} ?(?:\d{2}|2[AB]) ?\d{3} ?\d{3} ?\d{2}"),
        nir.is_valid,
    ),
    IdFormat(
        "nl.bsn",
        _p(r"\d{4}\.?\d{2}\.?\d{3}|\d{9}"),
        bsn.is_valid,
        _words("bsn|burgerservicenummer|sofi(?:nummer)?"),
    ),
    IdFormat(
        "ca.sin",
        _p(r"\d{3}[ \-]?\d{3}[ \-]?\d{3}"),
        sin.is_valid,
        _words(r"sin|social insurance(?: number)?|nas"),
    ),
    IdFormat(
        "in.aadhaar",
        _p(r"\d{4} ?\d{4} ?\d{4}"),
        aadhaar.is_valid,
        _words("aadhaar|aadhar|uidai|uid"),
    ),
    IdFormat("gb.nhs", _p(r"\d{3}[ \-]?\d{3}[ \-]?\d{4}"), nhs.is_valid, _words("nhs")),
)


class NationalIdDetector:
    """US SSN, UK NHS, Spanish DNI/NIE, Italian codice fiscale, French NIR, Dutch BSN,
    Canadian SIN, Indian Aadhaar and Brazilian CPF numbers."""

    name = "stdnum:national-id"
    kinds = frozenset({"pii.national_id"})

    def __init__(self, formats: tuple[IdFormat, ...] = FORMATS) -> None:
        self.formats = formats

    def find(self, text: str) -> Iterator[Finding]:
        if not any(c.isdigit() for c in text):
            return
        for f in self.formats:
            for m in f.pattern.finditer(text):
                if f.context is not None and not f.context.search(
                    text, max(0, m.start() - 60), m.start()
                ):
                    continue
                if f.is_valid(m.group()):
                    yield Finding(m.start(), m.end(), "pii.national_id", f"stdnum:{f.name}")
