"""`ember bench privacy`: the corpus is labelled exactly and reproducibly, and the scores
mean what they say (an oracle detector scores perfectly, a blind one finds nothing)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from typer.testing import CliRunner

from ember.bench.privacy_bench import render_text, run
from ember.bench.privacy_corpus import generate
from ember.cli.app import app
from ember.privacy import Finding


def test_the_corpus_is_seeded_and_its_labels_point_at_values() -> None:
    prompts = generate(120, seed=7)
    assert prompts == generate(120, seed=7)
    assert prompts != generate(120, seed=8)
    assert {p.family for p in prompts} == {"pii", "secret", "benign"}
    for p in prompts:
        assert "{{" not in p.text
        assert bool(p.spans) == (p.family != "benign")
        for s in p.spans:
            value = p.text[s.start : s.end]
            assert value
            assert value == value.strip()
    heldout = generate(120, seed=7, bank="heldout")
    assert {p.text for p in heldout}.isdisjoint(p.text for p in prompts)


class Oracle:
    """Finds exactly the labelled values: the perfect detector, to check the scoring."""

    name = "oracle"

    def __init__(self, seed: int) -> None:
        self.labels = {p.text: p.spans for p in generate(80, seed)}
        self.kinds = frozenset(s.kind for spans in self.labels.values() for s in spans)

    def find(self, text: str) -> Iterator[Finding]:
        for s in self.labels[text]:
            yield Finding(s.start, s.end, s.kind, self.name)


class Blind:
    name = "blind"
    kinds = frozenset({"pii.email"})

    def find(self, text: str) -> Iterator[Finding]:
        return iter(())


def test_an_oracle_scores_perfectly_and_a_blind_detector_finds_nothing() -> None:
    ticks = iter(range(10**6))
    report = run(80, seed=3, detectors=[Oracle(3), Blind()], clock=lambda: next(ticks) / 1000)
    prompts = generate(80, 3)
    labelled = sum(len(p.spans) for p in prompts)
    assert sum(r["labelled"] for r in report["per_kind"].values()) == labelled
    for row in report["per_kind"].values():
        assert row["precision"] == row["recall"] == row["protected"] == 1.0
    oracle, blind = report["per_detector"]["oracle"], report["per_detector"]["blind"]
    assert oracle["precision"] == 1.0
    assert oracle["recall"] == 1.0
    assert blind["found"] == 0
    assert blind["recall"] == 0.0
    assert blind["precision"] is None
    assert report["overall"]["protected"] == 1.0
    assert report["overall"]["benign_flagged"] == 0
    assert report["misses"] == []
    assert report["false_alarms"] == []
    # the fake clock ticks 1 ms per reading: each detector takes 1 ms, scan 3 ms (+ resolve)
    assert oracle["ms"]["median"] == 1.0
    assert report["latency_ms"]["scan"]["median"] == 3.0


def test_the_real_detectors_on_a_small_corpus() -> None:
    report = run(60, seed=11)
    kinds = report["per_kind"]
    prompts = generate(60, 11)
    assert sum(r["labelled"] for r in kinds.values()) == sum(len(p.spans) for p in prompts)
    for kind, row in kinds.items():
        for key in ("precision", "recall", "f1", "protected"):
            assert row[key] is None or 0.0 <= row[key] <= 1.0, (kind, key)
    assert kinds["pii.person"]["found"] == 0  # no offline NER: names are not detected
    # each labelled value counted protected is also found by some detector
    assert report["overall"]["protected_without_names"] > 0.8
    assert report["overall"]["precision"] > 0.8
    assert report["latency_ms"]["scan"]["median"] > 0
    assert "pii.email" in render_text(report)


def test_the_command_writes_json_and_text(tmp_path: Path) -> None:
    out = tmp_path / "privacy.json"
    result = CliRunner().invoke(app, ["bench", "privacy", "--prompts", "25", "-o", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["prompts"] == 25
    assert data["bank"] == "tune"
    assert "per detector" in out.with_suffix(".txt").read_text()
