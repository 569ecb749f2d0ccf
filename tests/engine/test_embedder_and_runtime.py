"""Embeddings from a real model, and models loaded on first use through the runtime's pool."""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Callable
from pathlib import Path

import gguf
import llama_cpp as ll
import pytest

from ember.config import load_settings
from ember.engine.base import Chunk, GenerateRequest, SamplingParams
from ember.engine.llamacpp import LlamaCppEngine, LoadOptions
from ember.engine.llamacpp.embedder import LlamaCppEmbedder
from ember.engine.llamacpp.engine import ContextLengthExceededError
from ember.engine.loader import clamped_context, context_key
from ember.runtime import Runtime, build


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


def test_runtime_loads_models_on_first_use(
    runtime: Runtime, link_starters: Callable[[Path], None]
) -> None:
    link_starters(runtime.settings.home)
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


def test_a_load_never_lets_a_sequence_past_the_trained_context(
    smollm2_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Asked for more than the model was trained on, the engine holds each sequence to
    the trained context (SmolLM2-135M: 8192), says so, and a prompt past it is refused."""
    with caplog.at_level(logging.WARNING, logger="ember.engine.llamacpp.engine"):
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
        assert engine.rope_scaling is None
        [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert "100000" in warning
        assert "context_extension" in warning
        too_long = [1] * (trained + 10)

        async def run() -> None:
            async for _ in engine.generate(GenerateRequest(prompt_tokens=too_long, max_tokens=1)):
                pass

        with pytest.raises(ContextLengthExceededError) as refused:
            asyncio.run(run())
        assert "context_extension" in (refused.value.hint or "")
    finally:
        engine.close()


def prompt_of(engine: LlamaCppEngine, n_tokens: int) -> list[int]:
    """``n_tokens`` tokens of varied text (a list of numbered lines)."""
    text = " ".join(f"Line {i}: the {i % 11}th bell rings." for i in range(n_tokens // 4))
    tokens = engine.tokenize(text)
    assert len(tokens) >= n_tokens
    return tokens[:n_tokens]


def generated(engine: LlamaCppEngine, tokens: list[int]) -> list[Chunk]:
    async def run() -> list[Chunk]:
        request = GenerateRequest(
            prompt_tokens=tokens, max_tokens=2, sampling=SamplingParams(temperature=0)
        )
        return [c async for c in engine.generate(request)]

    return asyncio.run(run())


@pytest.fixture
def trained_to_1024(smollm2_path: Path, tmp_path: Path) -> Path:
    """SmolLM2 as if trained on 1024 tokens (its GGUF's context length rewritten in a
    copy): reading past the trained length then takes 1.1k tokens, not 8.3k."""
    path = tmp_path / "smollm2-1024.gguf"
    shutil.copyfile(smollm2_path, path)
    reader = gguf.GGUFReader(path, "r+")
    field = reader.get_field("llama.context_length")
    assert field is not None
    field.parts[field.data[0]][0] = 1024
    del reader  # flushes the memory map
    return path


def test_yarn_extends_the_context_past_the_trained_length(trained_to_1024: Path) -> None:
    """With a RoPE scaling asked for (yarn), a load gets the context it asks for past the
    trained length, and a prompt longer than that is read and answered."""
    engine = LlamaCppEngine(
        trained_to_1024,
        name="smollm2",
        digest="sha256:test",
        options=LoadOptions(n_ctx=2048, n_slots=1, rope_scaling="yarn"),
    )
    try:
        assert engine.model.n_ctx_train == 1024
        assert engine.n_ctx == engine.info().n_ctx == 2048
        assert engine.rope_scaling == "yarn"
        assert ll.llama_n_ctx(engine.ctx) == 2048
        prompt = prompt_of(engine, 1100)
        chunks = generated(engine, prompt)
        final = chunks[-1]
        assert final.finish_reason in ("stop", "length")
        assert final.usage is not None
        assert final.usage.prompt_tokens == 1100
        assert final.usage.completion_tokens >= 1
    finally:
        engine.close()


def test_linear_scaling_loads_and_answers(smollm2_path: Path) -> None:
    engine = LlamaCppEngine(
        smollm2_path,
        name="smollm2",
        digest="sha256:test",
        options=LoadOptions(n_ctx=12288, n_slots=1, rope_scaling="linear"),
    )
    try:
        assert (engine.n_ctx, engine.rope_scaling) == (12288, "linear")
        final = generated(engine, engine.tokenize("The capital of France is"))[-1]
        assert final.usage is not None
        assert final.usage.completion_tokens >= 1
    finally:
        engine.close()


def test_a_scaling_within_the_trained_context_changes_nothing(smollm2_path: Path) -> None:
    engine = LlamaCppEngine(
        smollm2_path,
        name="smollm2",
        digest="sha256:test",
        options=LoadOptions(n_ctx=2048, n_slots=1, rope_scaling="yarn"),
    )
    try:
        assert (engine.n_ctx, engine.rope_scaling) == (2048, None)
    finally:
        engine.close()


def test_the_pool_extends_only_with_the_setting_and_warns_once(
    isolated_home: Path, smollm2_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A num_ctx past the trained context through the runtime's pool: held to 8192 with
    one warning naming the setting; with context_extension set, loaded as asked."""

    async def n_ctx_of(runtime: Runtime, key: str) -> tuple[int, str | None]:
        async with runtime.engines.use(key) as engine:
            assert isinstance(engine, LlamaCppEngine)
            return engine.n_ctx, engine.rope_scaling

    held = build(load_settings(parallel=1))
    try:
        record = held.models.pull(str(smollm2_path), name="smollm2:135m")
        key = context_key(record.name, 16384)
        with caplog.at_level(logging.WARNING, logger="ember.engine.loader"):
            assert asyncio.run(n_ctx_of(held, key)) == (8192, None)
            held.engines.unload(key)
            assert asyncio.run(n_ctx_of(held, key)) == (8192, None)
        warnings = [r.getMessage() for r in caplog.records if r.name == "ember.engine.loader"]
        assert len(warnings) == 1
        assert "16,384" in warnings[0]
        assert "EMBER_CONTEXT_EXTENSION" in warnings[0]
    finally:
        held.close()
    assert clamped_context(record, 8192, held.settings) is None
    assert clamped_context(record, None, held.settings) is None

    extended = build(load_settings(parallel=1, context_extension="yarn"))
    try:
        extended.models.pull(str(smollm2_path), name="smollm2:135m")
        assert asyncio.run(n_ctx_of(extended, key)) == (16384, "yarn")
        assert clamped_context(record, 16384, extended.settings) is None
    finally:
        extended.close()
