"""`ember docs`: private documents: add, list, remove, search."""

from __future__ import annotations

import typer

docs_app = typer.Typer(help="Your documents, indexed on this machine.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(docs_app, name="docs")
