"""Run llama.cpp's own benchmark tools (built separately) for a side-by-side reference."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any


def llama_bench(bin_dir: Path, model: Path, threads: int) -> dict[str, float]:
    """Prompt (pp512) and decode (tg128) tokens/s from ``llama-bench``, flash attention off."""
    out = subprocess.run(
        [
            str(bin_dir / "llama-bench"),
            "-m",
            str(model),
            "-t",
            str(threads),
            "-p",
            "512",
            "-n",
            "128",
            "-o",
            "json",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rows: list[dict[str, Any]] = json.loads(out)
    result = {}
    for row in rows:
        key = "prompt_tps" if row.get("n_prompt") else "decode_tps"
        result[key] = float(row["avg_ts"])
    return result


def batched_bench(
    bin_dir: Path, model: Path, threads: int, streams: tuple[int, ...] = (1, 2, 4, 8)
) -> dict[int, float]:
    """Aggregate decode tokens/s per number of parallel sequences (``llama-batched-bench``)."""
    out = subprocess.run(
        [
            str(bin_dir / "llama-batched-bench"),
            "-m",
            str(model),
            "-t",
            str(threads),
            "-c",
            "4096",
            "-b",
            "512",
            "-ub",
            "512",
            "-npp",
            "16",
            "-ntg",
            "64",
            "-npl",
            ",".join(map(str, streams)),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[int, float] = {}
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if (
            len(cells) >= 8
            and re.fullmatch(r"\d+", cells[0])
            and re.fullmatch(r"\d+", cells[2] or "")
        ):
            result[int(cells[2])] = float(cells[7])  # S_TG t/s
    return result
