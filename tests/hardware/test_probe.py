"""The probes: on this machine, and over fake /proc and /sys trees."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ember.hardware import GPU, GiB, Machine, probe_machine, speed_probe
from ember.hardware.cpu import read_cpu
from ember.hardware.gpu import amd_gpus
from ember.hardware.llama_build import read_llama_build
from ember.hardware.memory import read_cgroup_cpu_quota, read_cgroup_memory


def test_probe_this_machine(tmp_path: Path) -> None:
    machine = probe_machine(tmp_path)
    assert machine.total_ram is not None
    assert machine.total_ram > 256 << 20
    assert machine.logical_cores is not None
    assert machine.logical_cores >= 1
    assert machine.threads >= 1
    assert "cpu" in machine.backends
    assert machine.disk_free is not None
    assert machine.disk_free > 0
    assert machine.effective_memory is not None
    json.dumps(machine.to_dict())  # plain data, ready for --json


def test_probe_without_measuring_leaves_speed_unknown(tmp_path: Path) -> None:
    machine = probe_machine(tmp_path, measure=False)
    assert machine.memory_bandwidth is None
    assert any("bandwidth" in note for note in machine.notes)


def test_llama_build_reports_cpu_backend() -> None:
    build = read_llama_build()
    assert build.error is None
    assert build.backends[0] == "cpu"
    assert "CPU" in build.system_info or build.system_info


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_cgroup_v2_limit_and_usage(tmp_path: Path) -> None:
    _write(tmp_path / "sys" / "memory.max", "4294967296\n")
    _write(tmp_path / "sys" / "memory.current", "1073741824\n")
    proc = _write(tmp_path / "cgroup", "0::/\n")
    mem = read_cgroup_memory(tmp_path / "sys", proc)
    assert mem.limit == 4 * GiB
    assert mem.usage == GiB


def test_cgroup_v2_unlimited_is_none(tmp_path: Path) -> None:
    _write(tmp_path / "sys" / "memory.max", "max\n")
    proc = _write(tmp_path / "cgroup", "0::/\n")
    assert read_cgroup_memory(tmp_path / "sys", proc).limit is None


def test_cgroup_v2_nested_group(tmp_path: Path) -> None:
    _write(tmp_path / "sys" / "user.slice" / "app" / "memory.max", "2147483648")
    proc = _write(tmp_path / "cgroup", "0::/user.slice/app\n")
    assert read_cgroup_memory(tmp_path / "sys", proc).limit == 2 * GiB


def test_cgroup_v1_limit_and_huge_means_none(tmp_path: Path) -> None:
    sys_root = tmp_path / "sys"
    _write(sys_root / "memory" / "memory.limit_in_bytes", "9223372036854771712")
    proc = _write(tmp_path / "cgroup", "4:memory:/docker/abc\n")
    assert read_cgroup_memory(sys_root, proc).limit is None
    _write(sys_root / "memory" / "memory.limit_in_bytes", str(3 * GiB))
    _write(sys_root / "memory" / "memory.usage_in_bytes", str(GiB))
    mem = read_cgroup_memory(sys_root, proc)
    assert (mem.limit, mem.usage) == (3 * GiB, GiB)


def test_no_cgroup_files_means_no_limit(tmp_path: Path) -> None:
    mem = read_cgroup_memory(tmp_path / "nothing", tmp_path / "missing")
    assert (mem.limit, mem.usage) == (None, None)


def test_cpu_quota(tmp_path: Path) -> None:
    proc = _write(tmp_path / "cgroup", "0::/\n")
    _write(tmp_path / "v2" / "cpu.max", "150000 100000")
    assert read_cgroup_cpu_quota(tmp_path / "v2", proc) == 1.5
    _write(tmp_path / "v2" / "cpu.max", "max 100000")
    assert read_cgroup_cpu_quota(tmp_path / "v2", proc) is None
    _write(tmp_path / "v1" / "cpu" / "cpu.cfs_quota_us", "-1")
    _write(tmp_path / "v1" / "cpu" / "cpu.cfs_period_us", "100000")
    assert read_cgroup_cpu_quota(tmp_path / "v1", proc) is None


CPUINFO = """processor\t: 0
model name\t: Example CPU 9000
physical id\t: 0
core id\t\t: 0
flags\t\t: fpu sse3 avx avx2 fma f16c avx512f

