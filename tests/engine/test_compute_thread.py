"""Every llama.cpp computation of the process runs on one thread (engine/llamacpp/
compute.py): two models answering at once and an embedder in between, with real
SmolLM2 contexts. One thread keeps libgomp to one worker team, so its barriers keep
spinning (see compute.py for what two teams cost)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import llama_cpp as ll
import pytest

from ember.engine.base import GenerateRequest, SamplingParams
from ember.engine.llamacpp import LlamaCppEngine, LoadOptions
from ember.engine.llamacpp.compute import compute, driver
from ember.engine.llamacpp.embedder import LlamaCppEmbedder


def test_two_models_and_an_embedder_compute_on_one_thread(
    smollm2_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: set[int] = set()
    real_decode = ll.llama_decode

    def recording(ctx: object, batch: object) -> int:
        threads.add(threading.get_ident())
        return int(real_decode(ctx, batch))

    monkeypatch.setattr(ll, "llama_decode", recording)
    first = LlamaCppEngine(
        smollm2_path, name="a", digest="a", options=LoadOptions(n_ctx=512, n_slots=2)
    )
    second = LlamaCppEngine(
        smollm2_path, name="b", digest="b", options=LoadOptions(n_ctx=512, n_slots=2)
    )
    embedder = LlamaCppEmbedder(smollm2_path, name="e", pooling="mean", n_seq=2)
    request = GenerateRequest(
        prompt="The capital of France is",
        max_tokens=12,
        sampling=SamplingParams(temperature=0.0),
    )

    async def answer(engine: LlamaCppEngine) -> str:
        return "".join([c.text async for c in engine.generate(request)])

    async def together() -> tuple[str, str, list[list[float]]]:
        a, b, vectors = await asyncio.gather(
            answer(first),
            answer(second),
            asyncio.to_thread(embedder.embed_sync, ["a cat", "a dog"]),
        )
        return a, b, vectors

    try:
        a, b, vectors = asyncio.run(together())
    finally:
        embedder.close()
        second.close()
        first.close()
    assert threads == {driver().thread.ident}
    assert a.strip()
    assert b.strip()
    assert len(vectors) == 2


def test_a_computation_raises_on_the_caller_and_the_loop_goes_on() -> None:
    def boom() -> int:
        raise ValueError("bad batch")

    with pytest.raises(ValueError, match="bad batch"):
        compute(boom)
    assert compute(lambda x: x + 1, 41) == 42
    assert compute(threading.get_ident) == driver().thread.ident
