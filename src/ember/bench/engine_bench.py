"""`ember bench engine`: decode/prompt speed, batching, prefix reuse, restart, memory.

Each model is measured in its own process (so peak RSS belongs to that model alone):
1. single stream: prompt tokens/s and decode tokens/s, Ember vs llama-cpp-python's
   ``Llama`` on the same file and build;
2. aggregate decode tokens/s at 1, 2, 4, 8 concurrent streams, and the longest gap a
   stream waited between two tokens;
3. a 10-turn chat growing to ~2,000 tokens: time to first token per turn, with the
   prefix cache and with it cleared before every turn;
4. restart: the same chat continued by a new engine from the KV state saved on disk,
   vs recomputing it;
5. peak RSS against the model file plus the KV cache size.
"""

from __future__ import annotations

import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ember.engine.base import GenerateRequest, SamplingParams
from ember.engine.llamacpp import LlamaCppEngine, LoadOptions

GREEDY = SamplingParams(temperature=0)
FILLER = (
    "Ember keeps a local assistant fast by reusing every token it has already read. "
    "This paragraph is padding that makes the conversation long, the way real chats "
    "grow when people paste notes, code and questions into them over an afternoon. "
)


def no_eos(engine: LlamaCppEngine) -> SamplingParams:
    """Greedy decoding that cannot stop early, so every run generates the same count."""
    eog = [t for t in range(engine.model.n_vocab) if engine.model.is_eog(t)]
    return SamplingParams(temperature=0, logit_bias={t: -1000.0 for t in eog})


async def _generate(engine: LlamaCppEngine, request: GenerateRequest) -> dict[str, Any]:
    gaps: list[float] = []
    last = None
    usage = None
    text = ""
    async for chunk in engine.generate(request):
        text += chunk.text
        now = time.perf_counter()
        if chunk.token_ids and last is not None:
            gaps.append(now - last)
        if chunk.token_ids:
            last = now
        if chunk.usage is not None:
            usage = chunk.usage
    assert usage is not None
    return {"usage": usage, "max_gap": max(gaps, default=0.0), "text": text}


def single_stream(
    engine: LlamaCppEngine, n_prompt: int = 512, n_gen: int = 128
) -> dict[str, float]:
    """pp512 and tg128 as llama-bench measures them: a long prompt; a short one, many tokens."""
    long_prompt = engine.tokenize(FILLER * 40)[:n_prompt]
    engine.clear_cache()
    read = asyncio.run(
        _generate(engine, GenerateRequest(prompt_tokens=long_prompt, max_tokens=1, sampling=GREEDY))
    )
    engine.clear_cache()
    short = engine.tokenize("Once upon a time")
    write = asyncio.run(
        _generate(
            engine, GenerateRequest(prompt_tokens=short, max_tokens=n_gen, sampling=no_eos(engine))
        )
    )
    return {"prompt_tps": read["usage"].prompt_tps, "decode_tps": write["usage"].decode_tps}


def llama_cpp_python_reference(
    path: Path, threads: int, n_prompt: int = 512, n_gen: int = 128
) -> dict[str, float]:
    """The same measurement through llama-cpp-python's high-level ``Llama`` object."""
    from llama_cpp import Llama

    llm = Llama(
        str(path),
        n_ctx=2048,
        n_threads=threads,
        n_threads_batch=threads,
        n_batch=512,
        verbose=False,
    )
    try:
        tokens = llm.tokenize((FILLER * 40).encode())[:n_prompt]
        start = time.perf_counter()
        llm.eval(tokens)
        prompt_s = time.perf_counter() - start
        llm.reset()  # type: ignore[no-untyped-call]
        llm.eval(llm.tokenize(b"Once upon a time"))
        start = time.perf_counter()
        for _ in range(n_gen):
            token = llm.sample(temp=0.0, top_k=1)
            llm.eval([token])
        decode_s = time.perf_counter() - start
    finally:
        llm.close()
    return {"prompt_tps": n_prompt / prompt_s, "decode_tps": n_gen / decode_s}


