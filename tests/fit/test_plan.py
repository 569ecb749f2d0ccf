"""fit() over synthetic machines, with real GGUF metadata and catalogue shapes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from ember.engine.loader import load_options
from ember.fit import LoadPlan, fit
from ember.fit.catalogue import entry_info
from ember.fit.estimate import kv_bytes, shape_of
from ember.fit.options import pool_budget
from ember.hardware import GPU, GiB, Machine
from ember.models.catalogue import find_entry
from ember.models.gguf_info import ModelInfo, read_gguf_info

BANDWIDTH = 20e9

LAPTOP_8GB = Machine(
    total_ram=8 * GiB,
    available_ram=5 * GiB,
    physical_cores=4,
    logical_cores=8,
    memory_bandwidth=BANDWIDTH,
    compute_flops=100e9,
)
DESKTOP_GPU = Machine(
    total_ram=16 * GiB,
    available_ram=12 * GiB,
    physical_cores=8,
    logical_cores=16,
    gpus=(GPU("NVIDIA GeForce RTX 4060", "nvidia", 8 * GiB, 8 * GiB, bandwidth=272e9),),
    backends=("cpu", "cuda"),
    gpu_offload=True,
    memory_bandwidth=40e9,
    compute_flops=300e9,
)
CONTAINER_4GB = Machine(
    total_ram=64 * GiB,
    available_ram=60 * GiB,
    cgroup_limit=4 * GiB,
    cgroup_usage=200 << 20,
    physical_cores=2,
    logical_cores=2,
    memory_bandwidth=BANDWIDTH,
)
TINY = Machine(total_ram=1 * GiB, available_ram=600 << 20, physical_cores=1)


@pytest.fixture(scope="module")
def smollm2(smollm2_path: Path) -> ModelInfo:
    return read_gguf_info(smollm2_path)


def catalogue(name: str) -> ModelInfo:
    entry = find_entry(name)
    assert entry is not None
    return entry_info(entry)


def qwen_coder() -> ModelInfo:
    """The starter Qwen as its GGUF header describes it (the real file's size)."""
    return replace(catalogue("qwen2.5-coder:0.5b"), file_size=491_400_064)


def test_real_metadata_shape(smollm2: ModelInfo) -> None:
    shape = shape_of(smollm2)
    assert (shape.layers, shape.kv_heads, shape.key_length) == (30, 3, 64)
    assert shape.weights == smollm2.file_size


def test_laptop_runs_the_starters_with_full_context(smollm2: ModelInfo) -> None:
    for info in (smollm2, qwen_coder()):
        plan = fit(LAPTOP_8GB, info)
        assert plan.verdict == "great", plan.reason
        assert plan.n_ctx >= 8192
        assert plan.n_slots == 4
        assert plan.n_threads == 4  # physical cores, not hyper-threads
        assert plan.n_gpu_layers == 0
        assert plan.kv_type == "f16"
        assert plan.required_bytes <= (plan.budget_bytes or 0)


def test_context_grows_to_the_trained_length_when_there_is_room() -> None:
    plan = fit(LAPTOP_8GB, qwen_coder())
    assert plan.n_ctx > 8192
    assert plan.n_ctx <= 32768


def test_laptop_refuses_an_8b_model() -> None:
    plan = fit(replace(LAPTOP_8GB, available_ram=3 * GiB), catalogue("llama3.1:8b"))
    assert plan.verdict == "wont_fit"
    assert "does not fit" in plan.reason
    assert "weights alone" in plan.reason


def test_gpu_desktop_offloads_a_7b_model_fully() -> None:
    plan = fit(DESKTOP_GPU, catalogue("qwen2.5:7b"))
    assert plan.fits
    assert plan.n_gpu_layers == 28 + 1
    assert plan.vram_bytes > 0
    assert plan.decode_tps is not None
    assert plan.decode_tps > 20
    assert plan.verdict == "great"
    assert "all layers on the GPU" in plan.reason


def test_gpu_desktop_splits_a_model_larger_than_the_gpu() -> None:
    plan = fit(DESKTOP_GPU, catalogue("gemma3:12b"))
    assert plan.fits
    assert 0 < plan.n_gpu_layers < 48 + 1
    assert "layers on the GPU" in plan.reason


def test_gpu_without_a_gpu_build_stays_on_the_cpu() -> None:
    cpu_only = replace(DESKTOP_GPU, backends=("cpu",), gpu_offload=False)
    plan = fit(cpu_only, catalogue("qwen2.5:7b"))
    assert plan.n_gpu_layers == 0
    assert "cannot use it" in plan.reason
    assert plan.decode_tps is not None
    assert plan.decode_tps < fit(DESKTOP_GPU, catalogue("qwen2.5:7b")).decode_tps  # type: ignore[operator]


def test_container_limit_lower_than_ram_decides(smollm2: ModelInfo) -> None:
    assert fit(CONTAINER_4GB, smollm2).fits
    plan = fit(CONTAINER_4GB, catalogue("qwen2.5:7b"))
    assert plan.verdict == "wont_fit"
    assert "container limit 4.0 GiB" in plan.reason
    assert (plan.budget_bytes or 0) < 4 * GiB
    host = replace(CONTAINER_4GB, cgroup_limit=None, cgroup_usage=None)
    assert fit(host, catalogue("qwen2.5:7b")).fits


def test_tight_memory_shrinks_slots_then_kv_then_context_and_says_so() -> None:
    info = qwen_coder()
    roomy = fit(LAPTOP_8GB, info)
    tight = fit(replace(LAPTOP_8GB, available_ram=1 * GiB), info)
    assert tight.fits
    assert (tight.n_slots, tight.kv_type) != (roomy.n_slots, roomy.kv_type)
    tighter = fit(replace(LAPTOP_8GB, available_ram=850 << 20), info)
    assert tighter.fits
    assert tighter.kv_type == "q8_0"
    assert tighter.flash_attn
    assert tighter.n_slots == 1
    if tighter.n_ctx < 8192:
        assert "below the 8,192" in tighter.reason
        assert tighter.verdict != "great"


def test_tiny_memory(smollm2: ModelInfo) -> None:
    small = fit(TINY, smollm2)
    assert small.fits
    assert small.n_ctx >= 1024
    assert fit(TINY, qwen_coder()).verdict == "wont_fit"


def test_model_bigger_than_memory() -> None:
    plan = fit(LAPTOP_8GB, catalogue("gemma3:12b"))
    assert plan.verdict == "wont_fit"
    assert plan.weights_bytes > 5 * GiB
    assert plan.decode_tps is None


def test_no_gpu_no_bandwidth_means_speed_unknown(smollm2: ModelInfo) -> None:
    plan = fit(replace(LAPTOP_8GB, memory_bandwidth=None, compute_flops=None), smollm2)
    assert plan.decode_tps is None
    assert plan.verdict == "usable"
    assert "speed not measured" in plan.reason


def test_unknown_memory_falls_back_to_the_engine_default(smollm2: ModelInfo) -> None:
    plan = fit(Machine(total_ram=None), smollm2)
    assert (plan.n_ctx, plan.n_slots) == (8192, 4)
    assert plan.budget_bytes is None


def test_explicit_context_is_honoured_and_capped(smollm2: ModelInfo) -> None:
    plan = fit(LAPTOP_8GB, smollm2, want_ctx=2048, want_slots=1, want_threads=3)
    assert (plan.n_ctx, plan.n_slots, plan.n_threads) == (2048, 1, 3)
    assert "as set" in plan.reason
    capped = fit(LAPTOP_8GB, smollm2, want_ctx=100_000)
    assert capped.n_ctx == 8192
    assert "trained on 8,192" in capped.reason
    too_big = fit(TINY, qwen_coder(), want_ctx=32768)
    assert too_big.verdict == "wont_fit"
    assert "32,768-token context" in too_big.reason


def test_a_context_past_training_only_with_an_extension(smollm2: ModelInfo) -> None:
    """Past the trained 8,192 only with a context extension (the RoPE scaling goes to the
    engine's options); without one the plan is held to it and says how to go past."""
    held = fit(LAPTOP_8GB, smollm2, want_ctx=16384)
    assert (held.n_ctx, held.rope_scaling) == (8192, None)
    assert "context_extension" in held.reason
    assert load_options(held).rope_scaling is None
    for extension in ("yarn", "linear"):
        plan = fit(LAPTOP_8GB, smollm2, want_ctx=16384, extension=extension)
        assert plan.fits
        assert (plan.n_ctx, plan.rope_scaling) == (16384, extension)
        assert "past the 8,192" in plan.reason
        assert f"{extension} RoPE scaling" in plan.reason
        assert plan.kv_bytes == kv_bytes(shape_of(smollm2), 16384, plan.n_slots, plan.kv_type)
        assert load_options(plan).rope_scaling == extension
        assert LoadPlan(**plan.to_dict()) == plan
    within = fit(LAPTOP_8GB, smollm2, want_ctx=4096, extension="yarn")
    assert (within.n_ctx, within.rope_scaling) == (4096, None)
    unasked = fit(LAPTOP_8GB, smollm2, extension="yarn")  # growth stops at the trained length
    assert unasked.n_ctx <= 8192
    assert unasked.rope_scaling is None
    too_big = fit(TINY, smollm2, want_ctx=1_000_000, extension="yarn")
    assert too_big.verdict == "wont_fit"
    assert "1,000,000-token context" in too_big.reason


def test_slow_machine_verdict() -> None:
    slow = replace(LAPTOP_8GB, memory_bandwidth=2e9, available_ram=7 * GiB)
    assert fit(slow, catalogue("qwen2.5:3b")).verdict == "slow"


def test_embedding_model_plan() -> None:
    plan = fit(LAPTOP_8GB, catalogue("all-minilm:l6-v2"))
    assert plan.fits
    assert (plan.n_ctx, plan.n_slots) == (512, 1)
    assert plan.decode_tps is None


def test_apple_unified_memory_offloads_everything(smollm2: ModelInfo) -> None:
    mac = replace(
        LAPTOP_8GB,
        gpus=(GPU("Apple GPU", "apple", 6 * GiB, unified=True),),
        backends=("cpu", "metal"),
        gpu_offload=True,
    )
    plan = fit(mac, smollm2)
    assert plan.n_gpu_layers == 31
    assert plan.vram_bytes == 0  # counted as RAM


def test_load_options_and_pool_budget(smollm2: ModelInfo) -> None:
    plan = fit(LAPTOP_8GB, smollm2)
    opts = load_options(plan)
    assert (opts.n_ctx, opts.n_slots, opts.n_threads, opts.n_gpu_layers) == (
        plan.n_ctx,
        plan.n_slots,
        plan.n_threads,
        plan.n_gpu_layers,
    )
    assert opts.kv_type == "f16"
    assert opts.flash_attn is None  # with an f16 cache: llama.cpp decides ("auto"), as llama-server
    assert pool_budget(LAPTOP_8GB) == plan.budget_bytes
    assert pool_budget(DESKTOP_GPU) > pool_budget(replace(DESKTOP_GPU, gpu_offload=False))
    assert pool_budget(Machine(total_ram=8 * GiB)) > 0
    assert pool_budget(Machine(total_ram=None)) == 8 << 30


def test_plan_is_plain_data(smollm2: ModelInfo) -> None:
    plan = fit(LAPTOP_8GB, smollm2, name="smollm2:135m")
    data = plan.to_dict()
    assert data["model"] == "smollm2:135m"
    assert LoadPlan(**data) == plan


@pytest.mark.model
def test_kv_prediction_matches_the_engine(smollm2_path: Path, smollm2: ModelInfo) -> None:
    """The engine allocates exactly the KV cache the plan predicted (f16 and q8_0)."""
    from ember.engine.llamacpp import LlamaCppEngine

    for kv_type in ("f16", "q8_0"):
        plan = fit(LAPTOP_8GB, smollm2, want_ctx=1024, want_slots=2)
        plan = replace(plan, kv_type=kv_type, flash_attn=kv_type != "f16")
        engine = LlamaCppEngine(
            smollm2_path, name="smollm2", digest="sha256:x", options=load_options(plan)
        )
        try:
            assert engine.kv_bytes() == kv_bytes(shape_of(smollm2), 1024, 2, kv_type)
            assert engine.n_ctx == plan.n_ctx
        finally:
            engine.close()
