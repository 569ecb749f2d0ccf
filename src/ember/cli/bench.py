"""`ember bench`: honest numbers measured on this machine."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer

from ember.cli.bench_tables import print_chat, print_engine, print_peer
from ember.cli.context import get_state
from ember.cli.render import console, err_console

bench_app = typer.Typer(help="Measure Ember on this machine.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(bench_app, name="bench")


@bench_app.command("engine")
def engine(
    ctx: typer.Context,
    models: Annotated[
        list[str] | None,
        typer.Option("--model", "-m", help="Models to measure (default: the starters)."),
    ] = None,
    threads: Annotated[int | None, typer.Option(help="CPU threads (default: all cores).")] = None,
    llama_bin: Annotated[
        Path | None,
        typer.Option(
            "--llama-bin", help="A llama.cpp build's bin/ dir: also run llama-bench there."
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the JSON report here.")
    ] = None,
    peer: Annotated[
        str | None,
        typer.Option(
            help="Base URL of another OpenAI-compatible server (llama-server, vLLM, "
            "Ollama…): measure Ember beside it through the API instead."
        ),
    ] = None,
    peer_model: Annotated[
        str | None,
        typer.Option(help="The model's name on the peer (default: the first it lists)."),
    ] = None,
    peer_key_env: Annotated[
        str | None, typer.Option(help="Environment variable holding the peer's API key.")
    ] = None,
    ember: Annotated[
        str | None,
        typer.Option(help="Base URL of a running Ember to measure (default: start one)."),
    ] = None,
    runs: Annotated[int, typer.Option(min=1, help="Rounds with --peer (medians).")] = 3,
) -> None:
    """Decode and prompt speed, batching, prefix reuse, restart from disk, memory. With
    --peer: Ember's server and the peer side by side through the OpenAI API."""
    if peer is not None:
        _peer(ctx, models, peer, peer_model, peer_key_env, ember, runs, output)
        return
    from ember.bench.engine_bench import run_in_subprocess
    from ember.bench.llama_tools import batched_bench, llama_bench

    state = get_state(ctx)
    state.register_starters()
    store = state.runtime().models
    n_threads = threads or os.cpu_count() or 1
    reports = []
    for name in models or ["qwen2.5-coder:0.5b", "smollm2:135m"]:
        record = store.get(name)
        err_console.print(f"[dim]measuring {record.name} with {n_threads} threads…[/]")
        report = run_in_subprocess(record.path, record.name, record.digest, n_threads)
        if llama_bin is not None:
            report["llama_bench"] = llama_bench(llama_bin, record.path, n_threads)
            report["llama_batched_bench"] = batched_bench(llama_bin, record.path, n_threads)
        reports.append(report)
        print_engine(report)
    if output is not None:
        output.write_text(json.dumps(reports, indent=2))
        err_console.print(f"[dim]report written to {output}[/]")


def _peer(
    ctx: typer.Context,
    models: list[str] | None,
    peer: str,
    peer_model: str | None,
    peer_key_env: str | None,
    ember: str | None,
    runs: int,
    output: Path | None,
) -> None:
    from contextlib import ExitStack

    from ember.bench.chat_bench import Server, copy_home
    from ember.bench.peer_bench import Target, first_model, run_peer_bench

    state = get_state(ctx)
    settings = state.settings()
    model = (models or [settings.default_model])[0]
    key = os.environ.get(peer_key_env) if peer_key_env else None
    peer_target = Target("peer", peer, peer_model or first_model(peer, key), key)
    with ExitStack() as stack:
        if ember is None:
            state.register_starters()
            import tempfile

            home = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "home"
            server = stack.enter_context(Server(copy_home(settings, home), model, preload=True))
            err_console.print(f"[dim]starting Ember with {model}…[/]")
            server.wait_ready()
            ember = str(server.client.base_url)
        report = run_peer_bench(
            [Target("ember", ember, model, os.environ.get("EMBER_API_KEY")), peer_target],
            runs=runs,
            on_round=lambda label, n: err_console.print(f"[dim]round {n}: {label}…[/]"),
        )
    print_peer(report)
    if output is not None:
        output.write_text(json.dumps(report, indent=2))
        err_console.print(f"[dim]report written to {output}[/]")


