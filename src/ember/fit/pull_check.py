"""``ember pull`` refuses a model that cannot fit, before the download starts.

Catalogue models are planned from their declared shape; other models (a Hugging Face
file, an Ollama name) from the size their source confirms, with the shape guessed from
the size. The refusal carries the numbers and the best catalogue models that do fit.
"""

from __future__ import annotations

from dataclasses import dataclass

from ember.errors import ModelWontFitError
from ember.fit.catalogue import alternatives, entry_download_quant, entry_info
from ember.fit.plan import LoadPlan, fit
from ember.hardware.machine import Machine
from ember.models.catalogue import CatalogueEntry
from ember.models.gguf_info import ModelInfo

TYPICAL_BITS = 4.85  # Q4_K_M, the most common download: parameters from a file size


@dataclass(frozen=True)
class FitPullCheck:
    """The store's PullCheck, backed by ``fit`` on this machine."""

    machine: Machine

    def entry(self, entry: CatalogueEntry) -> None:
        quant = entry_download_quant(entry) if entry.package else entry.default_quant
        plan = fit(self.machine, entry_info(entry, quant), name=entry.name)
        if not plan.fits:
            raise self._refusal(entry.name, plan, entry.kind)

    def size(self, size: int, what: str) -> None:
        plan = fit(self.machine, info_from_size(size, what), name=what)
        if not plan.fits:
            raise self._refusal(what, plan, "chat")

    def _refusal(self, name: str, plan: LoadPlan, kind: str) -> ModelWontFitError:
        better = alternatives(self.machine, kind)
        names = ", ".join(
            f"{r.name} ({r.plan.verdict}, {r.plan.weights_bytes / 1e9:.1f} GB)" for r in better
        )
        hint = f"models that fit here: {names}; " if names else ""
        return ModelWontFitError(
            f"{name} will not fit on this machine: {plan.reason.removeprefix('does not fit: ')}",
            hint=hint + "`ember fit` shows them all; --force downloads it anyway",
        )


def info_from_size(size: int, what: str) -> ModelInfo:
    """A ModelInfo for a file known only by its size (shape guessed from parameters)."""
    return ModelInfo(
        architecture="unknown",
        name=what,
        parameters=int(size * 8 / TYPICAL_BITS),
        size_label=None,
        file_type=None,
        quantization=None,
        context_length=None,
        block_count=None,
        embedding_length=None,
        head_count=None,
        head_count_kv=None,
        key_length=None,
        value_length=None,
        vocab_size=None,
        tokenizer=None,
        chat_template=None,
        pooling=None,
        file_size=size,
    )
