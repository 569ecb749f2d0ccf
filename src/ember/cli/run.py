"""`ember run MODEL PROMPT`: a one-shot answer streamed to the terminal."""

from __future__ import annotations

import asyncio
import sys
from typing import Annotated

import typer

from ember.cli.context import get_state
from ember.cli.render import err_console
from ember.engine.base import Engine, GenerateRequest, SamplingParams, Usage
from ember.engine.loader import open_engine


def register(app: typer.Typer) -> None:
    app.command("run")(run)


def run(
    ctx: typer.Context,
    model: Annotated[
        str | None, typer.Argument(help="An installed model (default: the default model).")
    ] = None,
    prompt: Annotated[
        str | None, typer.Argument(help="The prompt; '-' or nothing reads standard input.")
    ] = None,
    max_tokens: Annotated[int, typer.Option("--max-tokens", help="Most tokens to generate.")] = 512,
    temperature: Annotated[float, typer.Option(help="0 for deterministic output.")] = 0.7,
    seed: Annotated[int | None, typer.Option(help="Random seed for reproducible sampling.")] = None,
    system: Annotated[str | None, typer.Option(help="A system prompt.")] = None,
    n_ctx: Annotated[int | None, typer.Option("--ctx", help="Context length in tokens.")] = None,
    threads: Annotated[
        int | None, typer.Option(help="CPU threads (default: the physical cores).")
    ] = None,
    raw: Annotated[
        bool, typer.Option("--raw", help="Send the prompt as is, without the chat template.")
    ] = False,
    stats: Annotated[
        bool, typer.Option("--stats", help="Print speed and token counts afterwards.")
    ] = False,
) -> None:
    """Answer one prompt with a local model, streaming the text as it is generated."""
    if prompt is None and model is not None and any(c.isspace() for c in model):
        model, prompt = None, model  # `ember run "a question"`: the default model answers
    state = get_state(ctx)
    state.override(context_length=n_ctx, threads=threads, parallel=1)
    state.register_starters()
    runtime = state.runtime()
    record = runtime.models.get(model or runtime.settings.default_model)
    text = prompt if prompt not in (None, "-") else sys.stdin.read()
    engine = open_engine(record, runtime.settings)  # the fit plan, with the flags above
    try:
        sampling = SamplingParams(temperature=temperature, seed=seed)
        if raw:
            request = GenerateRequest(prompt=text, max_tokens=max_tokens, sampling=sampling)
        else:
            messages = []
            if system or record.system:
                messages.append({"role": "system", "content": system or record.system})
            messages.append({"role": "user", "content": text})
            tokens = engine.chat_request_tokens(engine.apply_chat_template(messages))
            request = GenerateRequest(
                prompt_tokens=tokens, max_tokens=max_tokens, sampling=sampling
            )
        usage = asyncio.run(_stream(engine, request))
    finally:
        engine.close()
    if stats and usage is not None:
        err_console.print(
            f"[dim]{usage.prompt_tokens} prompt tokens ({usage.cached_tokens} cached), "
            f"{usage.completion_tokens} generated · first token {usage.ttft_s:.2f} s · "
            f"{usage.decode_tps:.1f} tokens/s[/]",
            highlight=False,
        )


async def _stream(engine: Engine, request: GenerateRequest) -> Usage | None:
    usage = None
    async for chunk in engine.generate(request):
        if chunk.text:
            sys.stdout.write(chunk.text)
            sys.stdout.flush()
        if chunk.finish_reason is not None:
            usage = chunk.usage
            if chunk.error:
                err_console.print(f"[red]error:[/] {chunk.error}")
    sys.stdout.write("\n")
    return usage
