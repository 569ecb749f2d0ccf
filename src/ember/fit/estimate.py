"""Memory and speed estimates for one model on one machine: the formulas of docs/fit.md.

Memory after load (what the engine adds to the process):
    weights (the GGUF file) + KV(ctx x slots x bytes per token) + compute buffer
and, at the peak, the attention scratch llama.cpp needs without flash attention (a
KQ matrix over every cached token for a batch of prompt tokens). Decode reads every
weight once per token, so its speed is memory bandwidth over model bytes plus a fixed
cost per layer; prompt reading is compute-bound. The constants below were calibrated on
the development machine (docs/fit.md has the measurement).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ember.models.gguf_info import ModelInfo

MiB = 1 << 20

# Bytes per KV element for each cache type llama.cpp offers here.
KV_BYTES_PER_ELEMENT = {"f16": 2.0, "q8_0": 34 / 32}

# The compute/output buffer llama.cpp touches at load: ~128 rows of float32 logits
# (measured: 75 MiB for a 152k vocabulary, 19 MiB for 49k).
COMPUTE_ROWS = 128
N_BATCH = 512  # the engine's batch (LoadOptions.n_batch)

# Decode: effective share of the measured copy bandwidth llama.cpp reaches reading
# weights, and a fixed cost per layer per token (thread hand-offs, small kernels).
DECODE_EFFICIENCY = 0.64
DECODE_LAYER_SECONDS = 0.00022
GPU_DECODE_EFFICIENCY = 0.6
# Prompt: llama.cpp reached ~0.3-0.5 of numpy's float32 matmul FLOP/s on the starters.
PROMPT_EFFICIENCY = 0.4


@dataclass(frozen=True)
class Shape:
    """The sizes that memory and speed depend on, with missing GGUF fields filled in."""

    layers: int
    embedding: int
    heads: int
    kv_heads: int
    key_length: int
    value_length: int
    vocab: int
    weights: int  # bytes of the model file
    parameters: int

    @property
    def embedding_parameters(self) -> int:
        return self.vocab * self.embedding


def shape_of(info: ModelInfo) -> Shape:
    """Layers, heads and head sizes from the GGUF; guesses from the parameter count
    for what a header leaves out (head dim = embedding / heads, as llama.cpp does)."""
    layers = info.block_count or _guess_layers(info.parameters)
    embedding = info.embedding_length or _guess_embedding(info.parameters, layers)
    heads = info.head_count or max(1, embedding // 64)
    kv_heads = info.head_count_kv or heads
    head_dim = embedding // heads if heads else 64
    return Shape(
        layers=layers,
        embedding=embedding,
        heads=heads,
        kv_heads=kv_heads,
        key_length=info.key_length or head_dim,
        value_length=info.value_length or head_dim,
        vocab=info.vocab_size or 32000,
        weights=info.file_size,
        parameters=info.parameters,
    )


def kv_bytes_per_token(shape: Shape, kv_type: str = "f16") -> float:
    """Keys and values of one token across every layer."""
    per_layer = shape.kv_heads * (shape.key_length + shape.value_length)
    return shape.layers * per_layer * KV_BYTES_PER_ELEMENT[kv_type]


def kv_bytes(shape: Shape, n_ctx: int, n_slots: int, kv_type: str = "f16") -> int:
    """The KV cache the engine allocates: n_ctx tokens for each of n_slots sequences."""
    return int(kv_bytes_per_token(shape, kv_type) * n_ctx * n_slots)


def compute_bytes(shape: Shape) -> int:
    return shape.vocab * 4 * COMPUTE_ROWS


def attention_scratch_bytes(shape: Shape, n_ctx: int, n_slots: int, flash_attn: bool) -> int:
    """Peak KQ scratch without flash attention: every cached token x a batch x heads,
    in float32. Touched only as the cache fills; flash attention needs almost none."""
    if flash_attn:
        return 0
    return n_ctx * n_slots * N_BATCH * shape.heads * 4


def headroom_bytes(weights_and_kv: int) -> int:
    """Allocator slack and fragmentation: 5%, at least 64 MiB."""
    return max(64 * MiB, weights_and_kv // 20)


def decode_tps(
    shape: Shape,
    cpu_bandwidth: float | None,
    *,
    gpu_fraction: float = 0.0,
    gpu_bandwidth: float | None = None,
) -> float | None:
    """Tokens/s of one stream: bytes read per token over bandwidth, plus per-layer cost."""
    cpu_bytes = shape.weights * (1 - gpu_fraction)
    gpu_bytes = shape.weights * gpu_fraction
    seconds = shape.layers * DECODE_LAYER_SECONDS * (1 - gpu_fraction)
    if cpu_bytes > 0:
        if not cpu_bandwidth:
            return None
        seconds += cpu_bytes / (cpu_bandwidth * DECODE_EFFICIENCY)
    if gpu_bytes > 0:
        if not gpu_bandwidth:
            return None
        seconds += gpu_bytes / (gpu_bandwidth * GPU_DECODE_EFFICIENCY)
    return 1 / seconds if seconds > 0 else None


def prompt_tps(shape: Shape, compute_flops: float | None) -> float | None:
    """Tokens/s reading a prompt on the CPU: 2 FLOPs per non-embedding weight per token
    (the output head runs for the last token only)."""
    if not compute_flops:
        return None
    flops = 2 * max(shape.parameters - shape.embedding_parameters, shape.parameters // 2)
    return compute_flops * PROMPT_EFFICIENCY / flops


def _guess_layers(parameters: int) -> int:
    return 16 if parameters < 1.5e9 else 28 if parameters < 5e9 else 32


def _guess_embedding(parameters: int, layers: int) -> int:
    # A transformer block holds ~12 x embedding^2 weights.
    return max(256, int(math.sqrt(max(parameters, 1) / (12 * layers)) // 64 * 64))
