"""How much memory models may use here: the planner's budget and the pool's.

Free memory now (available RAM, or what the container limit leaves) rather than total
RAM, because the browser and the editor are also running; at most 90% of the effective
total, leaving the OS its page cache; less the Ember process itself.
"""

from __future__ import annotations

from ember.hardware.machine import Machine

MiB = 1 << 20
PROCESS_BYTES = 160 * MiB  # Python, FastAPI, numpy, llama.cpp's code: Ember without models
OS_SHARE = 0.9
GPU_RESERVE = 512 * MiB  # the driver's context and the display


def memory_budget(machine: Machine) -> int | None:
    """Bytes of RAM that loaded models may use together; None when memory is unknown."""
    total = machine.effective_memory
    free = machine.free_memory
    if total is None and free is None:
        return None
    cap = int(total * OS_SHARE) if total else None
    usable = min(x for x in (cap, free) if x is not None)
    return max(0, usable - PROCESS_BYTES)


def gpu_budget(machine: Machine) -> int:
    """Bytes of dedicated GPU memory llama.cpp can use (0 when the build cannot offload).
    Unified memory (Apple) is RAM already counted in ``memory_budget``."""
    if not machine.gpu_offload:
        return 0
    total = 0
    for gpu in machine.gpus:
        if gpu.unified:
            continue
        free = gpu.free_memory if gpu.free_memory is not None else gpu.total_memory
        if free:
            total += max(0, free - GPU_RESERVE)
    return total
