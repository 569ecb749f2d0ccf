"""The cross-encoder path: a BertForSequenceClassification folder converts to a rank-
pooling GGUF, and Ember's llama.cpp reranker scores pairs as the Hugging Face model does
(token types included), in batches or alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from gguf import GGUFReader
from typer.testing import CliRunner

from ember.cli.app import app
from ember.documents.embedding import embedding_model
from ember.documents.errors import NoRerankerModelError
from ember.documents.reranking import reranker_model
from ember.engine.llamacpp.native import ModelLoadError
from ember.engine.llamacpp.reranker import LlamaCppReranker
from ember.models.convert_bert import ConversionError, convert, read_folder
from ember.models.gguf_info import read_gguf_info
from ember.runtime import Runtime
from tests.documents.cross_encoder import make_cross_encoder, reference_scores

QUESTION = "How long do cats sleep?"
PASSAGES = [
    "Cats sleep between twelve and sixteen hours a day, usually in warm places.",
    "Tomatoes need six to eight hours of direct sunlight every day.",
    "The café costs 3.50€ — naïve résumé",
    "def f(x): return x ** 2  # squares",
    "Short.",
]


def test_a_sequence_classifier_becomes_a_reranker(
    cross_encoder_folder: Path, reranker_gguf: Path
) -> None:
    assert read_folder(cross_encoder_folder).pooling == "rank"
    info = read_gguf_info(reranker_gguf)
    assert info.pooling == "rank"
    assert info.is_reranker
    reader = GGUFReader(reranker_gguf)
    tensors = {t.name: t for t in reader.tensors}
    # The pooler (dense + tanh) is llama.cpp's cls; the classifier its cls.output, in F32.
    assert {"cls.weight", "cls.bias", "cls.output.weight", "cls.output.bias"} <= set(tensors)
    assert tensors["cls.output.weight"].tensor_type == 0
    labels = reader.fields["bert.classifier.output_labels"]
    assert [bytes(labels.parts[i]).decode() for i in labels.data] == ["LABEL_0"]
    assert bool(reader.fields["tokenizer.ggml.add_sep_token"].parts[-1][0]) is False


def test_scores_match_the_hugging_face_model(
    reranker: LlamaCppReranker, cross_encoder_folder: Path
) -> None:
    ours = reranker.score_sync(QUESTION, PASSAGES)
    reference = reference_scores(cross_encoder_folder, QUESTION, PASSAGES)
    # Measured: 1e-3 at most (llama.cpp's GELU is tabulated). With every token of type
    # 0, as llama.cpp feeds BERT, the same pairs were off by 0.08.
    assert np.max(np.abs(np.asarray(ours) - reference)) < 5e-3


def test_pairs_score_the_same_alone_or_batched(reranker: LlamaCppReranker) -> None:
    batched = reranker.score_sync(QUESTION, PASSAGES)
    alone = [reranker.score_sync(QUESTION, [p])[0] for p in PASSAGES]
    assert np.allclose(batched, alone, atol=2e-3)
    assert reranker.score_sync(QUESTION, []) == []


def test_a_long_pair_is_cut_to_the_context(reranker: LlamaCppReranker) -> None:
    long = "cats sleep in the sun " * 400
    ids, types = reranker.pair(reranker.tokenize(QUESTION), reranker.tokenize(long))
    assert len(ids) == len(types) == reranker.max_pair == 512
    first_passage = types.index(1)
    assert set(types[:first_passage]) == {0}
    assert set(types[first_passage:]) == {1}
    cls, sep = reranker.model.bos, ids[-1]
    assert ids[0] == cls
    assert ids[first_passage - 1] == sep
    assert ids.count(sep) == 2
    scores = reranker.score_sync(QUESTION, [long, PASSAGES[0]])
    assert len(scores) == 2
    assert all(np.isfinite(scores))


def test_an_embedding_model_is_not_a_reranker(minilm_gguf: Path) -> None:
    with pytest.raises(ModelLoadError, match="not a reranker"):
        LlamaCppReranker(minilm_gguf, name="all-minilm")


def test_a_classifier_with_two_outputs_is_refused(minilm_folder: Path, tmp_path: Path) -> None:
    from safetensors.numpy import load_file, save_file

    folder = make_cross_encoder(minilm_folder, tmp_path / "two")
    weights = load_file(str(folder / "model.safetensors"))
    weights["classifier.weight"] = np.zeros((2, 384), np.float32)
    weights["classifier.bias"] = np.zeros(2, np.float32)
    save_file(weights, str(folder / "model.safetensors"))
    with pytest.raises(ConversionError, match="2 outputs"):
        convert(folder, tmp_path / "two.gguf")


def test_import_registers_a_reranker_the_embedder_never_picks(
    runtime: Runtime, cross_encoder_folder: Path
) -> None:
    result = CliRunner().invoke(app, ["import", str(cross_encoder_folder), "-n", "ce-test"])
    assert result.exit_code == 0, result.output
    assert "reranker" in result.output
    assert reranker_model(runtime.models).name == "ce-test:latest"
    assert reranker_model(runtime.models, "ce-test").name == "ce-test:latest"
    # With only a reranker installed, documents still get all-MiniLM (from its package).
    assert embedding_model(runtime.models).name == "all-minilm-l6-v2:latest"
    with pytest.raises(NoRerankerModelError, match="not a reranker"):
        reranker_model(runtime.models, "all-minilm-l6-v2")


def test_no_reranker_installed_says_how_to_get_one(runtime: Runtime) -> None:
    with pytest.raises(NoRerankerModelError) as err:
        reranker_model(runtime.models)
    assert "ember import" in (err.value.hint or "")
