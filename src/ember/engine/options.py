"""How a model is loaded (plain data: the fit planner and the CLI build these without
importing llama.cpp)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ember.fit.plan import RopeScaling


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
    # Speculative decoding (engine/speculation.py): at most this many tokens guessed from
    # the sequence's own tokens and checked in the same batch as the next one (0: off).
    draft_tokens: int = 0
    n_gpu_layers: int = 0
    kv_dir: Path | None = None  # where conversation KV states are saved (None: off)
    kv_budget_bytes: int = 2 << 30
    # None lets llama.cpp decide, as llama-server does ("auto": on where the backend has
    # it, the CPU included). Measured on Qwen2.5-Coder-0.5B, two cores, per-slot KV: a
    # 1.9k-token prompt 6.5 s instead of 6.8-7.1 s, decode 60 instead of 57 tok/s. Its
    # numerics depend on the batch's shape, so a greedy answer written beside others may
    # differ from the same answer written alone (llama-server's does too).
    flash_attn: bool | None = None
    # KV cache element type: "f16", or "q8_0" (half the memory; llama.cpp needs flash
    # attention for a quantized V cache, so q8_0 turns it on).
    kv_type: str = "f16"
    # One KV stream per slot (False), or one buffer shared by every slot (True). Measured
    # on Qwen2.5-Coder-0.5B, two cores, 4 slots of 32768: with one shared buffer, a
    # 1.9k-token prompt read while the other slots held 1.9k cached tokens each took
    # 15.6 s instead of 7.0 s and decode fell from 57 to 28.5 tok/s (attention ran over
    # every slot's cells); per slot: 7.1 s and 56.6 tok/s, and no sequence may outgrow
    # the trained context (llama.cpp's n_ctx_seq).
    kv_unified: bool = False
