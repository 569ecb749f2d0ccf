"""Model commands: pull, list, show, rm, cp."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from ember.cli.context import get_state
from ember.cli.render import RichProgress, console, human_size
from ember.models.gguf_info import format_parameters
from ember.models.store import ModelRecord


def register(app: typer.Typer) -> None:
    app.command("pull")(pull)
    app.command("list")(list_models)
    app.command("ls", hidden=True)(list_models)
    app.command("show")(show)
    app.command("rm")(rm)
    app.command("cp")(cp)


def pull(
    ctx: typer.Context,
    model: Annotated[
        str,
        typer.Argument(
            help="A catalogue name (qwen2.5-coder:0.5b), hf.co/OWNER/REPO[:QUANT], "
            "an Ollama name (llama3.2:1b) or a path to a .gguf file."
        ),
    ],
    name: Annotated[
        str | None, typer.Option("--name", "-n", help="Store the model under this name.")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Download even if the model will not fit here.")
    ] = False,
) -> None:
    """Download or import a model; resumes interrupted downloads and verifies sha256.

    A model that cannot fit this machine's memory is refused before the download
    (with the numbers and models that do fit); --force downloads it anyway.
    """
    from ember.fit.pull_check import FitPullCheck
    from ember.hardware import probe_machine

    runtime = get_state(ctx).runtime()
    check = None if force else FitPullCheck(probe_machine(runtime.settings.home))
    with RichProgress() as progress:
        record = runtime.models.pull(model, name=name, progress=progress, check=check)
    console.print(
        f"[green]✓[/] {record.name}  {human_size(record.size)}  {record.digest[:19]}",
        highlight=False,
    )


def list_models(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """List the models on this machine."""
    import asyncio

    state = get_state(ctx)
    state.register_starters()
    runtime = state.runtime()
    records = runtime.models.installed()
    remotes = asyncio.run(runtime.backends.remote_models()) if runtime.backends.remotes else []
    if as_json:
        rows = [_summary(r) for r in records]
        rows += [{"name": m.name, "source": f"remote {m.url}"} for m in remotes]
        console.print_json(json.dumps(rows))
        return
    if not records and not remotes:
        console.print(
            "No models. Try [bold]ember pull smollm2:135m[/] or install 'ember-ai[starter]'."
        )
        return
    table = Table(box=None, pad_edge=False)
    for column in ("NAME", "ID", "SIZE", "PARAMS", "QUANT", "CONTEXT", "SOURCE", "MODIFIED"):
        table.add_column(column)
    for r in records:
        info = r.info
        table.add_row(
            r.name if r.available else f"{r.name} [red](file missing)[/]",
            r.digest.removeprefix("sha256:")[:12],
            human_size(r.size),
            format_parameters(info.parameters) if info else "?",
            (info.quantization or "?") if info else "?",
            str(info.context_length or "?") if info else "?",
            r.source,
            r.modified_at[:16].replace("T", " "),
        )
    for m in remotes:
        table.add_row(m.name, "", "", "", "", "", f"remote {m.url}", "")
    console.print(table)


def show(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="Name of an installed model.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
    template: Annotated[
        bool, typer.Option("--template", help="Print the full chat template.")
    ] = False,
) -> None:
    """Show a model's metadata: architecture, size, quantization, context, heads, template."""
    state = get_state(ctx)
    state.register_starters()
    record = state.runtime().models.get(model)
    if as_json:
        console.print_json(json.dumps(_details(record)))
        return
    if template:
        console.print(
            (record.info.chat_template if record.info else None) or "(no chat template)",
            markup=False,
            highlight=False,
        )
        return
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    for key, value in _details(record).items():
        if key == "chat_template":
            value = _first_line(value)
        table.add_row(key.replace("_", " "), "-" if value in (None, "") else str(value))
    console.print(table)


def rm(
    ctx: typer.Context,
    models: Annotated[list[str], typer.Argument(help="Names of installed models.")],
) -> None:
    """Remove models (their files are deleted when no other name uses them)."""
    store = get_state(ctx).runtime().models
    for name in models:
        record = store.remove(name)
        console.print(f"deleted {record.name}")


def cp(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(help="An installed model.")],
    target: Annotated[str, typer.Argument(help="The new name.")],
) -> None:
    """Copy a model to a new name (no bytes are copied: both names share one file)."""
    record = get_state(ctx).runtime().models.copy(source, target)
    console.print(f"copied {source} to {record.name}")


def _summary(r: ModelRecord) -> dict[str, Any]:
    return {
        "name": r.name,
        "digest": r.digest,
        "size": r.size,
        "source": r.source,
        "modified_at": r.modified_at,
        "parameters": r.info.parameters if r.info else None,
        "quantization": r.info.quantization if r.info else None,
        "context_length": r.info.context_length if r.info else None,
    }


def _details(r: ModelRecord) -> dict[str, Any]:
    info = r.info
    details: dict[str, Any] = {
        "name": r.name,
        "architecture": info.architecture if info else None,
        "parameters": f"{format_parameters(info.parameters)} ({info.parameters:,})"
        if info
        else None,
        "quantization": info.quantization if info else None,
        "file_type": info.file_type if info else None,
        "context_length": info.context_length if info else None,
        "layers": info.block_count if info else None,
        "embedding_length": info.embedding_length if info else None,
        "attention_heads": info.head_count if info else None,
        "kv_heads": info.head_count_kv if info else None,
        "vocab_size": info.vocab_size if info else None,
        "tokenizer": info.tokenizer if info else None,
        "embedding_model": info.is_embedding_model if info else None,
        "license": info.license if info else None,
        "file_size": human_size(r.size),
        "digest": r.digest,
        "path": str(r.path),
        "source": f"{r.source} ({r.source_ref})",
        "chat_template": info.chat_template if info else None,
    }
    return details


def _first_line(value: Any) -> str | None:
    if not value:
        return None
    text = str(value).strip()
    return text.splitlines()[0][:80] + " … (--template for all)" if text else None
