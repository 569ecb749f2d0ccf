"""`ember bench privacy`: how well the privacy guard finds what must not leave, and
what it costs per prompt, on the generated labelled corpus (privacy_corpus.py).

Three views of one run:

- **per kind**, after overlaps are resolved (what `redact` acts on): a finding is
  right when it overlaps a labelled value of its own kind; *protected* counts the
  labelled values that end up wholly covered by findings of any kind — what matters
  for privacy, since a value redacted under the wrong name still does not leave;
- **per detector**, raw: a finding is right when it overlaps any labelled value (the
  assignment detector finding `OPENAI_API_KEY=sk-…` as a password is not a false
  alarm: the token detector names it, and the longer finding wins the merge); recall
  is over the values of the kinds the detector claims; and its time per prompt;
- **benign prompts**: how many were flagged at all (each one a needless placeholder).
"""

from __future__ import annotations

import io
import json
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from ember.bench.privacy_corpus import DEFAULT_SEED, Prompt, Span, generate
from ember.privacy import Detector, Finding, default_detectors
from ember.privacy.findings import resolve

_EXAMPLES = 15  # misses and false alarms kept in the report, to read


def run(
    n: int = 1000,
    seed: int | None = None,
    bank: str = "tune",
    detectors: Sequence[Detector] | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, Any]:
    """Generate ``n`` prompts from ``bank``'s templates, scan each with every detector
    (timed), score, report."""
    seed = DEFAULT_SEED if seed is None else seed
    chosen = tuple(default_detectors() if detectors is None else detectors)
    prompts = generate(n, seed, bank)
    raw: list[dict[str, list[Finding]]] = []
    resolved_all: list[list[Finding]] = []
    took: dict[str, list[float]] = defaultdict(list)
    for prompt in prompts:
        per: dict[str, list[Finding]] = {}
        for d in chosen:
            t0 = clock()
            per[d.name] = list(d.find(prompt.text))
            took[d.name].append((clock() - t0) * 1000)
        t0 = clock()
        resolved = resolve(f for fs in per.values() for f in fs)
        took["resolve"].append((clock() - t0) * 1000)
        raw.append(per)
        resolved_all.append(resolved)
    scan_ms = [sum(ms[i] for ms in took.values()) for i in range(len(prompts))]
    return {
        "benchmark": "ember bench privacy",
        "seed": seed,
        "bank": bank,
        "prompts": len(prompts),
        "families": dict(Counter(p.family for p in prompts)),
        "mean_chars": round(statistics.fmean(len(p.text) for p in prompts), 1) if prompts else 0,
        "per_kind": per_kind(prompts, resolved_all),
        "per_detector": per_detector(prompts, raw, chosen, took),
        "overall": overall(prompts, resolved_all),
        "latency_ms": {"scan": _latency(scan_ms)},
        "misses": _misses(prompts, resolved_all),
        "false_alarms": _false_alarms(prompts, resolved_all),
    }


def _overlaps(a: Span | Finding, b: Span | Finding) -> bool:
    return a.start < b.end and b.start < a.end


def _covered(span: Span, findings: Iterable[Finding]) -> bool:
    """True when every character of the labelled value lies inside some finding."""
    at = span.start
    for f in sorted(findings):
        if f.start <= at < f.end:
            at = f.end
        if at >= span.end:
            return True
    return at >= span.end


def _scores(tp_pred: int, predicted: int, tp_gold: int, gold: int) -> dict[str, Any]:
    precision = tp_pred / predicted if predicted else None
    recall = tp_gold / gold if gold else None
    f1 = (
        2 * precision * recall / (precision + recall)
        if precision is not None and recall is not None and precision + recall
        else None
    )
    return {
        "labelled": gold,
        "found": predicted,
        "precision": _round(precision),
        "recall": _round(recall),
        "f1": _round(f1),
    }


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def per_kind(prompts: Sequence[Prompt], found: Sequence[Sequence[Finding]]) -> dict[str, Any]:
    """Precision, recall, F1 and the protected share for each kind, after resolution."""
    kinds = sorted(
        {s.kind for p in prompts for s in p.spans} | {f.kind for fs in found for f in fs}
    )
    out: dict[str, Any] = {}
    for kind in kinds:
        gold = right = predicted = hits = protected = 0
        for p, fs in zip(prompts, found, strict=True):
            mine = [f for f in fs if f.kind == kind]
            labels = [s for s in p.spans if s.kind == kind]
            predicted += len(mine)
            right += sum(any(_overlaps(f, s) for s in labels) for f in mine)
            gold += len(labels)
            hits += sum(any(_overlaps(f, s) for f in mine) for s in labels)
            protected += sum(_covered(s, fs) for s in labels)
        row = _scores(right, predicted, hits, gold)
        row["protected"] = _round(protected / gold) if gold else None
        out[kind] = row
    return out


def per_detector(
    prompts: Sequence[Prompt],
    raw: Sequence[dict[str, list[Finding]]],
    detectors: Sequence[Detector],
    took: dict[str, list[float]],
) -> dict[str, Any]:
    """Each detector alone, before overlaps are resolved: precision against every labelled
    value, recall on the kinds it claims."""
    out: dict[str, Any] = {}
    for d in detectors:
        gold = right = predicted = hits = 0
        for p, per in zip(prompts, raw, strict=True):
            mine = per[d.name]
            labels = [s for s in p.spans if s.kind in d.kinds]
            predicted += len(mine)
            right += sum(any(_overlaps(f, s) for s in p.spans) for f in mine)
            gold += len(labels)
            hits += sum(any(_overlaps(f, s) for f in mine) for s in labels)
        row = _scores(right, predicted, hits, gold)
        row["kinds"] = sorted(d.kinds)
        row["ms"] = _latency(took[d.name])
        out[d.name] = row
    return out


