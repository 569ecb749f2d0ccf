"""Short measurements of memory bandwidth and compute, cached per machine.

Decoding one token reads every weight once, so decode speed is bound by memory
bandwidth; reading a prompt is matrix multiplication, bound by compute. Both probes take
well under a second together, and their result is kept in EMBER_HOME/hardware.json under
a key naming the machine, so only the first ``ember fit`` on a machine pays for them.
"""

from __future__ import annotations

import hashlib
import json
import platform
import time
from dataclasses import dataclass
from pathlib import Path

CACHE_FILE = "hardware.json"
BANDWIDTH_BYTES = 256 << 20  # far past any CPU cache (smaller arrays read ~half as fast here)
MATMUL_N = 512


@dataclass(frozen=True)
class Speeds:
    memory_bandwidth: float | None  # bytes/s moved (read + write) by a large copy
    compute_flops: float | None  # float32 FLOP/s of a square matmul


def machine_key(cpu_model: str | None, logical_cores: int | None, total_ram: int | None) -> str:
    """Names the hardware: a cached measurement is reused only on the same kind of machine."""
    raw = f"{platform.machine()}|{cpu_model}|{logical_cores}|{total_ram}"
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def measure_bandwidth(nbytes: int = BANDWIDTH_BYTES, repeats: int = 3) -> float | None:
    """Bytes/s of ``numpy.copyto`` over ``nbytes``: the best of a few timed copies."""
    try:
        import numpy as np
    except ImportError:
        return None
    try:
        src = np.ones(nbytes // 8, dtype=np.float64)
        dst = np.empty_like(src)
        np.copyto(dst, src)  # first touch: page faults, not bandwidth
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            np.copyto(dst, src)
            best = min(best, time.perf_counter() - start)
    except MemoryError:
        return None
    return 2 * src.nbytes / best if best > 0 else None


def measure_compute(n: int = MATMUL_N, repeats: int = 5) -> float | None:
    """Float32 FLOP/s of an n x n matmul (numpy's BLAS, all cores): the best of a few."""
    try:
        import numpy as np
    except ImportError:
        return None
    a = np.ones((n, n), dtype=np.float32)
    b = np.ones((n, n), dtype=np.float32)
    a @ b  # warm up the BLAS threads
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best if best > 0 else None


def cached_speeds(home: Path | None, key: str, *, measure: bool = True) -> Speeds:
    """The cached speeds for ``key``; measured (and cached) when absent and ``measure``."""
    cache = _load(home)
    entry = cache.get(key)
    if isinstance(entry, dict):
        return Speeds(_num(entry.get("memory_bandwidth")), _num(entry.get("compute_flops")))
    if not measure:
        return Speeds(None, None)
    speeds = Speeds(measure_bandwidth(), measure_compute())
    if home is not None:
        cache[key] = {
            "memory_bandwidth": speeds.memory_bandwidth,
            "compute_flops": speeds.compute_flops,
            "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        _save(home, cache)
    return speeds


def _load(home: Path | None) -> dict[str, object]:
    if home is None:
        return {}
    try:
        data = json.loads((home / CACHE_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _save(home: Path, cache: dict[str, object]) -> None:
    try:
        home.mkdir(parents=True, exist_ok=True)
        tmp = home / (CACHE_FILE + ".tmp")
        tmp.write_text(json.dumps(cache, indent=2))
        tmp.replace(home / CACHE_FILE)
    except OSError:
        pass  # a read-only home only means measuring again next time


def _num(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and value > 0 else None
