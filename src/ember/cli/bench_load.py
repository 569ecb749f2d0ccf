"""`ember bench load`: many users streaming from a running Ember at once, a share of
them hanging up, then the stored conversations checked against what they saw."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer

from ember.cli.bench import bench_app
from ember.cli.render import console


def register() -> None:
    """Nothing to add: importing this module adds the command to ``ember bench``."""


@bench_app.command("load")
def load(
    url: Annotated[
        str, typer.Option("--url", help="The Ember to load.")
    ] = "http://127.0.0.1:11434",
    model: Annotated[str, typer.Option("--model", "-m", help="The model to ask.")] = "smollm2:135m",
    users: Annotated[int, typer.Option(min=1, help="Users streaming at once.")] = 32,
    seconds: Annotated[float, typer.Option(min=1, help="How long new questions start.")] = 60,
    hang_up: Annotated[
        float, typer.Option("--hang-up", min=0, max=1, help="Share of streams dropped.")
    ] = 1 / 3,
    max_tokens: Annotated[int, typer.Option(min=1, help="Each answer's length limit.")] = 32,
    key: Annotated[
        str | None, typer.Option("--key", envvar="EMBER_BENCH_KEY", help="An API key, if needed.")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the JSON report here.")
    ] = None,
) -> None:
    """Answers, hang-ups, status codes, TTFT p50/p95, and whether the database holds
    exactly what the clients saw with every slot free at the end."""
    from ember.bench.load import run_load

    headers = {"Authorization": f"Bearer {key}"} if key else None
    report = asyncio.run(
        run_load(
            url,
            model=model,
            users=users,
            seconds=seconds,
            hang_up_share=hang_up,
            max_tokens=max_tokens,
            headers=headers,
        )
    )
    data = report.to_dict()
    console.print_json(json.dumps(data))
    if output is not None:
        output.write_text(json.dumps(data, indent=2))
    if not report.ok:
        raise typer.Exit(1)
