"""Fit over the catalogue before anything is downloaded: the rows of ``ember fit`` and the
alternatives ``ember pull`` offers when a model does not fit.

A catalogue entry has no GGUF header yet, so its ModelInfo is built from the entry's
``shape`` and its size estimate (parameters x bits per weight of the quantization).
"""

from __future__ import annotations

from dataclasses import dataclass

from ember.fit.plan import LoadPlan, fit
from ember.hardware.machine import Machine
from ember.models.catalogue import CatalogueEntry, load_catalogue
from ember.models.gguf_info import ModelInfo

_VERDICT_RANK = {"great": 0, "usable": 1, "slow": 2, "wont_fit": 3}


@dataclass(frozen=True)
class FitRow:
    name: str
    kind: str  # chat | embedding
    installed: bool
    download_bytes: int | None  # None when installed
    plan: LoadPlan
    description: str = ""


def entry_info(entry: CatalogueEntry, quant: str | None = None) -> ModelInfo:
    """A ModelInfo for a catalogue entry from its declared shape and estimated size."""
    shape = entry.shape
    return ModelInfo(
        architecture=entry.family,
        name=entry.name,
        parameters=entry.parameters,
        size_label=None,
        file_type=None,
        quantization=quant or entry.default_quant,
        context_length=entry.context,
        block_count=shape.layers if shape else None,
        embedding_length=shape.embedding if shape else None,
        head_count=shape.heads if shape else None,
        head_count_kv=shape.kv_heads if shape else None,
        key_length=shape.head_dim if shape else None,
        value_length=shape.head_dim if shape else None,
        vocab_size=shape.vocab if shape else None,
        tokenizer=None,
        chat_template=None,
        pooling="mean" if entry.kind == "embedding" else None,
        file_size=entry.estimated_size(quant),
    )


def entry_download_quant(entry: CatalogueEntry) -> str:
    """The quantization a pull of this entry gets: its package's, else the default."""
    return entry.package.quant if entry.package else entry.default_quant


def catalogue_rows(machine: Machine, installed: dict[str, ModelInfo]) -> list[FitRow]:
    """A row per catalogue model and per installed model (installed ones use their header)."""
    rows = []
    seen = set()
    for entry in load_catalogue():
        info = installed.get(entry.name) or entry_info(entry, entry_download_quant(entry))
        rows.append(
            FitRow(
                name=entry.name,
                kind=entry.kind,
                installed=entry.name in installed,
                download_bytes=None if entry.name in installed else info.file_size,
                plan=fit(machine, info, name=entry.name),
                description=entry.description,
            )
        )
        seen.add(entry.name)
    for name, info in sorted(installed.items()):
        if name not in seen:
            kind = "embedding" if info.is_embedding_model else "chat"
            rows.append(FitRow(name, kind, True, None, fit(machine, info, name=name)))
    return rows


def rank(rows: list[FitRow]) -> list[FitRow]:
    """Best first: fitting, then faster verdicts, then bigger models (better answers)."""
    return sorted(
        rows,
        key=lambda r: (_VERDICT_RANK[r.plan.verdict], -r.plan.weights_bytes),
    )


def recommend(rows: list[FitRow], kind: str = "chat") -> FitRow | None:
    """The largest chat model with a 'great' verdict, else the best that fits at all."""
    candidates = [r for r in rows if r.kind == kind and r.plan.fits]
    great = [r for r in candidates if r.plan.verdict == "great"]
    pool = great or [r for r in candidates if r.plan.verdict == "usable"] or candidates
    return max(pool, key=lambda r: r.plan.weights_bytes) if pool else None


def alternatives(machine: Machine, kind: str, limit: int = 3) -> list[FitRow]:
    """The best catalogue models of ``kind`` that fit here, for a refused pull."""
    rows = [r for r in catalogue_rows(machine, {}) if r.kind == kind and r.plan.fits]
    return rank(rows)[:limit]
