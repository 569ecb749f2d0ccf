"""RAM and container memory limits.

Containers see the host's RAM in /proc/meminfo but are killed at their cgroup limit, so
the limit (v2 ``memory.max`` or v1 ``memory.limit_in_bytes``) decides what really fits.
Paths take a root so tests point them at a fake /sys.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# cgroup v1 reports "no limit" as a huge page-aligned number; anything this large is none.
_UNLIMITED = 1 << 60


@dataclass(frozen=True)
class MemoryInfo:
    total: int | None
    available: int | None


@dataclass(frozen=True)
class CgroupMemory:
    limit: int | None
    usage: int | None


def read_ram() -> MemoryInfo:
    """Total and available RAM from psutil; sysconf as a fallback; None when unknown."""
    try:
        import psutil

        vm = psutil.virtual_memory()
        return MemoryInfo(total=int(vm.total), available=int(vm.available))
    except (ImportError, OSError, RuntimeError):
        pass
    try:
        import os

        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        return MemoryInfo(total=int(total), available=None)
    except (ValueError, OSError, AttributeError):
        return MemoryInfo(total=None, available=None)


def read_cgroup_memory(
    sys_root: Path = Path("/sys/fs/cgroup"), proc_self_cgroup: Path = Path("/proc/self/cgroup")
) -> CgroupMemory:
    """This process's cgroup memory limit and usage (v2, then v1); None where there is none."""
    membership = _membership(proc_self_cgroup)
    v2_dirs = [sys_root / membership.get("", "/").lstrip("/"), sys_root]
    for base in v2_dirs:
        limit = _read_int(base / "memory.max")
        if limit is not None or (base / "memory.max").is_file():
            return CgroupMemory(limit=_limit(limit), usage=_read_int(base / "memory.current"))
    v1 = sys_root / "memory"
    for base in (v1 / membership.get("memory", "/").lstrip("/"), v1):
        limit = _read_int(base / "memory.limit_in_bytes")
        if limit is not None:
            usage = _read_int(base / "memory.usage_in_bytes")
            return CgroupMemory(limit=_limit(limit), usage=usage)
    return CgroupMemory(limit=None, usage=None)


def read_cgroup_cpu_quota(
    sys_root: Path = Path("/sys/fs/cgroup"), proc_self_cgroup: Path = Path("/proc/self/cgroup")
) -> float | None:
    """CPUs this cgroup may use (``cpu.max`` quota/period, or v1 cfs files); None: no quota."""
    membership = _membership(proc_self_cgroup)
    for base in (sys_root / membership.get("", "/").lstrip("/"), sys_root):
        text = _read_text(base / "cpu.max")
        if text is not None:
            quota, _, period = text.partition(" ")
            if quota == "max" or not period:
                return None
            return _ratio(quota, period)
    v1 = sys_root / "cpu"
    quota_text = _read_text(v1 / "cpu.cfs_quota_us")
    period_text = _read_text(v1 / "cpu.cfs_period_us")
    if quota_text is None or period_text is None or quota_text.startswith("-"):
        return None
    return _ratio(quota_text, period_text)


def _membership(path: Path) -> dict[str, str]:
    """controller -> cgroup path, from /proc/self/cgroup ('' is the v2 unified hierarchy)."""
    text = _read_text(path) or ""
    out: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            for controller in parts[1].split(","):
                out[controller] = parts[2]
    return out


def _limit(value: int | None) -> int | None:
    return None if value is None or value >= _UNLIMITED else value


def _ratio(quota: str, period: str) -> float | None:
    try:
        q, p = int(quota), int(period)
    except ValueError:
        return None
    return q / p if q > 0 and p > 0 else None


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None


def _read_int(path: Path) -> int | None:
    text = _read_text(path)
    if text is None:
        return None
    if text == "max":
        return _UNLIMITED
    try:
        return int(text)
    except ValueError:
        return None