@bench_app.command("quality")
def quality(
    ctx: typer.Context,
    models: Annotated[
        list[str] | None,
        typer.Option("--model", "-m", help="Models to measure (default: the starters)."),
    ] = None,
    modes: Annotated[
        list[str] | None,
        typer.Option("--mode", help="no-tools and/or tools (default: both)."),
    ] = None,
    families: Annotated[
        list[str] | None,
        typer.Option("--family", "-f", help="arithmetic, letters, dates, units (default: all)."),
    ] = None,
    per_family: Annotated[int, typer.Option(help="Items generated per family.")] = 60,
    limit: Annotated[
        int | None, typer.Option(help="Ask only the first N items of each family.")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Item generator seed.")] = None,
    tool_choice: Annotated[
        str,
        typer.Option(
            help="required: the first step must call a tool; auto: may answer; route: "
            "required when the question looks like one small models get wrong (the chat's "
            "rule, chat/tool_routing.py)."
        ),
    ] = "required",
    parallel: Annotated[int, typer.Option(help="Items asked at once (batched).")] = 2,
    max_steps: Annotated[int, typer.Option(help="Tool-call rounds before the answer.")] = 1,
    result_note: Annotated[
        bool, typer.Option(help="Tell the model, after a tool result, to answer now.")
    ] = True,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the JSON report here (and a .txt beside it)."),
    ] = None,
    suite: Annotated[
        str,
        typer.Option(
            help="one-line: exact one-line questions with an 'Answer:' line; realistic: word "
            "problems, percentages, relative dates, letters in phrases, two questions in "
            "one, asked plainly through the chat's own path and scored strictly (right "
            "values, in words)."
        ),
    ] = "one-line",
    bank: Annotated[
        str,
        typer.Option(help="realistic: tune (phrasings one may tune on) or heldout (never)."),
    ] = "tune",
) -> None:
    """Accuracy on exact-answer questions, with and without Ember's built-in tools: the
    one-line suite (arithmetic, letters, dates, units) or the realistic one."""
    import asyncio

    if suite == "realistic":
        _realistic(ctx, models, modes, families, per_family, limit, bank, parallel, output)
        return
    if suite != "one-line":
        raise typer.BadParameter(f"--suite: {suite!r} is not one-line or realistic")

    from ember.bench.quality import MODES, RunOptions, dumps, render_text, report, run_items
    from ember.bench.quality import run_record as record_of
    from ember.bench.quality_items import DEFAULT_SEED, FAMILIES, generate
    from ember.tools import builtin_registry

    chosen_families = tuple(families or FAMILIES)
    chosen_modes = modes or list(MODES)
    for value, allowed in ((chosen_families, FAMILIES), (chosen_modes, MODES)):
        unknown = set(value) - set(allowed)
        if unknown:
            raise typer.BadParameter(f"unknown: {', '.join(sorted(unknown))}")
    if tool_choice not in ("required", "auto", "route"):
        raise typer.BadParameter(f"--tool-choice: {tool_choice!r} is not required, auto or route")
    items = generate(per_family, seed or DEFAULT_SEED, chosen_families)
    if limit is not None:
        items = [i for i in items if int(i.id.rsplit("-", 1)[1]) <= limit]
    state = get_state(ctx)
    state.register_starters()
    runtime = state.runtime()
    options = RunOptions(
        tool_choice=tool_choice,  # checked above
        parallel=parallel,
        max_steps=max_steps,
        result_note=result_note,
    )

    def tick(outcome: Any) -> None:
        mark = "✓" if outcome.correct else "✗"
        err_console.print(
            f"[dim]  {mark} {outcome.id} {outcome.extracted!s} ({outcome.seconds:.1f} s)[/]"
        )

    async def measure() -> list[dict[str, Any]]:
        runs = []
        for model in models or ["qwen2.5-coder:0.5b", "smollm2:135m"]:
            for mode in chosen_modes:
                err_console.print(f"[dim]{model}, {mode}: {len(items)} items…[/]")
                registry = builtin_registry() if mode == "tools" else None
                outcomes = await run_items(runtime.answerer, model, items, registry, options, tick)
                runs.append(record_of(model, mode, outcomes))
        return runs

    runs = asyncio.run(measure())
    data = report(runs, seed=seed or DEFAULT_SEED, per_family=len(items) // len(chosen_families),
                  options=options)  # fmt: skip
    text = render_text(data)
    console.print(text)
    if output is not None:
        output.write_text(dumps(data))
        output.with_suffix(".txt").write_text(text)
        err_console.print(f"[dim]report written to {output}[/]")


