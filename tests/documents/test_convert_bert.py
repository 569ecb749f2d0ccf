"""The BERT converter: llama.cpp's tokenizer on the GGUF gives the Hugging Face ids,
vectors are sensible, and `ember import` registers an embedding model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from ember.cli.app import app
from ember.documents.embedding import LlamaTextEmbedder
from ember.models.convert_bert import ConversionError, phantom, read_folder
from ember.runtime import Runtime

SENTENCES = [
    "Hello world, unbelievable tokenization!",
    "The café costs 3.50€ — naïve résumé",
    "Ember runs GGUF models locally; documents never leave the machine.",
    "def f(x): return x ** 2  # squares",
    "Ünïcödé, CJK 漢字 and emoji 🙂 mixed in",
    "   leading and trailing spaces   ",
]


def test_phantom_vocabulary() -> None:
    assert [phantom(t) for t in ["[CLS]", "cat", "##s", "[unused0]", "!"]] == [
        "[CLS]",
        "\u2581cat",
        "s",
        "[unused0]",
        "\u2581!",
    ]


def test_token_ids_match_the_hf_tokenizer(minilm_folder: Path, embedder: LlamaTextEmbedder) -> None:
    from tokenizers import Tokenizer

    hf = Tokenizer.from_file(str(minilm_folder / "tokenizer.json"))
    hf.no_padding()
    hf.no_truncation()
    model = embedder._embedder.model
    for text in SENTENCES:
        ours = model.tokenize(text, add_special=True, parse_special=False)
        assert ours == hf.encode(text).ids, text


def test_similarities_are_sensible(embedder: LlamaTextEmbedder) -> None:
    vectors = np.asarray(
        embedder.embed(
            ["A man is eating food.", "A man is eating a piece of bread.", "The stock market fell."]
        )
    )
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    sims = vectors @ vectors.T
    assert sims[0, 1] > 0.6
    assert sims[0, 2] < 0.2


def test_import_registers_an_embedding_model(runtime: Runtime, minilm_folder: Path) -> None:
    result = CliRunner().invoke(app, ["import", str(minilm_folder.parent)])
    assert result.exit_code == 0, result.output
    runtime2 = runtime  # the same EMBER_HOME
    record = runtime2.models.get("all-minilm-l6-v2")
    assert record.source == "import"
    assert record.info is not None
    assert record.info.is_embedding_model
    assert record.info.architecture == "bert"
    assert record.info.pooling == "mean"


def test_rejects_cased_and_non_bert_folders(minilm_folder: Path, tmp_path: Path) -> None:
    cased = tmp_path / "cased"
    shutil.copytree(minilm_folder, cased, ignore=shutil.ignore_patterns("*.safetensors"))
    (cased / "model.safetensors").touch()
    config = json.loads((cased / "tokenizer_config.json").read_text())
    (cased / "tokenizer_config.json").write_text(json.dumps({**config, "do_lower_case": False}))
    with pytest.raises(ConversionError, match="cased"):
        read_folder(cased)
    (cased / "config.json").write_text(json.dumps({"model_type": "llama"}))
    with pytest.raises(ConversionError, match="only BERT"):
        read_folder(cased)
    with pytest.raises(ConversionError, match=r"no config\.json"):
        read_folder(tmp_path)
