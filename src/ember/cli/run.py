"""`ember run MODEL PROMPT`: a one-shot answer streamed to the terminal."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from typing import Annotated

import typer

from ember.chat.answering import AnswerPlan
from ember.chat.tool_loop import ToolCallResult
from ember.chat.types import ChatDelta, ChatDone, ChatRequest, Message
from ember.cli.context import get_state
from ember.cli.render import err_console
from ember.engine.base import Chunk, GenerateRequest, SamplingParams, Usage
from ember.runtime import Runtime


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
    max_tokens: Annotated[
        int | None,
        typer.Option(
            "--max-tokens",
            help="Most tokens to generate (default: the model's own limit, else until it stops).",
        ),
    ] = None,
    temperature: Annotated[
        float | None,
        typer.Option(help="0 for deterministic output (default: the model's own, else 0.7)."),
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed for reproducible sampling.")] = None,
    system: Annotated[str | None, typer.Option(help="A system prompt.")] = None,
    n_ctx: Annotated[int | None, typer.Option("--ctx", help="Context length in tokens.")] = None,
    context_extension: Annotated[
        str | None,
        typer.Option(
            "--context-extension",
            help="yarn or linear: RoPE scaling for a --ctx past the model's trained length "
            "(default none: held to it).",
        ),
    ] = None,
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
    state.override(
        context_length=n_ctx, context_extension=context_extension, threads=threads, parallel=1
    )
    state.register_starters()
    runtime = state.runtime()
    name = model or runtime.settings.default_model
    if runtime.backends.remote_of(name) is None:
        name = runtime.models.get(name).name
    text = prompt if prompt not in (None, "-") else sys.stdin.read()
    sampling = SamplingParams(temperature=0.7 if temperature is None else temperature, seed=seed)
    chosen = {"temperature": temperature, "seed": seed}
    given = frozenset(k for k, v in chosen.items() if v is not None)
    if raw:
        usage = asyncio.run(
            _print_chunks(
                runtime.chat.generate(
                    name,
                    GenerateRequest(prompt=text, max_tokens=max_tokens or 512, sampling=sampling),
                )
            )
        )
    else:
        messages = [Message(role="system", content=system)] if system else []
        messages.append(Message(role="user", content=text))
        request = ChatRequest(
            model=name,
            messages=tuple(messages),
            sampling=sampling,
            sampling_given=given,
            max_tokens=max_tokens,
            stream=True,
        )
        usage = asyncio.run(_print_answer(runtime, request))
    if stats and usage is not None:
        err_console.print(
            f"[dim]{usage.prompt_tokens} prompt tokens ({usage.cached_tokens} cached), "
            f"{usage.completion_tokens} generated · first token {usage.ttft_s:.2f} s · "
            f"{usage.decode_tps:.1f} tokens/s[/]",
            highlight=False,
        )


async def _print_answer(runtime: Runtime, request: ChatRequest) -> Usage | None:
    """The answering path's events printed: text to stdout, tool steps dimmed to stderr;
    the same tools as Ember's chat for models that know them."""
    from ember.runtime import knows_tools

    toolbox = runtime.toolbox
    await toolbox.start()
    try:
        tools = toolbox.for_settings({}, model_knows_tools=knows_tools(runtime, request.model))
        usage = None
        async for event in runtime.answerer.answer(request, AnswerPlan(tools=tools)):
            if isinstance(event, ChatDelta):
                sys.stdout.write(event.content)
                sys.stdout.flush()
            elif isinstance(event, ToolCallResult):
                err_console.print(
                    f"[dim]{event.call.name}({event.call.arguments}) → {event.result.content}[/]",
                    highlight=False,
                    markup=True,
                )
            elif isinstance(event, ChatDone):
                usage = event.usage
                if event.error:
                    err_console.print(f"[red]error:[/] {event.error}")
        sys.stdout.write("\n")
        return usage
    finally:
        await toolbox.aclose()


async def _print_chunks(chunks: AsyncIterator[Chunk]) -> Usage | None:
    usage = None
    async for chunk in chunks:
        if chunk.text:
            sys.stdout.write(chunk.text)
            sys.stdout.flush()
        if chunk.finish_reason is not None:
            usage = chunk.usage
            if chunk.error:
                err_console.print(f"[red]error:[/] {chunk.error}")
    sys.stdout.write("\n")
    return usage