@bench_app.command("chat")
def chat(
    ctx: typer.Context,
    model: Annotated[
        str | None,
        typer.Option("--model", "-m", help="Model to measure (default: the home's default)."),
    ] = None,
    home: Annotated[
        Path | None,
        typer.Option(help="Ember home whose models and config.toml are used (default: yours)."),
    ] = None,
    repeats: Annotated[
        int, typer.Option(min=1, help="New conversations for the warm TTFT's median.")
    ] = 3,
    temperature: Annotated[
        float,
        typer.Option(
            min=0, help="The conversations' temperature: 0 takes the same path every time."
        ),
    ] = 0.0,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the JSON report here.")
    ] = None,
) -> None:
    """From `ember serve` start to the page and to a first message's first word, with
    preload off and on, and a new conversation's TTFT warm and after a restart. Runs a
    real server in a temporary home (your models and config.toml, nothing else)."""
    from ember.bench.chat_bench import run_chat_bench

    source = home or get_state(ctx).settings().home
    report = run_chat_bench(
        source,
        model,
        repeats,
        progress=lambda m: err_console.print(f"[dim]{m}[/]"),
        temperature=temperature,
    )
    print_chat(report)
    if output is not None:
        output.write_text(json.dumps(report, indent=2))
        err_console.print(f"[dim]report written to {output}[/]")


_BENCH_RETRIEVAL = Path(__file__).resolve().parents[3] / "bench" / "retrieval"


@bench_app.command("retrieval")
def retrieval(
    ctx: typer.Context,
    question_set: Annotated[
        str | None,
        typer.Option(
            "--set",
            help="Question set: pydoc (CPython's doc topics), stdlib (standard-library "
            "docstrings), heldout (other modules' docstrings, held out) or manual (GNU "
            "manuals as Word and PDF files, held out). Default: the set the --questions "
            "file names, else pydoc.",
        ),
    ] = None,
    questions: Annotated[
        Path | None,
        typer.Option(help="Questions JSON (default: the set's file in bench/retrieval/)."),
    ] = None,
    topics: Annotated[
        list[str] | None,
        typer.Option(
            "--topic",
            "-t",
            help="Ingest only these documents: pydoc topics, modules with --set stdlib "
            "or heldout, manuals (grep, sed…) with --set manual (default: all).",
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option("--model", "-m", help="Embedding model (default: all-minilm-l6-v2)."),
    ] = None,
    threads: Annotated[
        int | None, typer.Option(help="Embedding threads (default: all cores).")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the JSON report here (and a .txt beside it)."),
    ] = None,
    reranker: Annotated[
        str | None,
        typer.Option(
            "--reranker",
            help="Also search with this reranker model as a second stage: rows "
            "'hybrid + reranker (N)' and 'vectors + reranker (N)'.",
        ),
    ] = None,
    rerank_candidates: Annotated[
        list[int] | None,
        typer.Option("--rerank-candidates", help="Candidates the reranker reorders; one row each."),
    ] = None,
) -> None:
    """Recall@5 and MRR of BM25, vectors and hybrid search on CPython's documentation
    topics (or, with --set stdlib or heldout, standard-library docstrings; with --set
    manual, GNU manuals as Word and PDF files) with hand-written questions, beside Open
    WebUI's default recipe on the same files; ingest speed and query latency. Uses a
    throwaway database: your document library is untouched."""
    import tempfile

    from ember.bench.retrieval import (
        choose_set,
        dumps,
        load_questions,
        questions_corpus,
        render_text,
        run,
    )
    from ember.documents.embedding import LlamaTextEmbedder, TextEmbedder, embedding_model
    from ember.documents.library import DocumentLibrary
    from ember.errors import EmberError
    from ember.storage import Database

    path = questions or _BENCH_RETRIEVAL / choose_set(question_set).questions
    if not path.is_file():
        raise EmberError(f"no questions file at {path}", hint="pass --questions PATH")
    qset = choose_set(question_set, questions_corpus(path))
    items = load_questions(path)
    off_topic_file = _BENCH_RETRIEVAL / "off-topic.json"
    off_topic = (
        json.loads(off_topic_file.read_text())["questions"] if off_topic_file.is_file() else []
    )
    texts = qset.corpus_texts(topics)
    runtime = get_state(ctx).runtime()
    record = embedding_model(runtime.models, model or runtime.settings.embedding_model)

    def embedder() -> TextEmbedder:
        pooling = record.info.pooling if record.info else None
        return LlamaTextEmbedder(record.path, name=record.name, pooling=pooling, n_threads=threads)

    from ember.bench.rerank_row import bench_reranker, rerank_configs, rerank_note
    from ember.bench.retrieval import CONFIGS
    from ember.documents.reranking import RERANK_CANDIDATES

    rerank_name, rerank = (
        bench_reranker(runtime.models, reranker, threads) if reranker else ("", None)
    )
    pools = rerank_candidates or [RERANK_CANDIDATES]
    configs = [*CONFIGS, *rerank_configs(pools)] if rerank else list(CONFIGS)
    with tempfile.TemporaryDirectory(prefix="ember-bench-retrieval-") as tmp:
        db = Database(Path(tmp) / "bench.db")
        library = DocumentLibrary(db, embedder, reranker=rerank)
        try:
            data = run(library, texts, items, Path(tmp) / "topics", configs=configs,
                       progress=lambda m: err_console.print(f"[dim]{m}[/]"),
                       question_set=qset, off_topic=off_topic)  # fmt: skip
            data["embedding_threads"] = threads or os.cpu_count()
            data["reranker"] = rerank_name or None
        finally:
            library.close()
            db.close()
    text = render_text(data) + rerank_note(data)
    console.print(text, highlight=False, soft_wrap=True)
    if output is not None:
        output.write_text(dumps(data))
        output.with_suffix(".txt").write_text(text)
        err_console.print(f"[dim]report written to {output}[/]")


@bench_app.command("privacy")
def privacy(
    prompts: Annotated[int, typer.Option(min=1, help="Prompts to generate.")] = 1000,
    seed: Annotated[int | None, typer.Option(help="Corpus seed (default: fixed).")] = None,
    bank: Annotated[
        str,
        typer.Option(help="tune: the templates the detectors were tuned on; heldout: never."),
    ] = "tune",
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the JSON report here (and a .txt beside it)."),
    ] = None,
) -> None:
    """Precision, recall and milliseconds per prompt of the privacy guard, per detector
    and per kind, on a generated labelled corpus (personal data, secrets, benign
    look-alikes). In process: nothing is sent anywhere."""
    from ember.errors import EmberError

    try:
        from ember.bench.privacy_bench import dumps, render_text, run, tables
    except ModuleNotFoundError as e:
        if e.name != "faker":
            raise
        raise EmberError(
            "ember bench privacy generates its corpus with Faker, which is not installed",
            hint="pip install 'ember-ai[bench]'",
        ) from e
    if bank not in ("tune", "heldout"):
        raise typer.BadParameter(f"--bank: {bank!r} is not tune or heldout")
    data = run(prompts, seed, bank)
    for table in tables(data):
        console.print(table)
    if output is not None:
        output.write_text(dumps(data))
        output.with_suffix(".txt").write_text(render_text(data))
        err_console.print(f"[dim]report written to {output}[/]")


