"""`ember bench`: honest numbers measured on this machine."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from ember.cli.context import get_state
from ember.cli.render import console, err_console

bench_app = typer.Typer(help="Measure Ember on this machine.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(bench_app, name="bench")


@bench_app.command("engine")
def engine(
    ctx: typer.Context,
    models: Annotated[
        list[str] | None,
        typer.Option("--model", "-m", help="Models to measure (default: the starters)."),
    ] = None,
    threads: Annotated[int | None, typer.Option(help="CPU threads (default: all cores).")] = None,
    llama_bin: Annotated[
        Path | None,
        typer.Option(
            "--llama-bin", help="A llama.cpp build's bin/ dir: also run llama-bench there."
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the JSON report here.")
    ] = None,
) -> None:
    """Decode and prompt speed, batching, prefix reuse, restart from disk, memory."""
    from ember.bench.engine_bench import run_in_subprocess
    from ember.bench.llama_tools import batched_bench, llama_bench

    state = get_state(ctx)
    state.register_starters()
    store = state.runtime().models
    n_threads = threads or os.cpu_count() or 1
    reports = []
    for name in models or ["qwen2.5-coder:0.5b", "smollm2:135m"]:
        record = store.get(name)
        err_console.print(f"[dim]measuring {record.name} with {n_threads} threads…[/]")
        report = run_in_subprocess(record.path, record.name, record.digest, n_threads)
        if llama_bin is not None:
            report["llama_bench"] = llama_bench(llama_bin, record.path, n_threads)
            report["llama_batched_bench"] = batched_bench(llama_bin, record.path, n_threads)
        reports.append(report)
        _print(report)
    if output is not None:
        output.write_text(json.dumps(reports, indent=2))
        err_console.print(f"[dim]report written to {output}[/]")


def _print(r: dict[str, Any]) -> None:
    table = Table(title=f"{r['model']}", title_justify="left")
    table.add_column("measure")
    table.add_column("Ember", justify="right")
    table.add_column("reference", justify="right")
    ref = r.get("llama_bench") or {}
    lcp = r["llama_cpp_python"]
    for key, label in (
        ("prompt_tps", "prompt tokens/s"),
        ("decode_tps", "decode tokens/s (1 stream)"),
    ):
        reference = f"llama-cpp-python {lcp[key]:.1f}"
        if key in ref:
            reference += f" · llama-bench {ref[key]:.1f}"
        table.add_row(label, f"{r['single'][key]:.1f}", reference)
    batched = r.get("llama_batched_bench") or {}
    for row in r["aggregate"]:
        n = row["streams"]
        reference = (
            f"llama-batched-bench {batched[n]:.1f}" if n in batched or str(n) in batched else ""
        )
        if not reference and str(n) in batched:
            reference = f"llama-batched-bench {batched[str(n)]:.1f}"
        table.add_row(
            f"aggregate decode, {n} streams", f"{row['tokens_per_s']:.1f} tok/s", reference
        )
        table.add_row(
            f"  longest wait for a token, {n} streams", f"{row['max_gap_s'] * 1000:.0f} ms", ""
        )
    reuse, fresh = r["multi_turn_reuse_ttft_s"], r["multi_turn_no_reuse_ttft_s"]
    table.add_row(
        "chat turn 1 → 10 TTFT, prefix reuse", f"{reuse[0]:.2f} s → {reuse[-1]:.2f} s", ""
    )
    table.add_row("chat turn 1 → 10 TTFT, no reuse", f"{fresh[0]:.2f} s → {fresh[-1]:.2f} s", "")
    rs = r["restart"]
    table.add_row(
        f"after restart, {rs['history_tokens']:.0f}-token chat TTFT",
        f"{rs['ttft_restored_s']:.2f} s (from disk)",
        f"recompute {rs['ttft_recomputed_s']:.2f} s",
    )
    table.add_row(
        "peak RSS",
        f"{r['peak_rss_bytes'] / 2**20:.0f} MiB",
        f"file {r['file_bytes'] / 2**20:.0f} MiB + KV {r['kv_bytes'] / 2**20:.0f} MiB",
    )
    console.print(table)
