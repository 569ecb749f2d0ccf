"""`ember fit`: which models run well on this machine, how they would be loaded, and why."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from ember.cli.context import get_state
from ember.cli.render import console, human_size

VERDICT_STYLE = {"great": "green", "usable": "yellow", "slow": "dark_orange", "wont_fit": "red"}
VERDICT_TEXT = {"great": "great", "usable": "usable", "slow": "slow", "wont_fit": "won't fit"}


def register(app: typer.Typer) -> None:
    app.command("fit")(fit_command)


def fit_command(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
    embedding: Annotated[
        bool, typer.Option("--embedding", help="Include embedding models.")
    ] = False,
) -> None:
    """Rate every catalogue and installed model for this machine: verdict, speed, context.

    Measures memory bandwidth and compute once (under a second; cached in EMBER_HOME).
    """
    from ember.fit.catalogue import catalogue_rows, rank, recommend
    from ember.hardware import probe_machine

    state = get_state(ctx)
    state.register_starters()
    runtime = state.runtime()
    machine = probe_machine(runtime.settings.home, measure=True)
    installed = {r.name: r.info for r in runtime.models.installed() if r.info is not None}
    rows = rank(catalogue_rows(machine, installed))
    if not embedding:
        rows = [r for r in rows if r.kind == "chat"]
    best = recommend(rows)
    if as_json:
        console.print_json(
            json.dumps(
                {
                    "machine": machine.to_dict(),
                    "recommended": best.name if best else None,
                    "models": [_row_json(r) for r in rows],
                }
            )
        )
        return
    console.print(_machine_line(machine), highlight=False)
    table = Table(box=None, pad_edge=False)
    for column in ("MODEL", "VERDICT", "TOKENS/S", "CONTEXT", "MEMORY", "DOWNLOAD", "WHY"):
        table.add_column(column, no_wrap=column != "WHY")
    for r in rows:
        p = r.plan
        style = VERDICT_STYLE[p.verdict]
        table.add_row(
            r.name + (" [dim](installed)[/]" if r.installed else ""),
            f"[{style}]{VERDICT_TEXT[p.verdict]}[/]",
            f"{p.decode_tps:.0f}" if p.decode_tps else "-",
            f"{p.n_ctx:,} x{p.n_slots}" if p.fits else "-",
            human_size(p.required_bytes),
            human_size(r.download_bytes) if r.download_bytes else "-",
            p.reason,
        )
    console.print(table)
    if best is not None:
        verb = "run" if best.installed else "pull"
        console.print(
            f"Recommended: [bold]{best.name}[/] ({VERDICT_TEXT[best.plan.verdict]}, "
            f"~{best.plan.decode_tps or 0:.0f} tokens/s) — `ember {verb} {best.name}`",
            highlight=False,
        )
    else:
        console.print("[red]No catalogue chat model fits this machine's free memory.[/]")


def _machine_line(machine: Any) -> str:
    from ember.fit.budget import gpu_budget, memory_budget

    ram = memory_budget(machine)
    gpus = ", ".join(g.name for g in machine.gpus) or "no GPU"
    bandwidth = (
        f"{machine.memory_bandwidth / 1e9:.0f} GB/s" if machine.memory_bandwidth else "? GB/s"
    )
    return (
        f"{machine.cpu_model or 'CPU'} · {machine.threads} threads · "
        f"{human_size(ram)} free for models · {bandwidth} memory · {gpus}"
        + (f" ({human_size(gpu_budget(machine))} usable)" if gpu_budget(machine) else "")
        + f" · llama.cpp: {', '.join(machine.backends)}"
    )


def _row_json(row: Any) -> dict[str, Any]:
    return {
        "name": row.name,
        "kind": row.kind,
        "installed": row.installed,
        "download_bytes": row.download_bytes,
        "description": row.description,
        **row.plan.to_dict(),
    }
