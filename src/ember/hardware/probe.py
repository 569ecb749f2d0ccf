"""``probe_machine``: every probe together, each degrading to "unknown" on its own."""

from __future__ import annotations

import platform
import shutil
from pathlib import Path

from ember.hardware.cpu import read_cpu
from ember.hardware.gpu import amd_gpus, apple_gpu, nvidia_gpus
from ember.hardware.llama_build import read_llama_build
from ember.hardware.machine import Machine
from ember.hardware.memory import read_cgroup_cpu_quota, read_cgroup_memory, read_ram
from ember.hardware.speed_probe import cached_speeds, machine_key


def probe_machine(home: Path | None = None, *, measure: bool = False) -> Machine:
    """Describe this machine. ``measure`` runs the bandwidth/compute probes (under a
    second, once per machine: cached in ``home``); without it only cached speeds are used.
    """
    notes: list[str] = []
    ram = read_ram()
    cgroup = read_cgroup_memory()
    build = read_llama_build()
    if build.error:
        notes.append(f"llama.cpp could not be loaded: {build.error}")
    cpu = read_cpu(system_info=build.system_info or None)
    gpus = nvidia_gpus() + amd_gpus() + apple_gpu(ram.total)
    key = machine_key(cpu.model, cpu.logical_cores, ram.total)
    speeds = cached_speeds(home, key, measure=measure)
    if ram.total is None:
        notes.append("total memory unknown")
    if speeds.memory_bandwidth is None:
        notes.append("memory bandwidth not measured (speeds are not predicted)")
    return Machine(
        total_ram=ram.total,
        available_ram=ram.available,
        cgroup_limit=cgroup.limit,
        cgroup_usage=cgroup.usage,
        cpu_model=cpu.model,
        physical_cores=cpu.physical_cores,
        logical_cores=cpu.logical_cores,
        cpu_quota=read_cgroup_cpu_quota(),
        cpu_flags=cpu.flags,
        gpus=gpus,
        backends=build.backends,
        gpu_offload=build.gpu_offload,
        disk_free=disk_free_under(home),
        memory_bandwidth=speeds.memory_bandwidth,
        compute_flops=speeds.compute_flops,
        os=platform.system() or "unknown",
        arch=platform.machine() or "unknown",
        notes=tuple(notes),
    )


def disk_free_under(home: Path | None) -> int | None:
    """Free bytes on the file system holding ``home`` (its nearest existing parent)."""
    if home is None:
        return None
    path = home
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return None
