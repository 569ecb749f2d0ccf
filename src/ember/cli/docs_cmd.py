"""`ember docs`: private documents: add, list, remove, search. Nothing leaves the machine."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from ember.cli.context import get_state
from ember.cli.render import console, human_size
from ember.errors import EmberError

if TYPE_CHECKING:
    from ember.documents.embedding import TextEmbedder
    from ember.documents.library import DocumentLibrary

docs_app = typer.Typer(
    help="Your documents, indexed on this machine: add, list, rm, search, reindex.",
    no_args_is_help=True,
)

CollectionOpt = Annotated[
    str | None, typer.Option("--collection", "-c", help="A named collection (default: all).")
]
ModelOpt = Annotated[
    str | None,
    typer.Option("--model", "-m", help="Embedding model (default: all-minilm-l6-v2)."),
]


def register(app: typer.Typer) -> None:
    app.add_typer(docs_app, name="docs")


def _library(ctx: typer.Context, model: str | None) -> DocumentLibrary:
    from ember.documents.embedding import LlamaTextEmbedder, embedding_model
    from ember.documents.library import DocumentLibrary

    runtime = get_state(ctx).runtime()
    if model is None:
        return runtime.documents
    return DocumentLibrary(
        runtime.db, lambda: LlamaTextEmbedder.for_record(embedding_model(runtime.models, model))
    )


@docs_app.command("add")
def add(
    ctx: typer.Context,
    paths: Annotated[
        list[Path], typer.Argument(help="Files or folders (txt, md, html, pdf, docx).")
    ],
    collection: Annotated[
        str, typer.Option("--collection", "-c", help="Collection to add to.")
    ] = "default",
    model: ModelOpt = None,
) -> None:
    """Index files and folders; unchanged files are skipped, changed ones re-indexed."""
    library = _library(ctx, model)
    try:
        files = list(library.expand(paths))
        library.embedder  # noqa: B018  (load the model before the bar starts)
        with _progress_bar() as bar:
            task = bar.add_task("indexing", total=len(files))

            def advance(path: Path) -> None:
                bar.update(task, advance=1, description=f"indexing {path.name[:40]}")

            results = library.add(files, collection, progress=advance)
    finally:
        library.close()
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
        if r.status == "failed":
            console.print(f"[red]✗[/] {r.path}: {r.detail}", highlight=False)
        elif r.status == "duplicate":
            console.print(f"[yellow]=[/] {r.path}: {r.detail}", highlight=False)
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "no files"
    chunks = sum(r.chunks for r in results)
    console.print(f"[green]✓[/] {collection}: {summary} ({chunks} new chunks)", highlight=False)
    if counts.get("failed") and len(counts) == 1:
        raise typer.Exit(1)


@docs_app.command("list")
def list_docs(
    ctx: typer.Context,
    collection: CollectionOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """List indexed documents, and the collections."""
    from ember.documents.library import DocumentLibrary

    library = DocumentLibrary(get_state(ctx).runtime().db, _no_embedder)
    rows = library.documents(collection)
    if as_json:
        console.print_json(json.dumps([asdict(r) for r in rows]))
        return
    if not rows:
        console.print("No documents. Add some with [bold]ember docs add PATH[/].")
        return
    table = Table("id", "collection", "path", "type", "size", "chunks", "pages")
    for r in rows:
        table.add_row(
            str(r.id),
            r.collection,
            r.path,
            r.kind,
            human_size(r.size),
            str(r.chunks),
            str(r.pages or ""),
        )
    console.print(table)
    counts = ", ".join(f"{name} ({n})" for name, n in library.collections())
    console.print(f"Collections: {counts}", highlight=False)


@docs_app.command("rm")
def rm(
    ctx: typer.Context,
    targets: Annotated[
        list[str] | None,
        typer.Argument(help="Paths (a folder: all under it) or ids. None: the whole collection."),
    ] = None,
    collection: CollectionOpt = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Remove a whole collection without asking.")
    ] = False,
) -> None:
    """Remove documents and their passages from the index. Your files are not touched;
    files uploaded through the web page are deleted with their documents.

    `ember docs rm -c NAME` with no paths removes the collection NAME."""
    from ember.documents.library import DocumentLibrary
    from ember.documents.uploads import drop_collection, is_upload

    runtime = get_state(ctx).runtime()
    library = DocumentLibrary(runtime.db, _no_embedder)
    if not targets:
        if collection is None:
            raise EmberError(
                "name the documents to remove, or a collection with --collection",
                hint="ember docs list shows them",
            )
        if collection not in {name for name, _ in library.collections()}:
            raise EmberError(f"no collection named {collection!r}", hint="ember docs list")
        if not yes:
            typer.confirm(
                f"Remove the collection {collection!r} and its "
                f"{len(library.documents(collection))} documents?",
                abort=True,
            )
        count = drop_collection(library, runtime.settings.home, collection)
        console.print(
            f"[green]✓[/] removed collection {collection} ({count} documents)", highlight=False
        )
        return
    removed = [row for target in targets for row in library.remove(target, collection)]
    for row in removed:
        if is_upload(runtime.settings.home, Path(row.path)):
            Path(row.path).unlink(missing_ok=True)
        console.print(f"[green]✓[/] removed {row.path} ({row.collection})", highlight=False)
    if not removed:
        console.print("Nothing matched; see [bold]ember docs list[/].")
        raise typer.Exit(1)


@docs_app.command("reindex")
def reindex(
    ctx: typer.Context,
    collection: CollectionOpt = None,
    everything: Annotated[
        bool, typer.Option("--all", help="Every document, not only the out-of-date ones.")
    ] = False,
    model: ModelOpt = None,
) -> None:
    """Embed documents again: those embedded by another model or an older Ember (the
    server also does this at start), or all of them with --all."""
    library = _library(ctx, model)
    try:
        rows = library.documents(collection) if everything else library.stale(collection)
        if not rows:
            console.print("[green]✓[/] every document is up to date")
            return
        with _progress_bar() as bar:
            task = bar.add_task("re-embedding", total=len(rows))
            results = library.reindex(rows, progress=lambda path: bar.update(task, advance=1))
    finally:
        library.close()
    for r in results:
        if r.status == "failed":
            console.print(f"[red]✗[/] {r.path}: {r.detail}", highlight=False)
        elif r.detail:
            console.print(f"[yellow]![/] {r.path}: {r.detail}", highlight=False)
    done = sum(r.status != "failed" for r in results)
    console.print(f"[green]✓[/] re-embedded {done} of {len(rows)} documents", highlight=False)
    if done < len(rows):
        raise typer.Exit(1)


@docs_app.command("search")
def search(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="A question or keywords.")],
    collection: CollectionOpt = None,
    limit: Annotated[int, typer.Option("--limit", "-k", help="How many passages.")] = 5,
    mode: Annotated[str, typer.Option(help="hybrid, bm25 or vector.")] = "hybrid",
    model: ModelOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Find the passages that answer a question (hybrid BM25 + vector search)."""
    from ember.documents.library import SearchSettings

    library = _library(ctx, model)
    try:
        hits = library.search(query, collection, SearchSettings(limit=limit, mode=mode))
    finally:
        library.close()
    if as_json:
        console.print_json(json.dumps([asdict(h) for h in hits]))
        return
    if not hits:
        console.print("Nothing in your documents matches this.")
        return
    for n, hit in enumerate(hits, start=1):
        where = hit.path + (f", page {hit.page}" if hit.page else "")
        where += f" — {hit.heading}" if hit.heading else ""
        console.print(
            f"[bold][{n}][/] {where}  [dim](similarity {hit.similarity:.2f})[/]", highlight=False
        )
        console.print(
            hit.text[:400] + ("…" if len(hit.text) > 400 else ""), markup=False, highlight=False
        )


def _progress_bar() -> Progress:
    """The bar `add` and `reindex` show while the embedding model works."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=True,
    )


def _no_embedder() -> TextEmbedder:
    raise AssertionError("listing and removing need no embedding model")
