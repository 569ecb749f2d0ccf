"""Embeddings from a real model, and models loaded on first use through the runtime's pool."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ember.engine.base import GenerateRequest, SamplingParams
from ember.engine.llamacpp import LlamaCppEngine
from ember.engine.llamacpp.embedder import LlamaCppEmbedder
from ember.engine.llamacpp.engine import ContextLengthExceededError
from ember.runtime import Runtime


def test_embeddings_are_normalised_and_meaningful(smollm2_path: Path) -> None:
    embedder = LlamaCppEmbedder(smollm2_path, name="smollm2", pooling="mean", n_seq=2)
    try:
        texts = [
            "The cat sat on the mat.",
            "A cat was sitting on a rug.",
            "Quarterly revenue grew by ten percent.",
        ]
        vectors = asyncio.run(embedder.embed(texts))  # 3 texts, 2 per batch: two batches
    finally:
        embedder.close()
    assert len(vectors) == 3
    assert all(abs(sum(v * v for v in vec) - 1.0) < 1e-3 for vec in vectors)

    def cos(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert cos(vectors[0], vectors[1]) > cos(vectors[0], vectors[2])
    again = LlamaCppEmbedder(smollm2_path, name="smollm2", pooling="mean")
    try:
        single = again.embed_sync([texts[2]])[0]
    finally:
        again.close()
    assert cos(single, vectors[2]) > 0.999, "batching does not change a text's vector"


def test_long_text_is_refused_or_truncated_to_the_context(smollm2_path: Path) -> None:
    embedder = LlamaCppEmbedder(smollm2_path, name="smollm2", pooling="mean", n_ctx=32)
    long_text = "the quick brown fox jumps over the lazy dog " * 20  # ~180 tokens
    head = embedder.model.detokenize(embedder.model.tokenize(long_text)[:32])
    try:
        with pytest.raises(ContextLengthExceededError, match="at most 32"):
            embedder.embed_sync([long_text])
        cut = embedder.embed_sync([long_text], truncate=True)[0]
        first_32 = embedder.embed_sync([head], truncate=True)[0]
    finally:
        embedder.close()
    assert embedder.n_ctx == 32
    assert sum(x * y for x, y in zip(cut, first_32, strict=True)) > 0.99


def test_runtime_loads_models_on_first_use(runtime: Runtime) -> None:
    runtime.models.ensure_starter_models()

    async def go() -> str:
        async with runtime.engines.use("smollm2:135m") as engine:
            assert isinstance(engine, LlamaCppEngine)
            request = GenerateRequest(
                prompt="Hello", max_tokens=5, sampling=SamplingParams(temperature=0)
            )
            return "".join([c.text async for c in engine.generate(request)])

    assert asyncio.run(go())
    loaded = runtime.engines.loaded()
    assert [e.name for e in loaded] == ["smollm2:135m"]
    assert loaded[0].size > 98_000_000


def test_a_load_never_lets_a_sequence_past_the_trained_context(smollm2_path: Path) -> None:
    """Asked for more than the model was trained on, the engine holds each sequence to
    the trained context (SmolLM2-135M: 8192), and a prompt past it is refused."""
    from ember.engine.llamacpp import LoadOptions

    engine = LlamaCppEngine(
        smollm2_path,
        name="smollm2",
        digest="sha256:test",
        options=LoadOptions(n_ctx=100_000, n_slots=1),
    )
    try:
        trained = engine.model.n_ctx_train
        assert engine.n_ctx == trained == 8192
        assert engine.info().n_ctx == trained
        too_long = [1] * (trained + 10)

        async def run() -> None:
            async for _ in engine.generate(GenerateRequest(prompt_tokens=too_long, max_tokens=1)):
                pass

        with pytest.raises(ContextLengthExceededError):
            asyncio.run(run())
    finally:
        engine.close()