def overall(prompts: Sequence[Prompt], found: Sequence[Sequence[Finding]]) -> dict[str, Any]:
    """All kinds together, and the benign prompts."""
    labels = [(s, fs) for p, fs in zip(prompts, found, strict=True) for s in p.spans]
    detectable = [(s, fs) for s, fs in labels if s.kind != "pii.person"]
    predicted = sum(len(fs) for fs in found)
    right = sum(
        any(_overlaps(f, s) for s in p.spans)
        for p, fs in zip(prompts, found, strict=True)
        for f in fs
    )
    benign = [fs for p, fs in zip(prompts, found, strict=True) if p.family == "benign"]
    flagged = sum(bool(fs) for fs in benign)
    return {
        "precision": _round(right / predicted) if predicted else None,
        "protected": _round(sum(_covered(s, fs) for s, fs in labels) / len(labels))
        if labels
        else None,
        "protected_without_names": _round(
            sum(_covered(s, fs) for s, fs in detectable) / len(detectable)
        )
        if detectable
        else None,
        "benign_prompts": len(benign),
        "benign_flagged": flagged,
        "benign_flagged_rate": _round(flagged / len(benign)) if benign else None,
    }


def _latency(ms: Sequence[float]) -> dict[str, float]:
    if not ms:
        return {"median": 0.0, "p95": 0.0, "max": 0.0}
    ordered = sorted(ms)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "median": round(statistics.median(ordered), 3),
        "p95": round(p95, 3),
        "max": round(ordered[-1], 3),
    }


def _misses(prompts: Sequence[Prompt], found: Sequence[Sequence[Finding]]) -> list[Any]:
    """Labelled values not wholly covered (synthetic values: safe to show)."""
    out: list[dict[str, str]] = []
    for p, fs in zip(prompts, found, strict=True):
        for s in p.spans:
            if s.kind != "pii.person" and not _covered(s, fs) and len(out) < _EXAMPLES:
                out.append({"id": p.id, "kind": s.kind, "value": p.text[s.start : s.end]})
    return out


def _false_alarms(prompts: Sequence[Prompt], found: Sequence[Sequence[Finding]]) -> list[Any]:
    """Findings that overlap no labelled value."""
    out: list[dict[str, str]] = []
    for p, fs in zip(prompts, found, strict=True):
        for f in fs:
            if not any(_overlaps(f, s) for s in p.spans) and len(out) < _EXAMPLES:
                out.append(
                    {
                        "id": p.id,
                        "kind": f.kind,
                        "detector": f.detector,
                        "text": p.text[f.start : f.end],
                    }
                )
    return out


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x * 100:.1f}%"


def tables(report: dict[str, Any]) -> list[Table]:
    """The report as rich tables: per kind, per detector, overall."""
    kinds = Table(
        title=f"ember bench privacy — {report['prompts']} prompts ({report['bank']} templates), "
        f"seed {report['seed']}",
        title_justify="left",
    )
    for col in ("kind", "labelled", "found", "precision", "recall", "F1", "protected"):
        kinds.add_column(col, justify="left" if col == "kind" else "right")
    for kind, r in report["per_kind"].items():
        kinds.add_row(kind, str(r["labelled"]), str(r["found"]), _pct(r["precision"]),
                      _pct(r["recall"]), _pct(r["f1"]), _pct(r["protected"]))  # fmt: skip
    dets = Table(title="per detector (raw findings; recall on the kinds each claims)",
                 title_justify="left")  # fmt: skip
    for col in ("detector", "found", "precision", "recall", "ms median", "ms p95"):
        dets.add_column(col, justify="left" if col == "detector" else "right")
    for name, r in report["per_detector"].items():
        dets.add_row(name, str(r["found"]), _pct(r["precision"]), _pct(r["recall"]),
                     f"{r['ms']['median']:.3f}", f"{r['ms']['p95']:.3f}")  # fmt: skip
    o, lat = report["overall"], report["latency_ms"]["scan"]
    summary = Table(title="overall", title_justify="left", show_header=False)
    summary.add_column("measure")
    summary.add_column("value", justify="right")
    summary.add_row("precision (all findings)", _pct(o["precision"]))
    summary.add_row("labelled values protected", _pct(o["protected"]))
    summary.add_row("… leaving out person names", _pct(o["protected_without_names"]))
    summary.add_row(
        "benign prompts flagged",
        f"{o['benign_flagged']}/{o['benign_prompts']} ({_pct(o['benign_flagged_rate'])})",
    )
    summary.add_row("scan ms per prompt: median", f"{lat['median']:.3f}")
    summary.add_row("scan ms per prompt: p95", f"{lat['p95']:.3f}")
    summary.add_row("scan ms per prompt: max", f"{lat['max']:.3f}")
    summary.add_row("mean prompt length (chars)", f"{report['mean_chars']}")
    return [kinds, dets, summary]


def render_text(report: dict[str, Any], width: int = 110) -> str:
    """The tables as plain text (the .txt beside the JSON report)."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, force_terminal=False)
    for table in tables(report):
        console.print(table)
    return buffer.getvalue()


def dumps(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False)
