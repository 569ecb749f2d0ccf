"""How a model is loaded (plain data: the fit planner and the CLI build these without
importing llama.cpp)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

RopeScaling = Literal["yarn", "linear"]


@dataclass(frozen=True)
class LoadOptions:
    """How a model is loaded. The fit planner chooses these; flags can override them."""

    n_ctx: int | None = None  # tokens per request; None: min(trained context, 8192)
    # How a context past the model's trained length is reached (RoPE scaling); None:
    # never past it, a larger n_ctx is held to the trained length.
    rope_scaling: RopeScaling | None = None
    n_slots: int = 4  # concurrent sequences
    n_threads: int | None = None  # None: every core
    n_batch: int = 512
    prefill_chunk: int = 256  # prompt tokens per step while other streams are decoding
    n_gpu_layers: int = 0
    kv_dir: Path | None = None  # where conversation KV states are saved (None: off)
    kv_budget_bytes: int = 2 << 30
    # Off by default: on CPU, llama.cpp's flash attention is faster (~+25% decode on
    # SmolLM2) but its results depend on batch composition, so concurrent answers would
    # differ from single ones at temperature 0. None lets llama.cpp decide.
    flash_attn: bool | None = False
    # KV cache element type: "f16", or "q8_0" (half the memory; llama.cpp needs flash
    # attention for a quantized V cache, so q8_0 turns it on).
    kv_type: str = "f16"
