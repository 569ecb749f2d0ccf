"""From a plan to what the engine and the pool take: ``LoadOptions`` and a memory budget."""

from __future__ import annotations

from ember.engine.llamacpp import LoadOptions
from ember.fit.budget import gpu_budget, memory_budget
from ember.fit.plan import LoadPlan
from ember.hardware.machine import Machine

FALLBACK_SHARE = 0.75  # of total RAM, when free memory is unknown
FALLBACK_BYTES = 8 << 30


def load_options(plan: LoadPlan) -> LoadOptions:
    """The engine options the plan chose (the engine clamps n_ctx to the trained length)."""
    return LoadOptions(
        n_ctx=plan.n_ctx,
        n_slots=plan.n_slots,
        n_threads=plan.n_threads,
        n_gpu_layers=plan.n_gpu_layers,
        kv_type=plan.kv_type,
        flash_attn=True if plan.flash_attn else LoadOptions.flash_attn,
    )


def pool_budget(machine: Machine) -> int:
    """Bytes the engine pool lets loaded models hold together before unloading idle ones."""
    ram = memory_budget(machine)
    if ram is None:
        total = machine.effective_memory
        return int(total * FALLBACK_SHARE) if total else FALLBACK_BYTES
    return ram + gpu_budget(machine)