def aggregate(engine: LlamaCppEngine, streams: int, n_gen: int = 64) -> dict[str, float]:
    prompts = [engine.tokenize(f"Story number {i}: once upon a time") for i in range(streams)]
    sampling = no_eos(engine)

    async def all_streams() -> list[dict[str, Any]]:
        return await asyncio.gather(
            *(
                _generate(
                    engine, GenerateRequest(prompt_tokens=p, max_tokens=n_gen, sampling=sampling)
                )
                for p in prompts
            )
        )

    engine.clear_cache()
    start = time.perf_counter()
    results = asyncio.run(all_streams())
    wall = time.perf_counter() - start
    total = sum(r["usage"].completion_tokens for r in results)
    return {
        "streams": streams,
        "tokens_per_s": total / wall,
        "max_gap_s": max(r["max_gap"] for r in results),
    }


def multi_turn(engine: LlamaCppEngine, turns: int = 10, reuse: bool = True) -> list[float]:
    """TTFT of each turn of a chat that grows by ~200 tokens a turn."""
    messages: list[dict[str, str]] = []
    ttfts = []
    for turn in range(turns):
        messages.append({"role": "user", "content": f"Turn {turn}. {FILLER} What do you think?"})
        tokens = engine.chat_request_tokens(engine.apply_chat_template(messages))
        if not reuse:
            engine.clear_cache()
        result = asyncio.run(
            _generate(
                engine,
                GenerateRequest(prompt_tokens=tokens, max_tokens=24, sampling=no_eos(engine)),
            )
        )
        ttfts.append(result["usage"].ttft_s)
        messages.append({"role": "assistant", "content": result["text"]})
    return ttfts


def restart(path: Path, name: str, digest: str, opts: LoadOptions) -> dict[str, float]:
    """Continue a ~2,000-token chat in a new engine: restored from disk vs recomputed."""
    with tempfile.TemporaryDirectory() as kv_dir:
        first = LlamaCppEngine(
            path,
            name=name,
            digest=digest,
            options=LoadOptions(**{**opts.__dict__, "kv_dir": Path(kv_dir)}),
        )
        messages = [{"role": "user", "content": FILLER * 42}]
        tokens = first.chat_request_tokens(first.apply_chat_template(messages))
        request = GenerateRequest(
            prompt_tokens=tokens, max_tokens=16, sampling=GREEDY, persist_kv=True
        )
        answer = asyncio.run(_generate(first, request))["text"]
        first.close()
        messages += [
            {"role": "assistant", "content": answer},
            {"role": "user", "content": "Summarise."},
        ]
        results = {"history_tokens": float(len(tokens))}
        for label, kv in (("restored", Path(kv_dir)), ("recomputed", None)):
            engine = LlamaCppEngine(
                path,
                name=name,
                digest=digest,
                options=LoadOptions(**{**opts.__dict__, "kv_dir": kv}),
            )
            follow = engine.chat_request_tokens(engine.apply_chat_template(messages))
            result = asyncio.run(
                _generate(
                    engine, GenerateRequest(prompt_tokens=follow, max_tokens=8, sampling=GREEDY)
                )
            )
            results[f"ttft_{label}_s"] = result["usage"].ttft_s
            engine.close()
    return results


def run_one(path: Path, name: str, digest: str, threads: int) -> dict[str, Any]:
    opts = LoadOptions(n_ctx=4096, n_slots=8, n_threads=threads)
    engine = LlamaCppEngine(path, name=name, digest=digest, options=opts)
    report: dict[str, Any] = {
        "model": name,
        "file_bytes": path.stat().st_size,
        "kv_bytes": engine.kv_bytes(),
    }
    try:
        report["single"] = single_stream(engine)
        report["aggregate"] = [aggregate(engine, n) for n in (1, 2, 4, 8)]
        report["multi_turn_reuse_ttft_s"] = multi_turn(engine, reuse=True)
        report["multi_turn_no_reuse_ttft_s"] = multi_turn(engine, reuse=False)
    finally:
        engine.close()
    report["restart"] = restart(
        path, name, digest, LoadOptions(n_ctx=4096, n_slots=1, n_threads=threads)
    )
    report["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    report["llama_cpp_python"] = llama_cpp_python_reference(path, threads)
    return report


def run_in_subprocess(path: Path, name: str, digest: str, threads: int) -> dict[str, Any]:
    code = (
        "import json,sys; from pathlib import Path; from ember.bench.engine_bench import run_one; "
        "print(json.dumps(run_one(Path(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path), name, digest, str(threads)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result
