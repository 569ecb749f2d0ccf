"""`ember doctor`: check the install, llama.cpp, models, port, disk and EMBER_HOME."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer

from ember.cli.context import get_state
from ember.cli.render import console

MARK = {"ok": "[green]✓[/]", "warn": "[yellow]![/]", "fail": "[red]✗[/]"}


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)


def doctor(
    ctx: typer.Context,
    fast: Annotated[
        bool, typer.Option("--fast", help="Skip hashing model files (slow for big models).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Find what is wrong with this Ember install, with a fix for each problem.

    Exits with status 1 when any check fails.
    """
    from ember.cli.probe import ember_answers
    from ember.diagnostics import run_all

    state = get_state(ctx)
    runtime = state.runtime()
    checks = run_all(
        runtime.settings,
        runtime.models.installed(),
        hashes=not fast,
        ember_answers=ember_answers,
    )
    failed = [c for c in checks if c.status == "fail"]
    if as_json:
        console.print_json(json.dumps([asdict(c) for c in checks]))
    else:
        for check in checks:
            console.print(
                f"{MARK[check.status]} [bold]{check.area:10}[/] {check.detail}", highlight=False
            )
            if check.fix and check.status != "ok":
                console.print(f"  [dim]fix:[/] {check.fix}", highlight=False)
        summary = f"{len(failed)} problem(s) found" if failed else "no problems found"
        console.print(f"\n{summary}", highlight=False)
    if failed:
        raise typer.Exit(1)
