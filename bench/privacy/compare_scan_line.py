"""detect-secrets' own `scan_line` on `ember bench privacy`'s corpus (secrets and benign
prompts), line by line, each reported value located with str.find: the comparison
behind docs/privacy.md's choice to run its plugins' patterns with positions instead.

    python bench/privacy/compare_scan_line.py [--no-entropy] > result.json

With every plugin (detect-secrets' default settings), or without the two entropy ones.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from typing import Any

from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
from detect_secrets.core.scan import scan_line
from detect_secrets.settings import transient_settings

from ember.bench.privacy_bench import _covered, _overlaps
from ember.bench.privacy_corpus import generate
from ember.privacy.findings import Finding, resolve


def measure(bank: str) -> dict[str, Any]:
    prompts = [p for p in generate(1000, bank=bank) if p.family != "pii"]
    found: list[list[Finding]] = []
    ms: list[float] = []
    for p in prompts:
        t = time.perf_counter()
        fs, at = [], 0
        for line in p.text.split("\n"):
            for s in scan_line(line):
                value = s.secret_value or ""
                i = line.find(value) if value else -1
                if i >= 0:
                    fs.append(Finding(at + i, at + i + len(value), "secret", s.type))
            at += len(line) + 1
        found.append(resolve(fs))
        ms.append((time.perf_counter() - t) * 1000)
    pairs = list(zip(prompts, found, strict=True))
    labels = [(s, fs) for p, fs in pairs for s in p.spans]
    benign = [fs for p, fs in pairs if p.family == "benign"]
    return {
        "secrets_protected": round(sum(_covered(s, fs) for s, fs in labels) / len(labels), 4),
        "findings": sum(map(len, found)),
        "false_alarms": sum(
            not any(_overlaps(f, s) for s in p.spans) for p, fs in pairs for f in fs
        ),
        "benign_flagged": f"{sum(bool(fs) for fs in benign)}/{len(benign)}",
        "ms_median": round(statistics.median(ms), 3),
        "ms_p95": round(sorted(ms)[int(0.95 * len(ms))], 3),
    }


def main() -> None:
    names = [c.__name__ for c in get_mapping_from_secret_type_to_class().values()]
    if "--no-entropy" in sys.argv:
        names = [n for n in names if "HighEntropy" not in n]
    with transient_settings({"plugins_used": [{"name": n} for n in names]}):
        report = {"plugins": names, **{bank: measure(bank) for bank in ("tune", "heldout")}}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
