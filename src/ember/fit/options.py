"""The engine pool's memory budget on a machine (the engine turns a plan into its
load options itself: ``ember.engine.loader.load_options``)."""

from __future__ import annotations

from ember.fit.budget import gpu_budget, memory_budget
from ember.hardware.machine import Machine

FALLBACK_SHARE = 0.75  # of total RAM, when free memory is unknown
FALLBACK_BYTES = 8 << 30


def pool_budget(machine: Machine) -> int:
    """Bytes the engine pool lets loaded models hold together before unloading idle ones."""
    ram = memory_budget(machine)
    if ram is None:
        total = machine.effective_memory
        return int(total * FALLBACK_SHARE) if total else FALLBACK_BYTES
    return ram + gpu_budget(machine)
