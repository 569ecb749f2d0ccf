"""`ember workers`: the inference workers this server spreads its models over.

A worker is a remote with ``worker = true`` in config.toml (another Ember, llama-server,
vLLM, Ollama, any OpenAI-compatible server). `ember workers` asks each one for its models
now (the health check) and shows what it serves and the load it reports in its own
metrics where it has them (requests running or waiting), which placement also uses.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

import typer
from rich.table import Table

from ember.chat.workers import WorkerPool
from ember.cli.context import get_state
from ember.cli.render import console
from ember.config import RemoteConfig
from ember.config_file import save_remote

workers_app = typer.Typer(
    help="Inference workers behind this server (scale-out).", invoke_without_command=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(workers_app, name="workers")


async def _status(pool: WorkerPool) -> list[dict[str, Any]]:
    await pool.refresh(force=True)
    await pool.refresh_load()
    return pool.status()


@workers_app.callback()
def show(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Each worker: healthy or not, its models, and the load it reports."""
    if ctx.invoked_subcommand is not None:
        return
    pool = get_state(ctx).runtime().backends.pool
    if pool is None:
        console.print(
            "No workers. Add one with [bold]ember workers add NAME --base-url URL[/] "
            "(another Ember, llama-server, vLLM or Ollama)."
        )
        return
    rows = asyncio.run(_status(pool))
    if as_json:
        console.print_json(json.dumps(rows))
        return
    table = Table(box=None, pad_edge=False)
    for column in ("NAME", "URL", "STATE", "LOAD", "MODELS"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["name"],
            row["url"],
            "up" if row["healthy"] else f"down: {row['last_error']}",
            "-" if row["load"] is None else f"{row['load']:g} running or waiting",
            ", ".join(row["models"]) or "-",
        )
    console.print(table)


@workers_app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A short name for the worker.")],
    base_url: Annotated[str, typer.Option("--base-url", help="Its OpenAI-compatible API.")],
    key_env: Annotated[
        str | None,
        typer.Option("--key-env", help="The environment variable holding its API key."),
    ] = None,
) -> None:
    """Add a worker to config.toml; its models then answer by their plain names."""
    settings = get_state(ctx).settings()
    try:
        remote = RemoteConfig.from_dict(
            {
                "name": name,
                "base_url": base_url,
                "worker": True,
                **({"api_key_env": key_env} if key_env else {}),
            }
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    save_remote(settings.config_file, remote)
    console.print(f"[green]✓[/] worker [bold]{name}[/] added to {settings.config_file}")