def _realistic(
    ctx: typer.Context,
    models: list[str] | None,
    modes: list[str] | None,
    families: list[str] | None,
    per_family: int,
    limit: int | None,
    bank: str,
    parallel: int,
    output: Path | None,
) -> None:
    """The realistic suite (see ``ember.bench.realistic``)."""
    import asyncio

    from ember.bench.quality import MODES, dumps
    from ember.bench.realistic import render_realistic, run_realistic, summarize_realistic
    from ember.bench.realistic_items import REALISTIC_FAMILIES, generate
    from ember.tools import builtin_registry

    chosen = tuple(families or REALISTIC_FAMILIES)
    chosen_modes = modes or list(MODES)
    for value, allowed in ((chosen, REALISTIC_FAMILIES), (chosen_modes, MODES)):
        unknown = set(value) - set(allowed)
        if unknown:
            raise typer.BadParameter(f"unknown: {', '.join(sorted(unknown))}")
    if bank not in ("tune", "heldout"):
        raise typer.BadParameter(f"--bank: {bank!r} is not tune or heldout")
    count = min(per_family, limit) if limit is not None else per_family
    items = generate(count, families=chosen, bank=bank)  # type: ignore[arg-type]
    state = get_state(ctx)
    state.register_starters()
    runtime = state.runtime()

    def tick(outcome: Any) -> None:
        mark = "✓" if outcome.correct else "✗"
        why = f" — {outcome.why}" if outcome.why else ""
        err_console.print(f"[dim]  {mark} {outcome.id} ({outcome.seconds:.1f} s){why}[/]")

    async def measure() -> list[dict[str, Any]]:
        runs = []
        for model in models or ["qwen2.5-coder:0.5b"]:
            for mode in chosen_modes:
                err_console.print(f"[dim]{model}, {mode}: {len(items)} items…[/]")
                registry = builtin_registry() if mode == "tools" else None
                outcomes = await run_realistic(
                    runtime.answerer, model, items, registry, parallel, tick
                )
                runs.append(
                    {
                        "model": model,
                        "mode": mode,
                        "summary": summarize_realistic(outcomes),
                        "items": [asdict(o) for o in outcomes],
                    }
                )
        return runs

    runs = asyncio.run(measure())
    text = render_realistic(runs, bank, count)
    console.print(text)
    if output is not None:
        report = {"benchmark": "ember bench quality --suite realistic", "bank": bank, "runs": runs}
        output.write_text(dumps(report))
        output.with_suffix(".txt").write_text(text)
        err_console.print(f"[dim]report written to {output}[/]")
