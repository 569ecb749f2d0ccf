"""`ember serve`: the OpenAI- and Ollama-compatible server on this machine."""

from __future__ import annotations

from typing import Annotated

import typer

from ember.cli.context import get_state
from ember.cli.render import console


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


def serve(
    ctx: typer.Context,
    host: Annotated[
        str | None,
        typer.Option(help="Address to bind (default 127.0.0.1; others need an API key)."),
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port (default 11435; 11434 stands in for Ollama).")
    ] = None,
    n_ctx: Annotated[
        int | None,
        typer.Option("--ctx", help="Context tokens per request (default: what fits here)."),
    ] = None,
    context_extension: Annotated[
        str | None,
        typer.Option(
            "--context-extension",
            help="yarn or linear: RoPE scaling for a --ctx or num_ctx past a model's "
            "trained length (default none: held to it).",
        ),
    ] = None,
    threads: Annotated[
        int | None, typer.Option(help="CPU threads (default: the physical cores).")
    ] = None,
    parallel: Annotated[
        int | None, typer.Option(help="Requests one model serves at once (default: fit).")
    ] = None,
    gpu_layers: Annotated[
        int | None,
        typer.Option("--gpu-layers", help="Layers on the GPU (default: all that fit)."),
    ] = None,
) -> None:
    """Serve the OpenAI (/v1) and Ollama (/api) APIs.

    Loopback needs no key; any other --host needs accounts (`ember users add`) or an API
    key (`ember keys create`).
    """
    import uvicorn

    from ember.server.app import check_bind, create_app
    from ember.server.auth import key_required

    state = get_state(ctx)
    state.override(
        context_length=n_ctx,
        context_extension=context_extension,
        threads=threads,
        parallel=parallel,
        gpu_layers=gpu_layers,
    )
    settings = state.settings()
    bind_host = host or settings.host
    bind_port = port or settings.port
    runtime = state.runtime()
    check_bind(bind_host, runtime.keys, runtime.users)
    state.register_starters()
    app = create_app(runtime, host=bind_host)
    console.print(
        f"Ember is serving on [bold]http://{bind_host}:{bind_port}[/] (OpenAI: /v1, Ollama: /api)"
    )
    if runtime.users.any():
        console.print(
            "Accounts are on: the page asks users to sign in; API requests need a user's "
            "key ([bold]ember keys create --user NAME[/])"
        )
    elif key_required(bind_host, settings.auth, runtime.keys):
        console.print(
            "API requests need a key: [bold]Authorization: Bearer <key>[/] "
            "(`ember keys list` shows them)"
        )
    uvicorn.run(app, host=bind_host, port=bind_port, log_level="warning")
