"""What this machine offers a model: memory, cores, accelerators, disk, speed.

A plain frozen dataclass, so ``fit`` stays a pure function and tests describe a laptop,
a GPU desktop or a small container by hand. Unknown facts are ``None`` (or empty), never
guessed here: the probe degrades, and ``fit`` decides how to treat what is missing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

GiB = 1 << 30


@dataclass(frozen=True)
class GPU:
    """One accelerator with its own memory (or unified memory, on Apple silicon)."""

    name: str
    vendor: str  # nvidia | amd | apple
    total_memory: int | None
    free_memory: int | None = None
    bandwidth: float | None = None  # bytes/s, from the memory clock and bus width
    unified: bool = False  # shares system RAM (Apple): no separate budget


@dataclass(frozen=True)
class Machine:
    """A snapshot of the machine, as ``probe_machine`` sees it."""

    total_ram: int | None
    available_ram: int | None = None
    cgroup_limit: int | None = None  # container memory limit, None when unlimited
    cgroup_usage: int | None = None
    cpu_model: str | None = None
    physical_cores: int | None = None
    logical_cores: int | None = None
    cpu_quota: float | None = None  # CPUs a container may use (cgroup cpu.max), None: all
    cpu_flags: tuple[str, ...] = ()
    gpus: tuple[GPU, ...] = ()
    backends: tuple[str, ...] = ("cpu",)  # llama.cpp backends this build has
    gpu_offload: bool = False  # llama.cpp can put layers on an accelerator
    disk_free: int | None = None  # under EMBER_HOME
    memory_bandwidth: float | None = None  # bytes/s, measured (numpy copy)
    compute_flops: float | None = None  # float32 FLOP/s, measured (numpy matmul)
    os: str = "unknown"
    arch: str = "unknown"
    notes: tuple[str, ...] = field(default=())  # what could not be probed, in words

    @property
    def effective_memory(self) -> int | None:
        """Memory a process may use at most: RAM, or the container limit when lower."""
        known = [m for m in (self.total_ram, self.cgroup_limit) if m]
        return min(known) if known else None

    @property
    def free_memory(self) -> int | None:
        """Memory free now: available RAM, or what the container limit leaves when lower."""
        known = [m for m in (self.available_ram, self.total_ram) if m]
        free = min(known) if known else None
        if self.cgroup_limit:
            left = self.cgroup_limit - (self.cgroup_usage or 0)
            free = left if free is None else min(free, left)
        return free

    @property
    def threads(self) -> int:
        """Threads for llama.cpp: physical cores (hyper-threads slow decode), within quota."""
        cores = self.physical_cores or self.logical_cores or 1
        if self.cpu_quota is not None:
            cores = min(cores, max(1, int(self.cpu_quota)))
        return max(1, cores)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
