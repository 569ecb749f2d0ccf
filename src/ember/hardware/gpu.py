"""Accelerators: NVIDIA through NVML (optional ``nvidia-ml-py``), AMD through sysfs,
Apple silicon's unified memory.

Each probe returns an empty tuple when its tool or device is missing: a machine without
a GPU, or without the optional library, is a normal machine, not an error.
"""

from __future__ import annotations

import contextlib
import platform
from pathlib import Path
from typing import Any

from ember.hardware.machine import GPU


def nvidia_gpus() -> tuple[GPU, ...]:
    """NVIDIA GPUs with total/free memory and peak bandwidth, if NVML can be loaded."""
    try:
        import pynvml
    except ImportError:
        return ()
    try:
        pynvml.nvmlInit()
    except Exception:  # noqa: BLE001 - NVML raises its own error classes (no driver, no GPU)
        return ()
    try:
        return tuple(_nvidia_gpu(pynvml, i) for i in range(pynvml.nvmlDeviceGetCount()))
    except Exception:  # noqa: BLE001 - a device that cannot be queried means no usable GPU
        return ()
    finally:
        with contextlib.suppress(Exception):  # shutting down a half-initialised NVML
            pynvml.nvmlShutdown()


def _nvidia_gpu(nvml: Any, index: int) -> GPU:
    handle = nvml.nvmlDeviceGetHandleByIndex(index)
    name = nvml.nvmlDeviceGetName(handle)
    mem = nvml.nvmlDeviceGetMemoryInfo(handle)
    bandwidth = None
    try:
        clock_mhz = nvml.nvmlDeviceGetMaxClockInfo(handle, nvml.NVML_CLOCK_MEM)
        bus_bits = nvml.nvmlDeviceGetMemoryBusWidth(handle)
        bandwidth = float(clock_mhz) * 1e6 * 2 * bus_bits / 8  # double data rate
    except Exception:  # noqa: BLE001 - older drivers lack these calls; speed stays unknown
        bandwidth = None
    return GPU(
        name=name.decode() if isinstance(name, bytes) else str(name),
        vendor="nvidia",
        total_memory=int(mem.total),
        free_memory=int(mem.free),
        bandwidth=bandwidth,
    )


def amd_gpus(drm: Path = Path("/sys/class/drm")) -> tuple[GPU, ...]:
    """AMD GPUs from the amdgpu driver's sysfs files (VRAM total and used)."""
    gpus = []
    for card in sorted(drm.glob("card[0-9]*")):
        device = card / "device"
        if _read(device / "vendor") != "0x1002":
            continue
        total = _read_int(device / "mem_info_vram_total")
        used = _read_int(device / "mem_info_vram_used")
        if not total:
            continue
        free = total - used if used is not None else None
        name = _read(device / "product_name") or f"AMD GPU ({card.name})"
        gpus.append(GPU(name=name, vendor="amd", total_memory=total, free_memory=free))
    return tuple(gpus)


def apple_gpu(total_ram: int | None) -> tuple[GPU, ...]:
    """Apple silicon: the GPU shares system memory (Metal may use roughly 3/4 of it)."""
    if platform.system() != "Darwin" or platform.machine() != "arm64":
        return ()
    usable = int(total_ram * 3 / 4) if total_ram else None
    return (GPU(name="Apple GPU", vendor="apple", total_memory=usable, unified=True),)


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _read_int(path: Path) -> int | None:
    text = _read(path)
    try:
        return int(text) if text else None
    except ValueError:
        return None
