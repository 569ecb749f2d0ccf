"""CPU model, core counts and instruction-set features.

Threads matter (llama.cpp decodes fastest on physical cores, not hyper-threads) and so do
ISA features (AVX2, AVX-512, NEON decide which kernels run). /proc/cpuinfo is read where
it exists; llama.cpp's own system info fills the gaps on other systems.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from pathlib import Path

# The features worth showing: the ones llama.cpp's CPU kernels are built around.
INTERESTING = (
    "sse3",
    "ssse3",
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx512f",
    "avx512bw",
    "avx512_vnni",
    "avx512_bf16",
    "avx_vnni",
    "amx_int8",
    "amx_bf16",
    "neon",
    "asimd",
    "sve",
    "dotprod",
    "i8mm",
)


@dataclass(frozen=True)
class CpuInfo:
    model: str | None
    physical_cores: int | None
    logical_cores: int | None
    flags: tuple[str, ...]


def read_cpu(cpuinfo: Path = Path("/proc/cpuinfo"), system_info: str | None = None) -> CpuInfo:
    """What /proc/cpuinfo, psutil and llama.cpp's system info say about the CPU."""
    text = _read(cpuinfo)
    model = _field(text, ("model name", "Hardware", "cpu model")) or _fallback_model()
    flags = set(_field(text, ("flags", "Features")).split()) if text else set()
    if system_info is not None:
        flags |= _flags_from_system_info(system_info)
    logical, physical = _core_counts(text)
    return CpuInfo(
        model=model,
        physical_cores=physical,
        logical_cores=logical,
        flags=tuple(f for f in INTERESTING if f in flags),
    )


def _core_counts(cpuinfo_text: str) -> tuple[int | None, int | None]:
    logical: int | None = None
    physical: int | None = None
    try:
        import psutil

        logical = psutil.cpu_count(logical=True)
        physical = psutil.cpu_count(logical=False)
    except (ImportError, OSError, RuntimeError):
        pass
    logical = logical or os.cpu_count()
    if physical is None and cpuinfo_text:
        cores = {
            (block.get("physical id", "0"), block.get("core id"))
            for block in _blocks(cpuinfo_text)
            if block.get("core id") is not None
        }
        physical = len(cores) or None
    return logical, physical or logical


def _flags_from_system_info(info: str) -> set[str]:
    """'CPU : SSE3 = 1 | AVX2 = 1 | …' -> {'sse3', 'avx2', …} (only the ones set to 1)."""
    flags = set()
    for part in info.replace("|", "\n").splitlines():
        name, sep, value = part.rpartition("=")
        if sep and value.strip() == "1":
            flags.add(name.split(":")[-1].strip().lower().replace("-", "_"))
    return flags


def _blocks(text: str) -> list[dict[str, str]]:
    blocks = []
    for chunk in text.split("\n\n"):
        block = {}
        for line in chunk.splitlines():
            key, sep, value = line.partition(":")
            if sep:
                block[key.strip()] = value.strip()
        if block:
            blocks.append(block)
    return blocks


def _field(text: str, keys: tuple[str, ...]) -> str:
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() in keys and value.strip():
            return value.strip()
    return ""


def _fallback_model() -> str | None:
    return platform.processor() or platform.machine() or None


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""
