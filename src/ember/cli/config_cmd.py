"""`ember config`: every setting, its value, where the value came from, and what it does."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from ember.cli.context import get_state
from ember.cli.render import console
from ember.config import describe


def register(app: typer.Typer) -> None:
    app.command("config")(config)


def config(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Show every setting with its value, its source (env, config.toml, default) and meaning."""
    settings = get_state(ctx).settings()
    rows = describe(settings)
    if as_json:
        data = [
            {
                "name": r.name,
                "value": str(r.value),
                "source": r.source,
                "env": r.env_var,
                "description": r.description,
            }
            for r in rows
        ]
        console.print_json(json.dumps(data))
        return
    table = Table(
        title=f"Ember settings (config file: {settings.config_file})", title_justify="left"
    )
    table.add_column("setting", style="bold")
    table.add_column("value")
    table.add_column("source", style="dim")
    table.add_column("description")
    for r in rows:
        table.add_row(f"{r.name}\n[dim]{r.env_var}[/]", str(r.value), r.source, r.description)
    console.print(table)
