"""Presidio's pattern recognizers (no NLP engine) on `ember bench privacy`'s corpus.

The comparison behind docs/privacy.md's choice. Presidio is not an Ember dependency
(it requires spaCy), so this runs in a virtual environment of its own:

    python -m venv /tmp/presidio
    /tmp/presidio/bin/pip install presidio-analyzer faker python-stdnum rich
    /tmp/presidio/bin/python bench/privacy/compare_presidio.py > result.json

Every result counts, whatever its score: without an NLP engine nothing raises a score
by context words, and a phone number scores 0.4. DNS is refused in the process:
Presidio's EmailRecognizer asks tldextract, which fetches the public suffix list over
the network on first use (then falls back to the copy it ships).
"""

from __future__ import annotations

import json
import socket
import statistics
import sys
import time
from pathlib import Path
from typing import Any


def _refuse(*args: object, **kwargs: object) -> None:
    raise OSError("offline")


def main() -> None:
    socket.getaddrinfo = _refuse  # type: ignore[assignment]
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
    from ember.bench.privacy_bench import overall, per_kind
    from ember.bench.privacy_corpus import generate
    from ember.privacy.findings import Finding, resolve

    t = time.perf_counter()
    from presidio_analyzer import predefined_recognizers as pr

    import_s = time.perf_counter() - t
    kinds = {
        "EMAIL_ADDRESS": "pii.email", "PHONE_NUMBER": "pii.phone", "CREDIT_CARD": "pii.card",
        "IBAN_CODE": "pii.iban", "US_SSN": "pii.national_id", "UK_NHS": "pii.national_id",
        "ES_NIF": "pii.national_id", "ES_NIE": "pii.national_id",
        "IT_FISCAL_CODE": "pii.national_id", "IN_AADHAAR": "pii.national_id",
    }  # fmt: skip
    recognizers = [
        pr.EmailRecognizer(), pr.PhoneRecognizer(), pr.CreditCardRecognizer(),
        pr.IbanRecognizer(), pr.UsSsnRecognizer(), pr.NhsRecognizer(), pr.EsNifRecognizer(),
        pr.EsNieRecognizer(), pr.ItFiscalCodeRecognizer(), pr.InAadhaarRecognizer(),
    ]  # fmt: skip
    report: dict[str, Any] = {"import_s": round(import_s, 3)}
    for bank in ("tune", "heldout"):
        prompts = generate(1000, bank=bank)
        found, ms = [], []
        for p in prompts:
            t = time.perf_counter()
            fs = [
                Finding(r.start, r.end, kinds[r.entity_type], "presidio:" + r.entity_type)
                for rec in recognizers
                for r in rec.analyze(p.text, rec.supported_entities, None)
                if r.entity_type in kinds
            ]
            found.append(resolve(fs))
            ms.append((time.perf_counter() - t) * 1000)
        report[bank] = {
            "per_kind": {k: v for k, v in per_kind(prompts, found).items() if k.startswith("pii.")},
            "benign_flagged": overall(prompts, found)["benign_flagged"],
            "ms_median": round(statistics.median(ms), 3),
            "ms_p95": round(sorted(ms)[int(0.95 * len(ms))], 3),
        }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