processor\t: 1
model name\t: Example CPU 9000
physical id\t: 0
core id\t\t: 0
flags\t\t: fpu sse3 avx avx2 fma f16c avx512f
"""


def test_cpuinfo_model_and_flags(tmp_path: Path) -> None:
    cpu = read_cpu(_write(tmp_path / "cpuinfo", CPUINFO))
    assert cpu.model == "Example CPU 9000"
    assert {"avx2", "avx512f", "fma"} <= set(cpu.flags)
    assert "fpu" not in cpu.flags  # only the features llama.cpp's kernels care about


def test_flags_from_llama_system_info_when_cpuinfo_is_missing(tmp_path: Path) -> None:
    info = "CPU : NEON = 1 | ARM_FMA = 1 | DOTPROD = 1 | SVE = 0 | "
    cpu = read_cpu(tmp_path / "missing", system_info=info)
    assert "neon" in cpu.flags
    assert "dotprod" in cpu.flags
    assert "sve" not in cpu.flags
    assert cpu.logical_cores is not None


def test_amd_gpu_from_sysfs(tmp_path: Path) -> None:
    device = tmp_path / "card0" / "device"
    _write(device / "vendor", "0x1002\n")
    _write(device / "mem_info_vram_total", str(16 * GiB))
    _write(device / "mem_info_vram_used", str(GiB))
    _write(tmp_path / "card1" / "device" / "vendor", "0x8086\n")  # an Intel iGPU: skipped
    (gpu,) = amd_gpus(tmp_path)
    assert gpu.vendor == "amd"
    assert gpu.total_memory == 16 * GiB
    assert gpu.free_memory == 15 * GiB


def test_machine_memory_and_threads_by_hand() -> None:
    machine = Machine(
        total_ram=64 * GiB,
        available_ram=60 * GiB,
        cgroup_limit=4 * GiB,
        cgroup_usage=GiB,
        physical_cores=16,
        logical_cores=32,
        cpu_quota=2.0,
        gpus=(GPU("RTX", "nvidia", 8 * GiB),),
    )
    assert machine.effective_memory == 4 * GiB
    assert machine.free_memory == 3 * GiB
    assert machine.threads == 2


def test_speeds_are_measured_once_and_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def fake_bandwidth() -> float:
        calls.append("bandwidth")
        return 2e10

    def fake_compute() -> float:
        calls.append("compute")
        return 5e10

    monkeypatch.setattr(speed_probe, "measure_bandwidth", fake_bandwidth)
    monkeypatch.setattr(speed_probe, "measure_compute", fake_compute)
    key = speed_probe.machine_key("cpu", 4, 8 * GiB)
    first = speed_probe.cached_speeds(tmp_path, key)
    second = speed_probe.cached_speeds(tmp_path, key)
    assert first == second
    assert first.memory_bandwidth == 2e10
    assert calls == ["bandwidth", "compute"]
    other = speed_probe.cached_speeds(tmp_path, speed_probe.machine_key("cpu", 8, 8 * GiB))
    assert other.memory_bandwidth == 2e10
    assert len(calls) == 4


def test_unreadable_cache_is_measured_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / speed_probe.CACHE_FILE).write_text("{not json")
    monkeypatch.setattr(speed_probe, "measure_bandwidth", lambda: 1e10)
    monkeypatch.setattr(speed_probe, "measure_compute", lambda: None)
    speeds = speed_probe.cached_speeds(tmp_path, "k")
    assert speeds.memory_bandwidth == 1e10
    assert speeds.compute_flops is None


def test_real_bandwidth_probe_returns_a_positive_number() -> None:
    assert (speed_probe.measure_bandwidth(16 << 20, repeats=1) or 0) > 0
    assert (speed_probe.measure_compute(64, repeats=1) or 0) > 0
