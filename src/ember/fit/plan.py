"""``fit(machine, model) -> LoadPlan``: how to load a model here, and how well it will run.

Pure: the same Machine and ModelInfo always give the same plan, so the planner is tested
over synthetic laptops and containers. The order of preference, when memory is short:
keep a context of at least 8,192 tokens (or the model's trained context if smaller) with
four parallel slots; then fewer slots; then a q8_0 KV cache (half the size, with flash
attention); only then a shorter context, and the reason says so in plain words.
Beyond the floor the context grows toward the trained length while the plan stays within
half the memory budget (room for a second model and everything else on the machine).
A context past the trained length is planned only when asked for with a context
extension (``extension``: the RoPE scaling the engine then loads with).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

from ember.fit import estimate as est
from ember.fit.budget import gpu_budget, memory_budget
from ember.hardware.machine import GiB, Machine
from ember.models.gguf_info import ModelInfo

Verdict = Literal["great", "usable", "slow", "wont_fit"]
Extension = Literal["none", "yarn", "linear"]
RopeScaling = Literal["yarn", "linear"]

CONTEXT_FLOOR = 8192
DEFAULT_MAX_CONTEXT = 32768  # growth stops here unless asked for more (--ctx)
MIN_CONTEXT = 1024  # below this a chat model is not worth loading
DEFAULT_SLOTS = 4
GROWTH_SHARE = 0.5
GREAT_TPS = 20.0
USABLE_TPS = 8.0

# (kv type, slots), most comfortable first.
_LAYOUTS = (("f16", 4), ("f16", 2), ("f16", 1), ("q8_0", 1))


@dataclass(frozen=True)
class LoadPlan:
    model: str
    verdict: Verdict
    reason: str
    n_ctx: int
    n_slots: int
    n_threads: int
    n_gpu_layers: int
    kv_type: str
    flash_attn: bool
    trained_ctx: int
    weights_bytes: int
    kv_bytes: int
    compute_bytes: int
    scratch_bytes: int  # peak attention scratch at full context (no flash attention)
    headroom_bytes: int
    memory_bytes: int  # weights + KV + compute: what loading adds to the process
    required_bytes: int  # memory + scratch + headroom: what must be free
    vram_bytes: int  # the part of required_bytes placed on the GPU
    budget_bytes: int | None
    decode_tps: float | None
    prompt_tps: float | None
    # The RoPE scaling that stretches the trained context to n_ctx ("yarn", "linear");
    # None: n_ctx is within the trained context.
    rope_scaling: RopeScaling | None = None

    @property
    def fits(self) -> bool:
        return self.verdict != "wont_fit"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Layout:
    n_ctx: int
    n_slots: int
    kv_type: str
    chosen: bool = False  # the context was the user's (--ctx), not the planner's


def fit(
    machine: Machine,
    info: ModelInfo,
    *,
    name: str | None = None,
    want_ctx: int | None = None,
    want_slots: int | None = None,
    want_threads: int | None = None,
    want_gpu_layers: int | None = None,
    extension: Extension = "none",
) -> LoadPlan:
    """Plan a load of ``info`` on ``machine``; ``want_*`` are the user's overrides.
    ``extension``: how a ``want_ctx`` past the trained context is reached ("none": it is
    held to the trained context)."""
    shape = est.shape_of(info)
    trained = info.context_length or 4096
    ram = memory_budget(machine)
    vram = gpu_budget(machine)
    capacity = None if ram is None else ram + vram
    notes: list[str] = []
    past = want_ctx is not None and want_ctx > trained and not info.is_embedding_model
    extended = past and extension != "none"
    limit = want_ctx if extended and want_ctx is not None else trained
    if extended:
        notes.append(
            f"{want_ctx:,} tokens, past the {trained:,} {_name(info, name)} was trained "
            f"on, with {extension} RoPE scaling"
        )
    elif past:
        notes.append(
            f"asked for {want_ctx:,} tokens but {_name(info, name)} was trained on "
            f"{trained:,}; using {trained:,} (the context_extension setting goes past it)"
        )
    layout = None
    if vram > 0:  # everything on the GPU is much faster than a split: try that first
        on_gpu = _choose_layout(
            shape, info, trained, vram, want_ctx, want_slots, share=0.9, limit=limit
        )
        if on_gpu is not None and (on_gpu.chosen or on_gpu.n_ctx >= min(CONTEXT_FLOOR, trained)):
            layout = on_gpu
    if layout is None:
        layout = _choose_layout(shape, info, trained, capacity, want_ctx, want_slots, limit=limit)
    if layout is None:
        plan = _wont_fit(machine, info, shape, trained, capacity, name, want_ctx, want_slots, limit)
    else:
        plan = _plan(
            machine,
            info,
            shape,
            layout,
            trained,
            ram,
            vram,
            name,
            want_threads,
            want_gpu_layers,
            notes,
        )
    if plan.n_ctx > trained:
        scaling: RopeScaling = "yarn" if extension == "yarn" else "linear"
        return replace(plan, rope_scaling=scaling)
    return plan


def _choose_layout(
    shape: est.Shape,
    info: ModelInfo,
    trained: int,
    capacity: int | None,
    want_ctx: int | None,
    want_slots: int | None,
    share: float = GROWTH_SHARE,
    limit: int | None = None,
) -> _Layout | None:
    """``limit``: the largest context ``want_ctx`` may have (the trained one unless it is
    extended)."""
    layouts = [(kv, want_slots or slots) for kv, slots in _LAYOUTS]
    layouts = list(dict.fromkeys(layouts))
    if info.is_embedding_model:
        return _Layout(trained, 1, "f16")
    if want_ctx is not None:
        ctx = min(want_ctx, limit or trained)
        for kv, slots in layouts:
            if capacity is None or _required(shape, ctx, slots, kv) <= capacity:
                return _Layout(ctx, slots, kv, chosen=True)
        return None
    cap = min(trained, DEFAULT_MAX_CONTEXT)
    floor = min(CONTEXT_FLOOR, trained)
    if capacity is None:  # memory unknown: the engine's former default
        return _Layout(floor, layouts[0][1], "f16")
    for kv, slots in layouts:
        largest = _largest_ctx(shape, slots, kv, capacity, cap)
        if largest >= floor:
            comfortable = _largest_ctx(shape, slots, kv, int(capacity * share), cap)
            return _Layout(max(floor, min(comfortable, largest)), slots, kv)
    kv, slots = layouts[-1]
    largest = _largest_ctx(shape, slots, kv, capacity, cap)
    if largest >= min(MIN_CONTEXT, trained):
        return _Layout(largest, slots, kv)
    return None


def _largest_ctx(shape: est.Shape, slots: int, kv: str, capacity: int, cap: int) -> int:
    """The largest context (a multiple of 1,024, or of 256 under that; at most ``cap``)
    whose plan fits; 0 when none does."""
    if _required(shape, cap, slots, kv) <= capacity:
        return cap
    step = 1024 if cap >= 1024 else 256
    low, high = 0, cap // step
    while low < high:  # memory grows with the context: bisect on whole steps
        mid = (low + high + 1) // 2
        if _required(shape, mid * step, slots, kv) <= capacity:
            low = mid
        else:
            high = mid - 1
    return low * step


def _parts(shape: est.Shape, ctx: int, slots: int, kv: str) -> tuple[int, int, int, int, int]:
    kv_size = est.kv_bytes(shape, ctx, slots, kv)
    compute = est.compute_bytes(shape)
    scratch = est.attention_scratch_bytes(shape, ctx, slots, flash_attn=kv != "f16")
    headroom = est.headroom_bytes(shape.weights + kv_size)
    return shape.weights, kv_size, compute, scratch, headroom


def _required(shape: est.Shape, ctx: int, slots: int, kv: str) -> int:
    return sum(_parts(shape, ctx, slots, kv))


def _plan(
    machine: Machine,
    info: ModelInfo,
    shape: est.Shape,
    layout: _Layout,
    trained: int,
    ram: int | None,
    vram: int,
    name: str | None,
    want_threads: int | None,
    want_gpu_layers: int | None,
    notes: list[str],
) -> LoadPlan:
    weights, kv_size, compute, scratch, headroom = _parts(
        shape, layout.n_ctx, layout.n_slots, layout.kv_type
    )
    required = weights + kv_size + compute + scratch + headroom
    gpu_layers, on_gpu = _gpu_split(shape, required, vram, want_gpu_layers, _unified(machine))
    fraction = gpu_layers / (shape.layers + 1) if shape.layers else 0.0
    gpu = _fastest_gpu(machine)
    decode = None
    prompt = None
    if not info.is_embedding_model:
        decode = est.decode_tps(
            shape,
            machine.memory_bandwidth,
            gpu_fraction=min(1.0, fraction),
            gpu_bandwidth=gpu.bandwidth if gpu else None,
        )
        prompt = est.prompt_tps(shape, machine.compute_flops) if fraction == 0 else None
    floor = min(CONTEXT_FLOOR, trained)
    verdict = _verdict(decode, layout.n_ctx >= floor or info.is_embedding_model)
    reason = _reason(
        machine, info, name, layout, trained, required, ram, vram, gpu_layers, shape, decode, notes
    )
    return LoadPlan(
        model=_name(info, name),
        verdict=verdict,
        reason=reason,
        n_ctx=layout.n_ctx,
        n_slots=layout.n_slots,
        n_threads=want_threads or machine.threads,
        n_gpu_layers=gpu_layers,
        kv_type=layout.kv_type,
        flash_attn=layout.kv_type != "f16",
        trained_ctx=trained,
        weights_bytes=weights,
        kv_bytes=kv_size,
        compute_bytes=compute,
        scratch_bytes=scratch,
        headroom_bytes=headroom,
        memory_bytes=weights + kv_size + compute,
        required_bytes=required,
        vram_bytes=on_gpu,
        budget_bytes=None if ram is None else ram + vram,
        decode_tps=decode,
        prompt_tps=prompt,
    )


def _unified(machine: Machine) -> bool:
    return machine.gpu_offload and any(g.unified for g in machine.gpus)


def _gpu_split(
    shape: est.Shape, required: int, vram: int, want: int | None, unified: bool
) -> tuple[int, int]:
    """GPU layers (all + the output layer when everything fits) and the bytes they take.
    Unified memory (Apple): every layer on the GPU, the bytes counted as RAM."""
    all_layers = shape.layers + 1
    if want is not None:
        layers = min(max(want, 0), all_layers)
        return layers, 0 if unified else int(required * layers / all_layers)
    if unified:
        return all_layers, 0
    if vram <= 0:
        return 0, 0
    if required <= vram:
        return all_layers, required
    per_layer = required / all_layers
    layers = int(vram // per_layer)
    return layers, int(per_layer * layers)


def _fastest_gpu(machine: Machine) -> Any:
    usable = [g for g in machine.gpus if g.bandwidth]
    return max(usable, key=lambda g: g.bandwidth or 0) if usable else None


def _verdict(decode: float | None, full_context: bool) -> Verdict:
    if decode is None:
        return "usable"
    if decode >= GREAT_TPS:
        return "great" if full_context else "usable"
    return "usable" if decode >= USABLE_TPS else "slow"


def _reason(
    machine: Machine,
    info: ModelInfo,
    name: str | None,
    layout: _Layout,
    trained: int,
    required: int,
    ram: int | None,
    vram: int,
    gpu_layers: int,
    shape: est.Shape,
    decode: float | None,
    notes: list[str],
) -> str:
    parts = [f"needs {_gib(required)} of {_gib(ram + vram) if ram is not None else '?'} usable"]
    if gpu_layers > shape.layers:
        parts.append("all layers on the GPU")
    elif gpu_layers > 0:
        parts.append(f"{gpu_layers} of {shape.layers + 1} layers on the GPU")
    elif machine.gpus and not machine.gpu_offload:
        parts.append("a GPU is present but this llama.cpp build cannot use it (CPU only)")
    floor = min(CONTEXT_FLOOR, trained)
    if info.is_embedding_model:
        parts.append(f"embedding model, {layout.n_ctx:,}-token inputs")
    elif layout.n_ctx < floor and layout.chosen:
        parts.append(f"{layout.n_ctx:,}-token context as set x {layout.n_slots} slots")
    elif layout.n_ctx < floor:
        parts.append(
            f"memory allows only {layout.n_ctx:,} tokens of context, below the "
            f"{floor:,} Ember aims for: long prompts will be refused"
        )
    else:
        parts.append(f"{layout.n_ctx:,}-token context x {layout.n_slots} slots")
    if layout.kv_type != "f16":
        parts.append("q8_0 KV cache to save memory")
    if decode is None and not info.is_embedding_model:
        parts.append("speed not measured")
    elif decode is not None:
        parts.append(f"~{decode:.0f} tokens/s")
    return "; ".join(notes + parts)


def _wont_fit(
    machine: Machine,
    info: ModelInfo,
    shape: est.Shape,
    trained: int,
    capacity: int | None,
    name: str | None,
    want_ctx: int | None,
    want_slots: int | None,
    limit: int,
) -> LoadPlan:
    ctx = min(want_ctx or min(MIN_CONTEXT, trained), limit)
    slots = want_slots or 1
    weights, kv_size, compute, scratch, headroom = _parts(shape, ctx, slots, "q8_0")
    required = weights + kv_size + compute + scratch + headroom
    what = f"a {ctx:,}-token context" if want_ctx else "the smallest useful context"
    reason = (
        f"does not fit: the weights alone are {_gib(weights)} and {what} needs "
        f"{_gib(required)} in all, but only {_gib(capacity or 0)} is usable here"
    )
    if machine.cgroup_limit and machine.total_ram and machine.cgroup_limit < machine.total_ram:
        reason += f" (container limit {_gib(machine.cgroup_limit)})"
    return LoadPlan(
        model=_name(info, name),
        verdict="wont_fit",
        reason=reason,
        n_ctx=ctx,
        n_slots=slots,
        n_threads=machine.threads,
        n_gpu_layers=0,
        kv_type="q8_0",
        flash_attn=True,
        trained_ctx=trained,
        weights_bytes=weights,
        kv_bytes=kv_size,
        compute_bytes=compute,
        scratch_bytes=scratch,
        headroom_bytes=headroom,
        memory_bytes=weights + kv_size + compute,
        required_bytes=required,
        vram_bytes=0,
        budget_bytes=capacity,
        decode_tps=None,
        prompt_tps=None,
    )


def _name(info: ModelInfo, name: str | None) -> str:
    return name or info.name or info.architecture


def _gib(n: int) -> str:
    return f"{n / GiB:.1f} GiB"
