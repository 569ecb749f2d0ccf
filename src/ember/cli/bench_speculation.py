"""`ember bench speculation`: what drafts buy on answers that copy their input."""

from __future__ import annotations

import json
import os
import platform
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from ember.cli.bench import bench_app
from ember.cli.context import get_state
from ember.cli.render import console, err_console
from ember.config import DEFAULT_DRAFT_TOKENS, MAX_DRAFT_TOKENS


def register() -> None:
    """Nothing to add: importing this module adds the command to ``ember bench``."""


@bench_app.command("speculation")
def speculation(
    ctx: typer.Context,
    models: Annotated[
        list[str] | None,
        typer.Option("--model", "-m", help="Models to measure (default: the starters)."),
    ] = None,
    draft_tokens: Annotated[
        int,
        typer.Option("--draft-tokens", min=1, max=MAX_DRAFT_TOKENS, help="Most drafts per step."),
    ] = DEFAULT_DRAFT_TOKENS,
    rounds: Annotated[int, typer.Option(min=1, help="Interleaved rounds (medians).")] = 3,
    threads: Annotated[int | None, typer.Option(help="CPU threads (default: all cores).")] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the JSON report here.")
    ] = None,
) -> None:
    """Decode speed with and without speculative decoding (drafts looked up in the
    answer's own prompt) on a quote, a code edit and a story, greedy, medians of
    interleaved rounds; and whether the text came out the same."""
    from ember.bench.speculation_bench import measure
    from ember.engine.llamacpp import LlamaCppEngine, LoadOptions

    state = get_state(ctx)
    state.register_starters()
    store = state.runtime().models
    n_threads = threads or os.cpu_count() or 1
    report: dict[str, Any] = {
        "benchmark": "ember bench speculation",
        "measured_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "threads": n_threads,
        "draft_tokens": draft_tokens,
        "rounds": rounds,
        "models": [],
    }
    for name in models or ["qwen2.5-coder:0.5b", "smollm2:135m"]:
        record = store.get(name)
        err_console.print(f"[dim]measuring {record.name} with {n_threads} threads…[/]")
        options = LoadOptions(n_ctx=4096, n_slots=1, n_threads=n_threads)
        engine = LlamaCppEngine(
            record.path, name=record.name, digest=record.digest, options=options
        )
        try:
            rows = measure(
                engine, draft_tokens, rounds, progress=lambda m: err_console.print(f"[dim]{m}[/]")
            )
            costs = engine.scheduler.step_costs  # timed before the first drafted answer
        finally:
            engine.close()
        report["models"].append(
            {
                "model": record.name,
                "step_costs": list(costs.of_drafts) if costs is not None else None,
                "rows": rows,
            }
        )
        _print(record.name, rows)
    if output is not None:
        output.write_text(json.dumps(report, indent=2) + "\n")
        err_console.print(f"[dim]report written to {output}[/]")


def _print(model: str, rows: list[dict[str, Any]]) -> None:
    table = Table(title=model, title_justify="left")
    for column in ("answer", "plain tok/s", "with drafts", "speed-up", "drafts confirmed", "text"):
        table.add_column(column, justify="left" if column in ("answer", "text") else "right")
    for r in rows:
        same = "same" if r["same_text"] else f"parts at token {r['first_difference']}"
        edited = f", {r['new_text_uses']} renamed" if r["new_text_uses"] is not None else ""
        table.add_row(
            f"{r['task']} ({r['answer_tokens']} tokens{edited})",
            f"{r['plain_tps']:.1f}",
            f"{r['draft_tps']:.1f}",
            f"{r['speedup']:.2f}×" if r["speedup"] else "–",
            f"{r['confirmed']} / {r['drafted']}",
            same,
        )
    console.print(table)
